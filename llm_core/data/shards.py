"""Remote shards: a pre-training corpus as a list of Parquet or JSONL files by URL.

Public pre-training corpora ship this way: hundreds of Parquet files (or gzipped
JSONL) with a text column, each a few hundred MB to a few GB. A `shards` source
lists their URLs (`urls`, or `urls_file` with one URL per line, `#` comments) and
reads them one at a time: each shard is downloaded whole into the URL cache (the
same `fetch_url` as a `url` source: http(s) only, a size limit, retries, a deadline,
never a partial file), then read as a table in batches (Parquet row groups, JSONL
lines), so memory holds one batch whatever the corpus's size; the disk holds the
cache, which makes a rerun (or a crash's second try) read local files.

What goes wrong, and what happens:
    a download that fails after its retries     error naming the shard and URL; shards
                                                already cached are kept for the rerun
    a downloaded file that is not readable      counted skip of that shard (error under
    Parquet (truncated, damaged)                on_error: error), naming URL and cache file
    a Parquet shard without the text column     error naming the URL and the columns it has
    a JSONL line that is not JSON, or a row     counted skip of that line (as for local
    without the text column                     JSONL files)
    a gzipped JSONL shard cut short             the lines before the cut are kept, the cut
                                                is a counted skip
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .documents import Document
from .download import DownloadError, fetch_url
from .sources import SourceError, SourceSpec, Tally, iter_table

log = logging.getLogger("llm_core.data.shards")

SHARD_MAX_MB = 4096  # one shard's download limit when the source sets no max_mb
FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".gz": "jsonl"}


def shard_urls(spec: SourceSpec) -> list[str]:
    """The source's shard URLs in reading order, at most max_shards of them."""
    if spec.urls:
        urls = list(spec.urls)
    else:
        path = Path(spec.urls_file).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise SourceError(f"{path}: urls_file not found") from None
        except (OSError, UnicodeDecodeError) as err:
            raise SourceError(f"{path}: urls_file cannot be read ({err})") from None
        urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if not urls:
            raise SourceError(f"{path}: urls_file lists no URLs (one per line; # starts a comment)")
    return urls[: spec.max_shards] if spec.max_shards else urls


def shard_format(spec: SourceSpec, url: str) -> str:
    """parquet or jsonl: the source's `format`, else the URL's suffix."""
    if spec.format:
        if spec.format not in ("parquet", "jsonl"):
            raise SourceError(f"format: a shards source reads parquet or jsonl, got {spec.format!r}")
        return spec.format
    suffix = Path(url.split("?")[0]).suffix.lower()
    if suffix not in FORMATS:
        raise SourceError(f"{url}: cannot tell the format from the suffix {suffix or '(none)'!r}; "
                          f"set format: parquet or jsonl on the source")
    return FORMATS[suffix]


def iter_shards(spec: SourceSpec, tally: Tally, cache_dir: Path) -> Iterator[Document]:
    urls = shard_urls(spec)
    limit = (spec.max_mb or SHARD_MAX_MB) * 2**20
    for i, url in enumerate(urls, start=1):
        fmt = shard_format(spec, url)
        try:
            path = fetch_url(url, cache_dir, max_bytes=limit, refresh=spec.refresh)
        except DownloadError as err:
            raise SourceError(f"{spec.label}: shard {i} of {len(urls)}: {err}") from None
        log.info("%s: shard %d of %d, %s (%.1f MB, cached as %s)", spec.label, i, len(urls), url,
                 path.stat().st_size / 1e6, path)
        if fmt == "parquet" and not _readable_parquet(path, url, spec, tally):
            continue
        try:
            yield from iter_table(spec, tally, kind=fmt, paths=[path])
        except SourceError as err:  # a missing column: the URL says which shard
            raise SourceError(f"{url} (cached as {path}): {err}") from None


def _readable_parquet(path: Path, url: str, spec: SourceSpec, tally: Tally) -> bool:
    """A complete download can still be a damaged file (the server's copy was cut)."""
    try:
        pq.ParquetFile(path).close()
        return True
    except (pa.ArrowInvalid, OSError) as err:
        tally.problem(spec.label, url, "not a readable Parquet file",
                      f"delete {path} to download the shard again ({err})")
        return False
