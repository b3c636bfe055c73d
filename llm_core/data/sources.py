"""Where documents come from: local files and folders, table files, URLs.

Every source yields `Document`s. A problem with one record (a line that is not
JSON, a file that is not UTF-8, an empty or binary file) is either a counted,
reported skip or an error naming the file and line, as `on_error` says; a
problem with the configuration itself (a missing path, a column that does not
exist) is always an error. Nothing is dropped without being counted.
"""
from __future__ import annotations

import csv
import glob
import hashlib
import json
import re
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .documents import Document
from .readers import html_text

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
TABLE_KINDS = ("jsonl", "csv", "parquet")
KINDS = ("default", "files", *TABLE_KINDS, "url")


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

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SourceError(f"kind: expected one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.kind in ("files", *TABLE_KINDS) and not self.path:
            raise SourceError(f"kind {self.kind!r} needs a 'path' (a file, a folder or a glob)")
        if self.kind == "url" and not self.url:
            raise SourceError("kind 'url' needs a 'url'")

    @property
    def label(self) -> str:
        return self.name or (Path(self.path).stem if self.path else self.kind)


@dataclass
class Tally:
    """Counts what was read and what was skipped, with a few examples of each skip."""

    on_error: str = "skip"  # skip | error
    skipped: Counter = field(default_factory=Counter)  # (source, reason) -> count
    examples: list[dict[str, str]] = field(default_factory=list)
    max_examples: int = 20

    def problem(self, source: str, where: str, reason: str, detail: str = "") -> None:
        """Record a bad record; raises instead when on_error is 'error'."""
        if self.on_error == "error":
            raise SourceError(f"{where}: {reason}{': ' + detail if detail else ''}")
        self.skipped[(source, reason)] += 1
        if sum(1 for e in self.examples if e["reason"] == reason) < 3 and len(self.examples) < self.max_examples:
            self.examples.append({"source": source, "where": where, "reason": reason, "detail": detail[:200]})

    def note(self, source: str, where: str, reason: str, detail: str = "") -> None:
        """A skip that is never an error (an empty file in a folder)."""
        on_error, self.on_error = self.on_error, "skip"
        try:
            self.problem(source, where, reason, detail)
        finally:
            self.on_error = on_error


# --- local text files ----------------------------------------------------------

def expand_path(pattern: str, suffixes: set[str] | None = None) -> list[Path]:
    """A file, a folder (searched recursively) or a glob; a missing path is an error."""
    p = Path(pattern).expanduser()
    if any(ch in pattern for ch in "*?["):
        found = [Path(f) for f in glob.glob(str(p), recursive=True)]
    elif p.is_dir():
        found = [f for f in p.rglob("*")]
    elif p.exists():
        return [p]
    else:
        raise SourceError(f"{pattern}: no such file or folder")
    files = sorted(f for f in found if f.is_file() and (suffixes is None or f.suffix.lower() in suffixes))
    if not files:
        kinds = f" with suffix {', '.join(sorted(suffixes))}" if suffixes else ""
        raise SourceError(f"{pattern}: matches no files{kinds}")
    return files


def read_text_file(path: Path, source: str, tally: Tally) -> str | None:
    """The file's text, or None after recording why it was skipped."""
    data = path.read_bytes()
    if not data.strip():
        tally.note(source, str(path), "empty file")
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


def markup_to_text(text: str, suffix: str) -> str:
    if suffix in (".html", ".htm"):
        return html_text(text)
    if suffix in (".md", ".markdown"):
        return markdown_text(text)
    return text


_MD_RULES = [
    (re.compile(r"```.*?```", re.S), ""),  # code blocks are not prose
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images -> alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links -> their text
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # heading marks
    (re.compile(r"^\s{0,3}>\s?", re.M), ""),  # quote marks
    (re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1"), r"\2"),  # emphasis, inline code
    (re.compile(r"<[^>\n]+>"), ""),  # inline HTML tags
]


def markdown_text(text: str) -> str:
    for rx, repl in _MD_RULES:
        text = rx.sub(repl, text)
    return text


def iter_files(spec: SourceSpec, tally: Tally) -> Iterator[Document]:
    for path in expand_path(spec.path, TEXT_SUFFIXES):
        raw = read_text_file(path, spec.label, tally)
        if raw is None:
            continue
        text = markup_to_text(raw, path.suffix.lower())
        yield Document(f"{spec.label}/{path.name}", spec.label, text, _meta(spec, path=str(path)))


# --- table files -----------------------------------------------------------------

def iter_table(spec: SourceSpec, tally: Tally, kind: str | None = None, paths: list[Path] | None = None) -> Iterator[Document]:
    kind = kind or spec.kind
    reader = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[kind]
    suffixes = {"jsonl": {".jsonl", ".json", ".ndjson"}, "csv": {".csv", ".tsv"}, "parquet": {".parquet"}}[kind]
    for path in paths or expand_path(spec.path, suffixes):
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
    with open(path, "rb") as f:
        for n, raw in enumerate(f, start=1):
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


# --- URLs ------------------------------------------------------------------------

def fetch_url(url: str, cache_dir: Path, timeout: float = 30.0, max_bytes: int = 200 * 2**20, retries: int = 3) -> Path:
    """Download `url` once into `cache_dir` (http/https only, size and time limits)."""
    if not re.match(r"^https?://", url, re.I):
        raise SourceError(f"{url}: only http:// and https:// URLs are allowed")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / (hashlib.sha256(url.encode()).hexdigest()[:16] + Path(url.split("?")[0]).suffix.lower())
    if target.exists():
        return target
    last: Exception | None = None
    for attempt in range(retries):
        try:
            _download(url, target, timeout, max_bytes)
            return target
        except SourceError:
            raise
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            last = err
            time.sleep(min(8.0, 0.5 * 2**attempt))
    raise SourceError(f"{url}: could not download after {retries} tries ({last}). "
                      f"Are you offline? Once downloaded, the file is kept in {cache_dir} and reused.")


def _download(url: str, target: Path, timeout: float, max_bytes: int) -> None:
    req = urllib.request.Request(url, headers={"User-Agent": "forja-collect"})
    tmp = target.with_name(target.name + ".part")
    with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as out:
        total = 0
        while chunk := resp.read(1 << 16):
            total += len(chunk)
            if total > max_bytes:
                tmp.unlink(missing_ok=True)
                raise SourceError(f"{url}: larger than the {max_bytes // 2**20} MiB limit")
            out.write(chunk)
    tmp.replace(target)


def iter_url(spec: SourceSpec, tally: Tally, cache_dir: Path) -> Iterator[Document]:
    path = fetch_url(spec.url, cache_dir)
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
