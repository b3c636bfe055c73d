"""Each source kind, and each kind of bad input: a counted skip naming the
file and line, or a clear error, as `on_error` says."""
import http.server
import json
import socket
import threading
from functools import partial

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llm_core.data.collect import collect_source
from llm_core.data.documents import read_shards
from llm_core.data.download import DownloadError, fetch_url
from llm_core.data.sources import SourceError, SourceSpec, Tally, iter_files, iter_table, iter_url


def _docs(spec, tally=None):
    tally = tally or Tally()
    fn = iter_files if spec.kind == "files" else iter_table
    return list(fn(spec, tally)), tally


def test_folder_of_txt_md_html_with_markup_removed(tmp_path):
    (tmp_path / "a.txt").write_text("Hola, mundo. Esto es un texto.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nSome **bold** and a [link](http://x.org).\n\n```\ncode()\n```\n")
    (tmp_path / "c.html").write_text("<html><head><title>t</title><script>x=1</script></head>"
                                     "<body><p>Visible &amp; kept</p><pre>skip me</pre></body></html>")
    (tmp_path / "ignored.py").write_text("print('not a text file')")
    docs, tally = _docs(SourceSpec(kind="files", path=str(tmp_path), name="mine", lang="es"))
    by_name = {d.id.split("/")[-1]: d for d in docs}
    assert set(by_name) == {"a.txt", "b.md", "c.html"}
    assert by_name["b.md"].text.split() == ["Title", "Some", "bold", "and", "a", "link."]
    assert "Visible & kept" in by_name["c.html"].text and "skip me" not in by_name["c.html"].text
    assert "x=1" not in by_name["c.html"].text
    assert all(d.source == "mine" and d.meta["lang"] == "es" for d in docs)
    assert not tally.skipped


def test_glob_and_single_file(tmp_path):
    for i in range(3):
        (tmp_path / f"n{i}.txt").write_text(f"text {i}")
    docs, _ = _docs(SourceSpec(kind="files", path=str(tmp_path / "n[01].txt")))
    assert len(docs) == 2
    docs, _ = _docs(SourceSpec(kind="files", path=str(tmp_path / "n2.txt")))
    assert [d.text for d in docs] == ["text 2"]


@pytest.mark.parametrize("path", ["nowhere/at/all", "nowhere/*.txt"])
def test_missing_path_is_an_error_naming_it(path):
    with pytest.raises(SourceError, match="nowhere"):
        _docs(SourceSpec(kind="files", path=path))


def test_bad_files_are_counted_skips_naming_file_and_line(tmp_path):
    (tmp_path / "good.txt").write_text("fine text")
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "latin1.txt").write_bytes("línea uno\nsegunda línea con eñe".encode("utf-8")[:12] + "\nca\xf1a".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    docs, tally = _docs(SourceSpec(kind="files", path=str(tmp_path), name="t"))
    assert [d.id for d in docs] == ["t/good.txt"]
    assert tally.skipped == {("t", "empty file"): 1, ("t", "not UTF-8"): 1, ("t", "binary file"): 1}
    where = {e["reason"]: e["where"] for e in tally.examples}
    assert where["not UTF-8"].endswith("latin1.txt:3")  # the line with the bad byte
    assert where["binary file"].endswith("binary.txt")


@pytest.mark.parametrize("name,content,match", [
    ("latin1.txt", "ca\xf1a".encode("latin-1"), r"latin1\.txt:1: not UTF-8"),
    ("binary.txt", b"\x00\x01\x02", r"binary\.txt: binary file"),
])
def test_on_error_error_raises_naming_file(tmp_path, name, content, match):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=match):
        _docs(SourceSpec(kind="files", path=str(tmp_path / name)), Tally(on_error="error"))


