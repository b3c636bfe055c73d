"""From cleaned documents to token files, and the document-level split.

The split is a pure function of (document id, seed): the tokenizer stage
measures bytes per token on exactly the documents the tokenize stage holds out
for validation, without sharing any state between the two.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from .documents import Document, read_shard, read_shards
from .tokens import TokenWriter, meta_path

log = logging.getLogger("llm_core.data.tokenize")


def split_of(doc_id: str, seed: int, val_fraction: float) -> str:
    """'val' for a stable pseudo-random `val_fraction` of documents, else 'train'."""
    h = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    return "val" if int.from_bytes(h, "big") / 2**64 < val_fraction else "train"


def sample_texts(docs: Iterable[Document], seed: int, val_fraction: float, max_bytes: int,
                 split: str = "train", fraction: float = 1.0) -> Iterator[str]:
    """Texts of `split` documents, until `max_bytes` (0: no limit). With
    `fraction` < 1 only a hash-chosen share of documents is taken, so a sample
    spreads over every source instead of being the first shards' prefix."""
    total = 0
    for d in docs:
        if split_of(d.id, seed, val_fraction) != split:
            continue
        if fraction < 1.0 and split_of(d.id, seed + 1, fraction) != "val":
            continue
        n = len(d.text.encode("utf-8"))
        if max_bytes and total + n > max_bytes and total > 0:
            break
        total += n
        yield d.text


def tokenizer_sample(shards: Path, seed: int, val_fraction: float, max_bytes: int) -> Iterator[str]:
    """What a tokenizer learns from: training-split texts of the cleaned `shards`, about
    `max_bytes` of them spread over every source. The share taken is a little over the budget's
    (the clean stage's summary.json next to the shards gives the total), so the cap, not the
    hash, decides the size."""
    total = json.loads((Path(shards).parent / "summary.json").read_text())["chars_out"]
    fraction = min(1.0, 1.1 * max_bytes / max(1, total))
    return sample_texts(read_shards(shards), seed, val_fraction, max_bytes, fraction=fraction)


def encode_shard(shard: Path, tokenizer, out_dir: Path, seed: int, val_fraction: float,
                 batch_docs: int = 256) -> dict[str, Any]:
    """Encode one cleaned shard into `<out_dir>/<shard>.{train,val}.bin`, each
    document as [begin-of-text] + its tokens. Returns per-split counts."""
    start = time.perf_counter()
    writers = {s: TokenWriter(out_dir / f"{shard.stem}.{s}.bin", tokenizer.vocab_size) for s in ("train", "val")}
    langs: dict[str, Counter] = {"train": Counter(), "val": Counter()}
    batch: list[Document] = []

    def flush() -> None:
        ids = tokenizer.encode_batch([d.text for d in batch])
        for doc, toks in zip(batch, ids):
            split = split_of(doc.id, seed, val_fraction)
            nbytes = len(doc.text.encode("utf-8"))
            writers[split].write(np.asarray([tokenizer.bos_id, *toks]), n_bytes=nbytes, documents=1)
            lang = doc.meta.get("lang", "?")
            langs[split][f"{lang}_bytes"] += nbytes
            langs[split][f"{lang}_tokens"] += len(toks) + 1
        batch.clear()

    for doc in read_shard(shard):
        batch.append(doc)
        if len(batch) >= batch_docs:
            flush()
    if batch:
        flush()
    metas = {s: w.close(**dict(langs[s])) for s, w in writers.items()}
    log.info("encoded %s: %d train / %d val tokens in %.1fs", shard.name, metas["train"]["tokens"],
             metas["val"]["tokens"], time.perf_counter() - start)
    return metas


def concat_token_files(parts: list[Path], out: Path, vocab_size: int, **extra: Any) -> dict[str, Any]:
    """Stream part files, in the order given, into one token file; sums their metadata."""
    totals: Counter = Counter()
    w = TokenWriter(out, vocab_size)
    for p in parts:  # one part (one shard) in memory at a time
        meta = json.loads(meta_path(p).read_text())
        w.write(np.fromfile(p, dtype=np.dtype(meta["dtype"])), n_bytes=meta["bytes"], documents=meta.get("documents", 0))
        totals.update({k: v for k, v in meta.items() if k.endswith(("_bytes", "_tokens"))})
    meta = w.close(**dict(totals), **extra)
    for p in parts:
        p.unlink()
        meta_path(p).unlink()
    return meta
