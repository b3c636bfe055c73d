"""The `shards` source: a corpus as Parquet / JSONL shards by URL, served here on
loopback (llm_core.data.shards), through collect_source as the collect stage runs it."""
from __future__ import annotations

import gzip
import http.server
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loopback import serving

from llm_core.data import download
from llm_core.data.collect import collect_source
from llm_core.data.documents import read_shards
from llm_core.data.fingerprint import DigestCache, source_fingerprint
from llm_core.data.sources import SourceError, SourceSpec


def parquet_bytes(rows: list[dict]) -> bytes:
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf, row_group_size=2)
    return buf.getvalue()


def doc(i: int) -> str:
    return f"Document number {i} of the web corpus, with a sentence or two of text in it."


GOOD = parquet_bytes([{"text": doc(i), "url": f"https://example.org/{i}"} for i in range(5)])
JSONL_GZ = gzip.compress("".join(json.dumps({"text": doc(i)}) + "\n" for i in range(5, 8)).encode())
ROUTES = {
    "/a/000.parquet": GOOD,
    "/a/001.jsonl.gz": JSONL_GZ,
    "/a/002.jsonl": (json.dumps({"text": doc(8)}) + "\n" + json.dumps({"body": "no text key"}) + "\n"
                     + '{"text": "cut in the mi').encode(),
    "/bad/no-text.parquet": parquet_bytes([{"content": "the text is under another name"}]),
    "/bad/cut.parquet": GOOD[: len(GOOD) // 2],  # whole as served, but the file itself is cut
    "/bad/cut.jsonl.gz": JSONL_GZ[: len(JSONL_GZ) - 12],
}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits[self.path] = self.server.hits.get(self.path, 0) + 1
        if self.path == "/bad/short.parquet":  # the connection closes before Content-Length
            self.send_response(200)
            self.send_header("Content-Length", str(len(GOOD)))
            self.end_headers()
            self.wfile.write(GOOD[:100])
            return
        body = ROUTES.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    with serving(Handler) as srv:
        yield srv


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.01, raising=False)


def collect(tmp_path, spec: SourceSpec, on_error: str = "skip") -> tuple[dict, list]:
    summary = collect_source(spec, tmp_path / "out", tmp_path / "cache", on_error=on_error)
    return summary, list(read_shards(tmp_path / "out"))


def test_parquet_and_jsonl_shards_are_read_in_order_and_cached(tmp_path, server):
    urls = [f"{server.base}/a/000.parquet", f"{server.base}/a/001.jsonl.gz", f"{server.base}/a/002.jsonl"]
    spec = SourceSpec(kind="shards", name="web", urls=tuple(urls))
    summary, docs = collect(tmp_path, spec)
    assert [d.text for d in docs] == [doc(i) for i in range(9)]
    skipped = summary["sources"]["web"]["skipped"]
    assert skipped["text column 'text' missing"]["units"] == 1 and skipped["not valid JSON"]["units"] == 1
    assert summary["sources"]["web"]["documents"] == 9
    hits = dict(server.hits)
    collect(tmp_path, spec)  # a rerun reads the cache
    assert server.hits == hits


def test_a_urls_file_and_max_shards(tmp_path, server):
    listing = tmp_path / "shards.txt"
    listing.write_text(f"# the corpus\n{server.base}/a/000.parquet\n\n{server.base}/a/001.jsonl.gz\n")
    _, docs = collect(tmp_path, SourceSpec(kind="shards", name="web", urls_file=str(listing), max_shards=1))
    assert len(docs) == 5 and "/a/001.jsonl.gz" not in server.hits
    fp = source_fingerprint(SourceSpec(kind="shards", urls_file=str(listing)), DigestCache())
    listing.write_text(f"{server.base}/a/000.parquet\n")
    assert source_fingerprint(SourceSpec(kind="shards", urls_file=str(listing)), DigestCache()) != fp


def test_a_shard_without_the_text_column_is_an_error_naming_it(tmp_path, server):
    url = f"{server.base}/bad/no-text.parquet"
    with pytest.raises(SourceError, match=r"no-text\.parquet.*no column 'text'; it has 'content'"):
        collect(tmp_path, SourceSpec(kind="shards", urls=(f"{server.base}/a/000.parquet", url)))


def test_a_truncated_parquet_shard_is_a_counted_skip_or_an_error(tmp_path, server):
    urls = (f"{server.base}/bad/cut.parquet", f"{server.base}/a/000.parquet")
    summary, docs = collect(tmp_path, SourceSpec(kind="shards", name="web", urls=urls))
    assert len(docs) == 5
    example = next(e for e in summary["examples"] if e["reason"] == "not a readable Parquet file")
    assert example["where"].endswith("/bad/cut.parquet") and "to download the shard again" in example["detail"]
    with pytest.raises(SourceError, match=r"cut\.parquet: not a readable Parquet file"):
        collect(tmp_path / "strict", SourceSpec(kind="shards", name="web", urls=urls), on_error="error")


def test_a_cut_gzip_shard_keeps_its_whole_lines_and_counts_the_cut(tmp_path, server):
    summary, docs = collect(tmp_path, SourceSpec(kind="shards", name="web", urls=(f"{server.base}/bad/cut.jsonl.gz",)))
    assert 0 < len(docs) < 3 and all(d.text.startswith("Document number") for d in docs)
    assert "truncated or damaged gzip" in summary["sources"]["web"]["skipped"]


def test_a_download_that_breaks_off_names_the_shard_and_caches_nothing(tmp_path, server):
    urls = (f"{server.base}/a/000.parquet", f"{server.base}/bad/short.parquet")
    with pytest.raises(SourceError, match=r"shard 2 of 2: .*short\.parquet: could not download after 3 tries"):
        collect(tmp_path, SourceSpec(kind="shards", name="web", urls=urls))
    cached = sorted(p.suffix for p in (tmp_path / "cache" / "urls").iterdir())
    assert cached == [".parquet"]  # the first shard, kept for the rerun; never a partial second


def test_a_shard_over_the_size_limit_is_refused(tmp_path, server):
    ROUTES["/a/big.parquet"] = GOOD + b"\0" * 2**20
    try:
        with pytest.raises(SourceError, match=r"big\.parquet: .*over the 1,048,576-byte limit"):
            collect(tmp_path, SourceSpec(kind="shards", urls=(f"{server.base}/a/big.parquet",), max_mb=1))
    finally:
        del ROUTES["/a/big.parquet"]


@pytest.mark.parametrize("fields, message", [
    ({}, "needs either 'urls'"),
    ({"urls": ("http://x/a.parquet",), "urls_file": "f.txt"}, "not both"),
    ({"urls": ("http://x/a.parquet",), "max_shards": -1}, "max_shards: expected a whole number"),
])
def test_bad_shard_sources_name_the_key(fields, message):
    with pytest.raises(SourceError, match=message):
        SourceSpec(kind="shards", **fields)


def test_a_missing_urls_file_and_an_unknown_suffix_are_named(tmp_path):
    with pytest.raises(SourceError, match=r"nowhere\.txt: urls_file not found"):
        collect(tmp_path, SourceSpec(kind="shards", urls_file=str(tmp_path / "nowhere.txt")))
    with pytest.raises(SourceError, match=r"cannot tell the format.*set format: parquet or jsonl"):
        collect(tmp_path, SourceSpec(kind="shards", urls=("http://127.0.0.1:9/data.bin",)))
