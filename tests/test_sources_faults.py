"""Faults a review found in the collect stage's sources, one test (or a few) each:
downloads that lie about their length, stall, fail or redirect off http(s);
symlink loops in folders and globs; unreadable, UTF-16 and empty files; and
Markdown that needs a real parser."""
import builtins
import hashlib
import http.server
import os
import pathlib
import time

import pytest
from loopback import serving

from llm_core.data import download, sources
from llm_core.data.download import DownloadError, fetch_url
from llm_core.data.markup import markdown_text
from llm_core.data.sources import (
    SourceError,
    SourceSpec,
    Tally,
    expand_path,
    iter_files,
    iter_table,
    iter_url,
)

# --- a test server with misbehaving routes ------------------------------------------

BOOK = ("In a village of La Mancha, the name of which I have no desire to call to mind. " * 1600)[:124000].encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    """Routes: /short (Content-Length 124000, closes after 62000 bytes), /flaky (short
    once, then whole), /status/<code>, /slow (one byte every 0.2 s), /to/<location>
    (a 302), /doc.txt (the server's `doc` text). Each path's hits are counted."""

    def log_message(self, *args):
        pass

    def _send(self, body: bytes, length: int | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        server = self.server
        server.hits[self.path] = server.hits.get(self.path, 0) + 1
        if self.path == "/short.txt":
            self._send(BOOK[:62000], length=len(BOOK))
        elif self.path == "/flaky.txt":
            self._send(BOOK[:62000] if server.hits[self.path] == 1 else BOOK, length=len(BOOK))
        elif self.path.startswith("/status/"):
            self.send_error(int(self.path.rsplit("/", 1)[1]))
        elif self.path == "/slow.txt":
            self.send_response(200)
            self.send_header("Content-Length", "75")
            self.end_headers()
            try:
                for _ in range(75):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass  # the client gave up: that is the point
        elif self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/to/"):])
            self.end_headers()
        elif self.path == "/doc.txt":
            self._send(server.doc.encode())
        else:
            self.send_error(404)


@pytest.fixture
def server():
    with serving(_Handler, doc="first version") as srv:
        yield srv


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.01, raising=False)


# --- 1. downloads ----------------------------------------------------------------------

def test_truncated_download_is_retried_reported_and_never_cached(tmp_path, server):
    url = f"{server.base}/short.txt"
    with pytest.raises(DownloadError, match=r"short\.txt.*3 tries.*62,000 of the 124,000 bytes") as err:
        fetch_url(url, tmp_path, timeout=5, retries=3)
    assert server.hits["/short.txt"] == 3
    assert "offline" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # no partial file under the cache name or a temporary one


def test_truncated_then_whole_download_is_cached_whole(tmp_path, server):
    path = fetch_url(f"{server.base}/flaky.txt", tmp_path, timeout=5, retries=3)
    assert path.read_bytes() == BOOK
    assert server.hits["/flaky.txt"] == 2
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_server_error_is_retried_and_named(tmp_path, server):
    url = f"{server.base}/status/503"
    with pytest.raises(DownloadError, match=r"/status/503: could not download after 3 tries.*HTTP 503") as err:
        fetch_url(url, tmp_path, timeout=5, retries=3)
    assert server.hits["/status/503"] == 3
    assert "offline" not in str(err.value)


@pytest.mark.parametrize("code", [403, 404])
def test_client_error_is_not_retried(tmp_path, server, code):
    with pytest.raises(DownloadError, match=rf"/status/{code}: the server answered HTTP {code}") as err:
        fetch_url(f"{server.base}/status/{code}", tmp_path, timeout=5, retries=3)
    assert server.hits[f"/status/{code}"] == 1
    assert "offline" not in str(err.value)


def test_slow_download_stops_at_its_deadline(tmp_path, server):
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"slow\.txt: not downloaded within the 1 s deadline"):
        fetch_url(f"{server.base}/slow.txt", tmp_path, timeout=5, retries=3, deadline=1)
    assert time.monotonic() - start < 4  # 75 bytes at 5 bytes/s would take 15 s
    assert list(tmp_path.iterdir()) == []


def test_default_deadline_grows_with_the_timeout():
    assert download.default_deadline(30) >= 60
    assert download.default_deadline(1) < download.default_deadline(30)


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/book.txt"])
def test_redirect_off_http_is_refused(tmp_path, server, location):
    with pytest.raises(DownloadError, match=rf"redirected to {location}; only http:// and https://"):
        fetch_url(f"{server.base}/to/{location}", tmp_path, timeout=5, retries=3)
    assert server.hits[f"/to/{location}"] == 1  # refused, not retried


def test_redirect_within_http_is_followed(tmp_path, server):
    path = fetch_url(f"{server.base}/to/{server.base}/doc.txt", tmp_path, timeout=5)
    assert path.read_text() == "first version"


