"""Documents and the Parquet shards that carry them between stages.

A shard is a Parquet file with columns id, source, text, meta (meta is a JSON
string, because every source has its own keys). Shards are written and read
in bounded batches, so a stage's memory does not grow with the corpus.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import AtomicFile

SCHEMA = pa.schema([("id", pa.string()), ("source", pa.string()), ("text", pa.string()), ("meta", pa.string())])


@dataclass
class Document:
    id: str
    source: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self) -> str | None:
        return self.meta.get("lang")


class ShardWriter:
    """Writes documents to `<out_dir>/<prefix>-00000.parquet`, ... , starting a new
    shard every `max_docs` documents. Each shard appears under its final name only
    when complete."""

    def __init__(self, out_dir: str | Path, prefix: str = "part", max_docs: int = 5000, batch: int = 500):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.prefix, self.max_docs, self.batch = prefix, max_docs, batch
        self.paths: list[Path] = []
        self.documents = 0
        self._writer: pq.ParquetWriter | None = None
        self._rows: list[Document] = []
        self._in_shard = 0

    def write(self, doc: Document) -> None:
        self._rows.append(doc)
        self.documents += 1
        if len(self._rows) >= self.batch:
            self._flush()

    def write_all(self, docs: Iterable[Document]) -> None:
        for d in docs:
            self.write(d)

    def _flush(self) -> None:
        while self._rows:
            if self._writer is None:
                self._open()
            room = self.max_docs - self._in_shard
            chunk, self._rows = self._rows[:room], self._rows[room:]
            self._writer.write_table(_to_table(chunk))
            self._in_shard += len(chunk)
            if self._in_shard >= self.max_docs:
                self._close_shard()

    def _open(self) -> None:
        path = self.out_dir / f"{self.prefix}-{len(self.paths):05d}.parquet"
        self._out = AtomicFile(path)
        self._writer = pq.ParquetWriter(self._out.file, SCHEMA, compression="zstd")
        self.paths.append(path)
        self._in_shard = 0

    def _close_shard(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self._out.commit()
        self._writer = None

    def close(self) -> list[Path]:
        self._flush()
        if self._writer is not None:
            self._close_shard()
        return self.paths

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()
            self._out.discard()


def _to_table(docs: list[Document]) -> pa.Table:
    return pa.table(
        {
            "id": [d.id for d in docs],
            "source": [d.source for d in docs],
            "text": [d.text for d in docs],
            "meta": [json.dumps(d.meta, ensure_ascii=False, sort_keys=True) for d in docs],
        },
        schema=SCHEMA,
    )


def read_shard(path: str | Path, batch_size: int = 1000) -> Iterator[Document]:
    """Stream the documents of one shard, `batch_size` rows in memory at a time."""
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise ValueError(f"{path}: not a readable Parquet shard ({err})") from None
    missing = {"id", "source", "text", "meta"} - set(pf.schema_arrow.names)
    if missing:
        raise ValueError(f"{path}: shard lacks column(s) {sorted(missing)}; expected id, source, text, meta")
    for batch in pf.iter_batches(batch_size=batch_size, columns=["id", "source", "text", "meta"]):
        cols = batch.to_pydict()
        for i in range(batch.num_rows):
            yield Document(cols["id"][i], cols["source"][i], cols["text"][i], json.loads(cols["meta"][i] or "{}"))


def sources_summary(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Per source in a shard folder: documents, language(s) and licence(s) from the
    documents' meta (what a model card says the model was trained on). Reads only
    the small columns."""
    out: dict[str, dict[str, Any]] = {}
    for path in shard_paths(folder):
        table = pq.read_table(path, columns=["source", "meta"]).to_pydict()
        for source, meta in zip(table["source"], table["meta"]):
            m = json.loads(meta or "{}")
            row = out.setdefault(source, {"documents": 0, "lang": set(), "licence": set()})
            row["documents"] += 1
            row["lang"].add(m.get("lang") or "?")
            row["licence"].add(m.get("licence") or "not stated")
    return {s: {**r, "lang": ", ".join(sorted(r["lang"])), "licence": "; ".join(sorted(r["licence"]))}
            for s, r in sorted(out.items())}


def shard_paths(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    paths = sorted(folder.glob("*.parquet"))
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: shard folder not found (did the previous stage run?)")
    return paths


def read_shards(folder: str | Path) -> Iterator[Document]:
    for p in shard_paths(folder):
        yield from read_shard(p)
