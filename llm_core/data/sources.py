"""Where documents come from: local files and folders, table files, URLs
(downloaded by `download`, markup turned into text by `markup`).

Every source yields `Document`s. A problem with one record (a line that is not
JSON, a file that is not UTF-8, unreadable, empty or binary) is either a
counted, reported skip or an error naming the file and line, as `on_error`
says; a problem with the configuration itself (a missing path, a column that
does not exist) is always an error. Nothing is dropped without being counted.
"""
from __future__ import annotations

import codecs
import csv
import fnmatch
import gzip
import json
import logging
import os
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..ledger import Ledger
from .documents import Document
from .download import DownloadError, fetch_url
from .markup import markup_to_text

log = logging.getLogger("llm_core.data.sources")

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
# which files of a folder or glob each kind of local source reads
SUFFIXES = {"files": TEXT_SUFFIXES, "jsonl": {".jsonl", ".json", ".ndjson"}, "csv": {".csv", ".tsv"},
            "parquet": {".parquet"}}
TABLE_KINDS = ("jsonl", "csv", "parquet")
KINDS = ("default", "files", *TABLE_KINDS, "url", "shards")


class SourceError(ValueError):
    """A source cannot be read as configured; the message names file/line/key."""


@dataclass(frozen=True)
class SourceSpec:
    """One entry of params.yaml `collect.sources`."""

    kind: str
    name: str | None = None  # the `source` column; defaults to the kind or file name
    path: str | None = None  # files/jsonl/csv/parquet: a file, a folder or a glob
    url: str | None = None
    format: str | None = None  # url only: txt, md, html, jsonl, csv, parquet (default: from the URL)
    text_column: str = "text"
    id_column: str | None = None
    lang: str | None = None  # a hint stored in meta; the clean stage identifies language anyway
    licence: str | None = None
    include: tuple[str, ...] = ()  # default corpus: which of its sources
    max_chars: int = 0  # stop a source after this many characters (0: no cap)
    # url only: a downloaded URL is cached for good; bump `refresh` (1, 2, ...) to download
    # it again. It is part of the cache key, so DVC sees the params change and reruns
    # collect; 0 keeps the key of caches written before this field existed.
    refresh: int = 0
    # shards only (llm_core.data.shards): the shard URLs, listed here or one per line in a
    # local file; how many to read (0: all); each download's limit in MiB (0: 4096)
    urls: tuple[str, ...] = ()
    urls_file: str | None = None
    max_shards: int = 0
    max_mb: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SourceError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind in ("files", *TABLE_KINDS) and not self.path:
            raise SourceError(f"kind {self.kind!r} needs a 'path' (a file, a folder or a glob)")
        if self.kind == "url" and not self.url:
            raise SourceError("kind 'url' needs a 'url'")
        if not isinstance(self.refresh, int) or isinstance(self.refresh, bool) or self.refresh < 0:
            raise SourceError(f"refresh: expected a whole number 0, 1, 2, ..., got {self.refresh!r}")
        if self.refresh and self.kind not in ("url", "shards"):
            raise SourceError(f"refresh: only a kind 'url' or 'shards' source is downloaded again, this one is {self.kind!r}")
        if self.kind == "shards" and bool(self.urls) == bool(self.urls_file):
            raise SourceError("kind 'shards' needs either 'urls' (a list of shard URLs) or 'urls_file' "
                              "(a local file with one URL per line), not both")
        if (self.urls or self.urls_file) and self.kind != "shards":
            raise SourceError(f"urls, urls_file: only a kind 'shards' source reads them, this one is {self.kind!r}")
        for name in ("max_shards", "max_mb"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SourceError(f"{name}: expected a whole number >= 0 (0: no cap), got {value!r}")

    @property
    def label(self) -> str:
        return self.name or (Path(self.path).stem if self.path else self.kind)


@dataclass
class Tally(Ledger):
    """The collect stage's ledger: skips counted by (source, reason), at most 3
    examples per reason and 20 in all, each {source, where, reason, detail};
    under on_error "error" a `SourceError` naming where and why."""

    per_reason: int | None = 3
    max_examples: int | None = 20
    error: type[Exception] = SourceError

    @property
    def skipped(self) -> Counter:
        """(source, reason) -> records skipped."""
        return self.counts

    def problem(self, source: str, where: str, reason: str, detail: str = "", on_error: str | None = None) -> None:
        """Record a bad record; raises instead when on_error is 'error'."""
        self.skip(reason, name=source, message=f"{where}: {reason}{': ' + detail if detail else ''}",
                  example={"source": source, "where": where, "reason": reason, "detail": detail[:200]},
                  on_error=on_error)

    def note(self, source: str, where: str, reason: str, detail: str = "") -> None:
        """A skip that is never an error, whatever on_error says."""
        self.problem(source, where, reason, detail, on_error="skip")


def _unreadable(tally: Tally, source: str, path: Path, err: OSError) -> None:
    tally.problem(source, str(path), "unreadable", f"{err.strerror or err} (check the file's permissions)")


# --- finding files: a file, a folder or a glob -----------------------------------

def expand_path(pattern: str, suffixes: set[str] | None = None) -> list[Path]:
    """A file, a folder (searched recursively) or a glob; a missing path is an error.

    Symlinked folders are not followed: a link back up the tree would read every
    file once per lap (the OS stops a loop after ~40), and a link out of the tree
    reads what the user did not point at. A file reached under two names (a
    symlinked file) is read once, under its real name."""
    p = Path(pattern).expanduser()
    if _is_glob(pattern):
        found = _glob(p)
    elif p.is_dir():
        found = _walk(p)
    elif p.exists():
        return [p]
    else:
        raise SourceError(f"{pattern}: no such file or folder")
    files = _each_file_once(f for f in found if suffixes is None or f.suffix.lower() in suffixes)
    if not files:
        kinds = f" with suffix {', '.join(sorted(suffixes))}" if suffixes else ""
        raise SourceError(f"{pattern}: matches no files{kinds}")
    return files


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _walk(root: Path, max_depth: int | None = None) -> Iterator[Path]:
    """Every entry below `root` that is not a folder, without entering symlinked folders
    (os.walk's followlinks=False); `max_depth` folders deep at most."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        if max_depth is not None and len(here.relative_to(root).parts) >= max_depth:
            dirs.clear()
        for d in dirs:
            if (here / d).is_symlink():
                log.warning("%s: a symlinked folder; not followed (list its target as a source of its own)", here / d)
        yield from (here / f for f in files)


def _glob(pattern: Path) -> Iterator[Path]:
    """glob.glob(recursive=True)'s matches, found by `_walk` so that `**` does not
    follow symlinked folders (glob.glob does, round every loop)."""
    parts = pattern.parts
    fixed = next(i for i, part in enumerate(parts) if _is_glob(part))
    root, rest = Path(*parts[:fixed]) if fixed else Path("."), parts[fixed:]
    depth = None if "**" in rest else len(rest) - 1
    for f in _walk(root, depth):
        if _glob_match(f.relative_to(root).parts, rest):
            yield f


def _glob_match(names: tuple[str, ...], pats: tuple[str, ...]) -> bool:
    """Whether a relative path's names match glob segments, `**` meaning zero or more
    folders; like glob.glob, wildcards do not match names that start with a dot."""
    if not pats:
        return not names
    if pats[0] == "**":
        return any(_glob_match(names[i:], pats[1:]) for i in range(len(names) + 1)
                   if not any(n.startswith(".") for n in names[:i]))
    return (bool(names) and fnmatch.fnmatch(names[0], pats[0])
            and (pats[0].startswith(".") or not names[0].startswith("."))
            and _glob_match(names[1:], pats[1:]))


def _each_file_once(candidates: Iterable[Path]) -> list[Path]:
    """The regular files among `candidates`, one name per real file (the real name
    rather than a link's), sorted."""
    by_target: dict[Path, Path] = {}
    for f in sorted(candidates, key=lambda f: (f.is_symlink(), f)):
        if f.is_file():  # follows a link to a file; drops folders and dangling links
            by_target.setdefault(f.resolve(), f)
    return sorted(by_target.values())


# --- local text files ----------------------------------------------------------

def read_text_file(path: Path, source: str, tally: Tally) -> str | None:
    """The file's text, or None after recording why it was skipped (raising instead
    under on_error: error)."""
    try:
        data = path.read_bytes()
    except OSError as err:
        _unreadable(tally, source, path, err)
        return None
    text = decode_text(data, path, source, tally)
    if text is not None and not text.strip():
        found = "only whitespace" if data else "0 bytes"
        tally.problem(source, str(path), "empty file", f"expected text, found {found}")
        return None
    return text


def decode_text(data: bytes, path: Path, source: str, tally: Tally) -> str | None:
    """UTF-8 (with or without a BOM), or UTF-16 with a BOM; anything else is recorded
    as a problem that says what the bytes look like."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE 00 00 starts like FF FE
        tally.problem(source, str(path), "UTF-32, not UTF-8", _convert_hint("UTF-32", path))
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_utf16(data, path, source, tally)
    if order := _utf16_byte_order(data):
        tally.problem(source, str(path), "UTF-16 without a byte-order mark",
                      f"every other byte is 0, as in {order} text; {_convert_hint(order, path)}")
        return None
    if b"\x00" in data[:8192]:
        tally.problem(source, str(path), "binary file", "NUL bytes in the first 8 KiB")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        tally.problem(source, f"{path}:{line}", "not UTF-8", f"byte 0x{data[err.start]:02x} at offset {err.start}")
        return None


def _convert_hint(encoding: str, path: Path) -> str:
    return f"convert it with `iconv -f {encoding} -t UTF-8 {path} > {path.stem}.utf8{path.suffix}`"


def _decode_utf16(data: bytes, path: Path, source: str, tally: Tally) -> str | None:
    """A byte-order mark makes UTF-16 unambiguous (Windows editors save "Unicode" this
    way), so it is read like UTF-8 with a BOM is, and logged."""
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError as err:
        tally.problem(source, str(path), "not valid UTF-16",
                      f"{err.reason} at byte {err.start}, after a UTF-16 byte-order mark")
        return None
    log.info("%s: read as UTF-16 (it starts with a UTF-16 byte-order mark)", path)
    return text


def _utf16_byte_order(data: bytes) -> str | None:
    """'UTF-16LE' or 'UTF-16BE' when the bytes look like BOM-less UTF-16 of mostly
    Latin text: zeros in nearly every odd (LE) or even (BE) byte and in few others."""
    sample = data[: min(len(data), 8192) // 2 * 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0) / (len(sample) // 2), sample[1::2].count(0) / (len(sample) // 2)
    if odd > 0.3 and even < 0.05:
        return "UTF-16LE"
    if even > 0.3 and odd < 0.05:
        return "UTF-16BE"
    return None


def source_files(spec: SourceSpec) -> list[Path]:
    """The local files a files/jsonl/csv/parquet source reads, in reading order."""
    return expand_path(spec.path, SUFFIXES[spec.kind])


def iter_files(spec: SourceSpec, tally: Tally) -> Iterator[Document]:
    for path in source_files(spec):
        raw = read_text_file(path, spec.label, tally)
        if raw is None:
            continue
        text = markup_to_text(raw, path.suffix.lower())
        yield Document(f"{spec.label}/{path.name}", spec.label, text, _meta(spec, path=str(path)))


# --- table files -----------------------------------------------------------------

def iter_table(spec: SourceSpec, tally: Tally, kind: str | None = None, paths: list[Path] | None = None) -> Iterator[Document]:
    kind = kind or spec.kind
    reader = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[kind]
    for path in paths or expand_path(spec.path, SUFFIXES[kind]):
        for where, row in reader(path, spec, tally):
            text = row.get(spec.text_column)
            if not isinstance(text, str) or not text.strip():
                what = "missing" if text is None else f"empty or not a string ({type(text).__name__})"
                tally.problem(spec.label, where, f"text column {spec.text_column!r} {what}")
                continue
            rid = row.get(spec.id_column) if spec.id_column else None
            yield Document(f"{spec.label}/{rid if rid is not None else where.rsplit('/', 1)[-1]}",
                           spec.label, text, _meta(spec, path=str(path), where=where))


def _jsonl_rows(path: Path, spec: SourceSpec, tally: Tally) -> Iterator[tuple[str, dict]]:
    """Rows of a JSONL file, or of a gzipped one (.gz), read line by line."""
    try:
        f = gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")
    except OSError as err:
        _unreadable(tally, spec.label, path, err)
        return
    with f:
        lines = enumerate(f, start=1)
        while True:
            try:
                n, raw = next(lines)
            except StopIteration:
                break
            except (EOFError, gzip.BadGzipFile, zlib.error) as err:  # a cut or damaged .gz: the rest is lost
                tally.problem(spec.label, f"{path}", "truncated or damaged gzip", f"{type(err).__name__}: {err}")
                break
            where = f"{path}:{n}"
            if not raw.strip():
                continue  # blank lines separate nothing in JSONL
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as err:
                tally.problem(spec.label, where, "not UTF-8", str(err))
                continue
            except json.JSONDecodeError as err:
                tally.problem(spec.label, where, "not valid JSON", f"{err.msg} at column {err.colno}")
                continue
            if not isinstance(row, dict):
                tally.problem(spec.label, where, "not a JSON object", f"got {type(row).__name__}")
                continue
            yield where, row


def _csv_rows(path: Path, spec: SourceSpec, tally: Tally) -> Iterator[tuple[str, dict]]:
    csv.field_size_limit(sys.maxsize)  # long documents are normal here
    try:
        f = open(path, newline="", encoding="utf-8-sig")
        reader = csv.DictReader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        header = reader.fieldnames or []
    except UnicodeDecodeError as err:
        raise SourceError(f"{path}: not UTF-8 ({err})") from None
    except OSError as err:
        _unreadable(tally, spec.label, path, err)
        return
    with f:
        for col in filter(None, (spec.text_column, spec.id_column)):
            if col not in header:
                raise SourceError(f"{path}: no column {col!r}; the header has {', '.join(map(repr, header)) or 'no columns'}")
        try:
            for row in reader:
                yield f"{path}:{reader.line_num}", row
        except UnicodeDecodeError as err:
            raise SourceError(f"{path}:{reader.line_num + 1}: not UTF-8 ({err})") from None
        except csv.Error as err:
            raise SourceError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None


def _parquet_rows(path: Path, spec: SourceSpec, tally: Tally) -> Iterator[tuple[str, dict]]:
    try:
        pf = pq.ParquetFile(path)
    except PermissionError as err:
        _unreadable(tally, spec.label, path, err)
        return
    except (pa.ArrowInvalid, OSError) as err:
        raise SourceError(f"{path}: not a readable Parquet file ({err})") from None
    names = pf.schema_arrow.names
    for col in filter(None, (spec.text_column, spec.id_column)):
        if col not in names:
            raise SourceError(f"{path}: no column {col!r}; it has {', '.join(map(repr, names))}")
    cols = [c for c in (spec.text_column, spec.id_column) if c]
    n = 0
    for batch in pf.iter_batches(batch_size=1000, columns=cols):
        for row in batch.to_pylist():
            n += 1
            yield f"{path}#row{n}", row


def iter_url(spec: SourceSpec, tally: Tally, cache_dir: Path) -> Iterator[Document]:
    try:
        path = fetch_url(spec.url, cache_dir, refresh=spec.refresh)
    except DownloadError as err:
        raise SourceError(str(err)) from None
    fmt = (spec.format or path.suffix.lstrip(".") or "txt").lower()
    if fmt in TABLE_KINDS:
        yield from iter_table(spec, tally, kind=fmt, paths=[path])
        return
    raw = read_text_file(path, spec.label, tally)
    if raw is not None:
        yield Document(f"{spec.label}/{spec.url}", spec.label, markup_to_text(raw, "." + fmt), _meta(spec, url=spec.url))


def _meta(spec: SourceSpec, **extra: Any) -> dict[str, Any]:
    meta = {k: v for k, v in (("lang", spec.lang), ("licence", spec.licence)) if v}
    meta.update(extra)
    return meta
