"""Token files: a flat binary array of token ids plus a small JSON of metadata.

`train.bin` is read with numpy's memmap, so a corpus far larger than memory
trains without loading it. The metadata keeps the UTF-8 byte count of the text
behind the tokens, which bits per byte needs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ..atomic import AtomicFile, write_json


def token_dtype(vocab_size: int) -> np.dtype:
    """uint16 halves the file when the vocab fits (it does up to 65,536 ids)."""
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def meta_path(path: str | Path) -> Path:
    return Path(path).with_suffix(".json")


class TokenWriter:
    """Appends token arrays to `path` in a streaming way; `close` writes the metadata.

    Data goes to a temporary file that is renamed only on close, so a crash
    never leaves a token file that looks complete."""

    def __init__(self, path: str | Path, vocab_size: int):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.vocab_size = vocab_size
        self.dtype = token_dtype(vocab_size)
        self.tokens = self.bytes = self.documents = 0
        self._out = AtomicFile(self.path)
        self._f = self._out.file

    def write(self, ids: Iterable[int] | np.ndarray, n_bytes: int = 0, documents: int = 0) -> None:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self.vocab_size):
            raise ValueError(f"{self.path}: token id out of range [0, {self.vocab_size})")
        self._f.write(arr.astype(self.dtype).tobytes())
        self.tokens += int(arr.size)
        self.bytes += int(n_bytes)
        self.documents += int(documents)

    def close(self, **extra: Any) -> dict[str, Any]:
        self._out.commit()
        meta = {
            "dtype": self.dtype.name,
            "tokens": self.tokens,
            "bytes": self.bytes,
            "documents": self.documents,
            "vocab_size": self.vocab_size,
            **extra,
        }
        write_json(meta_path(self.path), meta)
        return meta

    def __enter__(self) -> "TokenWriter":
        return self

    def __exit__(self, exc_type, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self._out.discard()


def write_tokens(path: str | Path, ids: Iterable[int] | np.ndarray, vocab_size: int, n_bytes: int, **extra: Any) -> dict:
    """Write a whole token array at once; returns the metadata."""
    w = TokenWriter(path, vocab_size)
    try:
        w.write(ids, n_bytes)
    except BaseException:
        w.__exit__(RuntimeError)
        raise
    return w.close(**extra)


class TokenFile:
    """A read-only, memory-mapped token file and its metadata."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        mpath = meta_path(self.path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: token file not found")
        if not mpath.exists():
            raise FileNotFoundError(f"{mpath}: metadata for token file {self.path.name} not found")
        try:
            self.meta = json.loads(mpath.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{mpath}: not valid JSON ({err})") from None
        for key in ("dtype", "tokens", "bytes", "vocab_size"):
            if key not in self.meta:
                raise ValueError(f"{mpath}: missing key {key!r}")
        dtype = np.dtype(self.meta["dtype"])
        expected = self.meta["tokens"] * dtype.itemsize
        size = self.path.stat().st_size
        if size != expected:
            raise ValueError(f"{self.path}: {size} bytes on disk but metadata says {self.meta['tokens']} tokens of {dtype} ({expected} bytes)")
        self.ids = np.memmap(self.path, dtype=dtype, mode="r") if expected else np.zeros(0, dtype=dtype)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_bytes(self) -> int:
        return int(self.meta["bytes"])

    @property
    def vocab_size(self) -> int:
        return int(self.meta["vocab_size"])