def test_refresh_downloads_again_and_zero_keeps_the_old_cache_key(tmp_path, server):
    url = f"{server.base}/doc.txt"
    spec = SourceSpec(kind="url", url=url, name="u")
    assert [d.text for d in iter_url(spec, Tally(), tmp_path)] == ["first version"]
    # refresh 0 keeps the key caches were written under before `refresh` existed
    assert (tmp_path / (hashlib.sha256(url.encode()).hexdigest()[:16] + ".txt")).exists()
    server.doc = "second version"
    assert [d.text for d in iter_url(spec, Tally(), tmp_path)] == ["first version"]  # cached
    bumped = SourceSpec(kind="url", url=url, name="u", refresh=1)
    assert [d.text for d in iter_url(bumped, Tally(), tmp_path)] == ["second version"]
    assert server.hits["/doc.txt"] == 2


def test_refresh_is_checked():
    with pytest.raises(SourceError, match="refresh"):
        SourceSpec(kind="url", url="http://x.org/a.txt", refresh=-1)
    with pytest.raises(SourceError, match="refresh.*url"):
        SourceSpec(kind="files", path="x", refresh=1)


# --- 2. symlinks in folders and globs ----------------------------------------------------

@pytest.fixture
def linked_tree(tmp_path):
    """corpus/{a.txt, sub/b.txt, sub/up -> corpus, alias.txt -> a.txt, out -> ../outside}."""
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    (corpus / "sub").mkdir(parents=True)
    outside.mkdir()
    (corpus / "a.txt").write_text("alpha")
    (corpus / "sub" / "b.txt").write_text("beta")
    (outside / "c.txt").write_text("gamma, outside the tree")
    (corpus / "sub" / "up").symlink_to(corpus, target_is_directory=True)
    (corpus / "alias.txt").symlink_to(corpus / "a.txt")
    (corpus / "out").symlink_to(outside, target_is_directory=True)
    return corpus


@pytest.mark.parametrize("pattern", ["{c}", "{c}/**/*.txt", "{c}/**", "{c}/*/*.txt"])
def test_symlinked_folders_are_not_followed_and_each_file_is_read_once(linked_tree, pattern):
    spec = SourceSpec(kind="files", path=pattern.format(c=linked_tree), name="t")
    texts = sorted(d.text for d in iter_files(spec, Tally()))
    expected = ["alpha", "beta"] if pattern != "{c}/*/*.txt" else ["beta"]
    assert texts == expected


def test_the_real_file_is_kept_over_its_link(linked_tree):
    assert linked_tree / "a.txt" in expand_path(str(linked_tree))
    assert linked_tree / "alias.txt" not in expand_path(str(linked_tree))


def test_glob_still_skips_hidden_files_like_glob_does(tmp_path):
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.txt").write_text("hidden")
    (tmp_path / ".dot.txt").write_text("dot")
    (tmp_path / "seen.txt").write_text("seen")
    assert [p.name for p in expand_path(str(tmp_path / "**" / "*.txt"))] == ["seen.txt"]


def test_relative_globs_match_like_glob_does(tmp_path, monkeypatch, linked_tree):
    monkeypatch.chdir(linked_tree.parent)
    assert expand_path("corpus/**/*.txt") == [pathlib.Path("corpus/a.txt"), pathlib.Path("corpus/sub/b.txt")]
    monkeypatch.chdir(linked_tree)
    assert expand_path("*.txt") == [pathlib.Path("a.txt")]
    assert expand_path("s?b/[a-c].txt") == [pathlib.Path("sub/b.txt")]


# --- 3. unreadable files -----------------------------------------------------------------

