"""The collect step: read every configured source into Parquet document shards.

Each source is written to its own shards (`<source>-00000.parquet`, ...), so
sources can be collected in parallel and a changed source is easy to spot.
Counts of what was kept and skipped, per source and language, go to a
`CollectReport`.
"""
from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Any, Iterator

from ..atomic import write_jsonl
from .default_corpus import DEFAULT_MIX, CollectReport, CorpusUnavailable, aligned_verses, default_documents
from .documents import Document, ShardWriter
from .shards import iter_shards
from .sources import SourceSpec, Tally, iter_files, iter_table, iter_url

log = logging.getLogger("llm_core.data.collect")


def source_documents(spec: SourceSpec, tally: Tally, report: CollectReport, cache_dir: Path) -> Iterator[Document]:
    """The documents of one source, before any cap."""
    if spec.kind == "default":
        names = list(spec.include) or list(DEFAULT_MIX)
        caps = {n: spec.max_chars for n in names} if spec.max_chars else None
        for d in default_documents(cache_dir / "packages", names, caps, report):
            yield Document(d["id"], d["source"], d["text"], d["meta"])
    elif spec.kind == "files":
        yield from iter_files(spec, tally)
    elif spec.kind == "url":
        yield from iter_url(spec, tally, cache_dir / "urls")
    elif spec.kind == "shards":
        yield from iter_shards(spec, tally, cache_dir / "urls")
    else:
        yield from iter_table(spec, tally)


def collect_source(spec: SourceSpec, out_dir: Path, cache_dir: Path, on_error: str = "skip",
                   shard_docs: int = 5000) -> dict[str, Any]:
    """Write one source's shards; returns its summary (counts, skips, examples)."""
    tally, report = Tally(on_error=on_error), CollectReport()
    start = time.perf_counter()
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec.label)
    with ShardWriter(out_dir, prefix=prefix, max_docs=shard_docs) as writer:
        for doc in source_documents(spec, tally, report, cache_dir):
            if spec.kind != "default":  # the default corpus counts (and caps) its own documents
                stats = report.source_stats(doc.source, spec.lang or "?")
                if spec.max_chars and stats.chars + len(doc.text) > spec.max_chars:
                    report.skip(doc.source, f"over the max_chars cap of {spec.max_chars:,}", chars=len(doc.text))
                    continue
                report.kept(doc.source, doc.text)
            writer.write(doc)
    for (source, reason), n in tally.skipped.items():
        report.skip(source, reason, n)
    summary = report.summary()
    summary.update(label=spec.label, kind=spec.kind, shards=[p.name for p in writer.paths],
                   examples=tally.examples, seconds=round(time.perf_counter() - start, 3))
    log.info("collected %s (%s): %d documents into %d shards in %.1fs", spec.label, spec.kind,
             writer.documents, len(writer.paths), summary["seconds"])
    return summary


def write_aligned_verses(path: Path, cache_dir: Path) -> int | None:
    """The aligned RV1909/KJV verse pairs that fine-tuning's translate task draws from,
    as JSONL rows {ref, es, en}; they are fetched here, with every other download, so
    that later stages read only stage outputs. None (and no file) where the Debian
    packages cannot be had on this machine: fine-tuning then has no translate task."""
    pairs = ({"ref": ref, "es": es, "en": en} for ref, es, en in aligned_verses(cache_dir / "packages"))
    try:
        n = write_jsonl(path, pairs)
    except CorpusUnavailable as err:
        log.warning("no aligned verses, so no translate task in fine-tuning: %s", err)
        return None
    log.info("wrote %d aligned verse pairs to %s", n, path)
    return n


def read_aligned_verses(path: Path) -> list[tuple[str, str, str]] | None:
    if not path.exists():
        return None
    rows = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    return [(r["ref"], r["es"], r["en"]) for r in rows]


def merge_summaries(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary over all sources: per-source rows, per-language totals, skips."""
    sources: dict[str, Any] = {}
    for p in parts:
        sources.update(p["sources"])
    langs: dict[str, dict[str, int]] = {}
    for s in sources.values():
        row = langs.setdefault(s["lang"], {"documents": 0, "chars": 0, "bytes": 0})
        for k in row:
            row[k] += s[k]
    skipped = sum(v["units"] for s in sources.values() for v in s["skipped"].values())
    return {
        "documents": sum(s["documents"] for s in sources.values()),
        "chars": sum(s["chars"] for s in sources.values()),
        "bytes": sum(s["bytes"] for s in sources.values()),
        "skipped": skipped,
        "sources": sources,
        "languages": langs,
        "examples": [e for p in parts for e in p.get("examples", [])],
        "shards": [s for p in parts for s in p["shards"]],
    }