def test_jsonl_with_bad_lines(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"text": "uno", "id": 7}\nnot json\n\n[1, 2]\n{"other": 1}\n{"text": "dos"}\n')
    docs, tally = _docs(SourceSpec(kind="jsonl", path=str(f), name="j", id_column="id"))
    assert [d.text for d in docs] == ["uno", "dos"]
    assert docs[0].id == "j/7"
    wheres = {e["reason"]: e["where"] for e in tally.examples}
    assert wheres["not valid JSON"].endswith("d.jsonl:2")
    assert wheres["not a JSON object"].endswith("d.jsonl:4")
    assert wheres["text column 'text' missing"].endswith("d.jsonl:5")
    assert sum(tally.skipped.values()) == 3
    with pytest.raises(SourceError, match=r"d\.jsonl:2: not valid JSON"):
        _docs(SourceSpec(kind="jsonl", path=str(f)), Tally(on_error="error"))


def test_csv_and_missing_column(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text('title,body\nA,"first, with comma"\nB,"multi\nline"\n')
    docs, _ = _docs(SourceSpec(kind="csv", path=str(f), text_column="body"))
    assert [d.text for d in docs] == ["first, with comma", "multi\nline"]
    with pytest.raises(SourceError, match=r"d\.csv: no column 'text'; the header has 'title', 'body'"):
        _docs(SourceSpec(kind="csv", path=str(f)))


def test_parquet_and_missing_column(tmp_path):
    f = tmp_path / "d.parquet"
    pq.write_table(pa.table({"content": ["alpha text", "beta text"], "n": [1, 2]}), f)
    docs, _ = _docs(SourceSpec(kind="parquet", path=str(f), text_column="content"))
    assert [d.text for d in docs] == ["alpha text", "beta text"]
    with pytest.raises(SourceError, match=r"no column 'text'; it has 'content', 'n'"):
        _docs(SourceSpec(kind="parquet", path=str(f)))


def test_spec_errors():
    with pytest.raises(SourceError, match="kind"):
        SourceSpec(kind="ftp")
    with pytest.raises(SourceError, match="needs a 'path'"):
        SourceSpec(kind="jsonl")
    with pytest.raises(DownloadError, match="only http"):
        fetch_url("file:///etc/passwd", cache_dir=None)  # type: ignore[arg-type]


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}", server
    server.shutdown()


def test_url_is_downloaded_once_then_served_from_cache(tmp_path, http_dir):
    root, base, server = http_dir
    (root / "book.txt").write_text("Once upon a time, offline.")
    (root / "rows.jsonl").write_text(json.dumps({"text": "from a url"}) + "\n")
    cache = tmp_path / "cache"
    docs = list(iter_url(SourceSpec(kind="url", url=f"{base}/book.txt", name="u"), Tally(), cache))
    assert [d.text for d in docs] == ["Once upon a time, offline."]
    rows = list(iter_url(SourceSpec(kind="url", url=f"{base}/rows.jsonl", name="r"), Tally(), cache))
    assert [d.text for d in rows] == ["from a url"]
    server.shutdown()  # offline from now on: the cache must answer
    again = list(iter_url(SourceSpec(kind="url", url=f"{base}/book.txt", name="u"), Tally(), cache))
    assert [d.text for d in again] == ["Once upon a time, offline."]


def test_unreachable_url_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(DownloadError, match=r"could not download after 2 tries.*offline"):
        fetch_url(f"http://127.0.0.1:{port}/x.txt", tmp_path, timeout=2, retries=2)


def test_collect_source_writes_shards_and_counts(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(7):
        (src / f"{i}.txt").write_text(f"documento número {i} " * 5)
    (src / "empty.txt").write_text("")
    spec = SourceSpec(kind="files", path=str(src), name="mine", lang="es", max_chars=300)
    summary = collect_source(spec, tmp_path / "shards", tmp_path / "cache", shard_docs=2)
    docs = list(read_shards(tmp_path / "shards"))
    s = summary["sources"]["mine"]
    assert s["documents"] == len(docs) and summary["shards"] == sorted(summary["shards"])
    assert len(summary["shards"]) == (len(docs) + 1) // 2
    skipped = {r: v["units"] for r, v in s["skipped"].items()}
    assert skipped["empty file"] == 1
    assert len(docs) + skipped["over the max_chars cap of 300"] == 7  # nothing lost without a count