def _make_unreadable(path: pathlib.Path, monkeypatch) -> None:
    """chmod 000, or (as root, who reads it anyway) an open() that refuses this path."""
    path.chmod(0)
    if not os.access(path, os.R_OK):
        return
    real_open, real_path_open = builtins.open, pathlib.Path.open

    def refuse(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(path):
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    def refuse_path(self, *args, **kwargs):
        refuse(self)
        return real_path_open(self, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(pathlib.Path, "open", refuse_path)


@pytest.mark.parametrize("name,kind", [("secret.txt", "files"), ("secret.jsonl", "jsonl")])
def test_unreadable_file_is_a_counted_skip(tmp_path, monkeypatch, name, kind):
    folder = tmp_path / "in"
    folder.mkdir()
    good = "fine text" if kind == "files" else '{"text": "fine text"}\n'
    (folder / ("ok" + pathlib.Path(name).suffix)).write_text(good)
    bad = folder / name
    bad.write_text(good)
    _make_unreadable(bad, monkeypatch)
    spec = SourceSpec(kind=kind, path=str(folder), name="t")
    read = iter_files if kind == "files" else iter_table
    tally = Tally()
    assert [d.text for d in read(spec, tally)] == ["fine text"]
    assert tally.skipped == {("t", "unreadable"): 1}
    assert tally.examples[0]["where"] == str(bad)
    with pytest.raises(SourceError, match=rf"{name}: unreadable"):
        list(read(spec, Tally(on_error="error")))


def test_unreadable_parquet_is_a_counted_skip(tmp_path, monkeypatch):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(sources.pq, "ParquetFile", refuse)
    tally = Tally()
    assert list(iter_table(SourceSpec(kind="parquet", path=str(tmp_path), name="t"), tally)) == []
    assert tally.skipped == {("t", "unreadable"): 1}


# --- 4. UTF-16 ---------------------------------------------------------------------------

TEXT = "Hola, año nuevo.\nSegunda línea."


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_a_bom_is_decoded(tmp_path, codec):
    data = TEXT.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "u.txt").write_bytes(data)
    tally = Tally(on_error="error")
    assert [d.text for d in iter_files(SourceSpec(kind="files", path=str(tmp_path)), tally)] == [TEXT]
    assert not tally.skipped


@pytest.mark.parametrize("codec,name", [("utf-16-le", "UTF-16LE"), ("utf-16-be", "UTF-16BE")])
def test_utf16_without_a_bom_is_reported_as_utf16_not_binary(tmp_path, codec, name):
    f = tmp_path / "u.txt"
    f.write_bytes(TEXT.encode(codec))
    tally = Tally()
    assert list(iter_files(SourceSpec(kind="files", path=str(f), name="t"), tally)) == []
    assert tally.skipped == {("t", "UTF-16 without a byte-order mark"): 1}
    with pytest.raises(SourceError, match=rf"u\.txt: UTF-16 without a byte-order mark.*iconv -f {name} -t UTF-8"):
        list(iter_files(SourceSpec(kind="files", path=str(f)), Tally(on_error="error")))


def test_utf32_is_named_too(tmp_path):
    (tmp_path / "u.txt").write_bytes(TEXT.encode("utf-32"))
    with pytest.raises(SourceError, match=r"u\.txt: UTF-32.*iconv -f UTF-32 -t UTF-8"):
        list(iter_files(SourceSpec(kind="files", path=str(tmp_path)), Tally(on_error="error")))


def test_real_binary_is_still_binary(tmp_path):
    (tmp_path / "b.txt").write_bytes(bytes(range(256)) * 8)
    tally = Tally()
    list(iter_files(SourceSpec(kind="files", path=str(tmp_path), name="t"), tally))
    assert tally.skipped == {("t", "binary file"): 1}


# --- 5. empty files under on_error: error ------------------------------------------------

@pytest.mark.parametrize("given", ["file", "folder"])
def test_empty_file_stops_the_stage_under_on_error_error(tmp_path, given):
    (tmp_path / "full.txt").write_text("some text")
    (tmp_path / "empty.txt").write_text(" \n")
    path = tmp_path / "empty.txt" if given == "file" else tmp_path
    with pytest.raises(SourceError, match=r"empty\.txt: empty file"):
        list(iter_files(SourceSpec(kind="files", path=str(path)), Tally(on_error="error")))


# --- 6. Markdown ---------------------------------------------------------------------------

MARKDOWN = """\
Big Title
=========

Sub title
---------

Read [the guide][g] or [this page](http://a.example "t"), see ![a diagram](d.png).
Some *emphasis*, __strong__, ~~old~~ and `inline code` here &amp; there.  
After a hard break.

> A quoted line.

| name | value |
|------|------:|
| a    | **1** |
| b    | 2     |

- first
  - nested *one*
  - nested two
    1. deep
- second

```python
print("a fenced block is not prose")
```

    indented code is not prose either

<div><p>raw html</p><pre>no code</pre></div>

[g]: http://example.org/guide
"""


def test_markdown_is_parsed_not_regexed():
    assert markdown_text(MARKDOWN).split("\n") == [
        "Big Title",
        "Sub title",
        # a paragraph's soft line breaks join it into one line, as html_text does
        "Read the guide or this page, see a diagram. Some emphasis, strong, old and inline code here & there.",
        "After a hard break.",
        "A quoted line.",
        "name\tvalue",
        "a\t1",
        "b\t2",
        "first",
        "nested one",
        "nested two",
        "deep",
        "second",
        "raw html",
    ]


def test_markdown_file_goes_through_the_parser(tmp_path):
    (tmp_path / "r.md").write_text("Heading\n-------\n\nSee [x][1].\n\n[1]: http://x.org\n")
    docs = list(iter_files(SourceSpec(kind="files", path=str(tmp_path)), Tally()))
    assert [d.text for d in docs] == ["Heading\nSee x."]
