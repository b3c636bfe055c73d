"""Crash-safe outputs: a file or a folder appears whole, or not at all.

Every output is first written under a temporary name beside its target, then
renamed into place. A file is one `os.replace`, which POSIX makes atomic. A
folder cannot be replaced in one step, so it takes two renames:

    target -> target.old      (the previous version, kept until the end)
    target.tmp -> target      (the new version)
    rm -r target.old

A crash between the two renames leaves no `target` but a whole `target.old`;
`recover(target)` (called by every reader of a folder written this way) puts it
back, so a crash never loses the previous output. JSON is written one way
everywhere: UTF-8, indented, keys sorted, a final newline, so an unchanged
result is byte-identical and DVC sees no change.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

log = logging.getLogger("llm_core.atomic")


def _tmp_name(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def _old_name(path: Path) -> Path:
    return path.with_name(path.name + ".old")


class AtomicFile:
    """A file written under `<path>.tmp` that appears as `path` on `commit()`.

    For writers that outlive one `with` block (a shard writer, a token writer):
    `file` is the open handle; `discard()` throws the partial file away."""

    def __init__(self, path: str | Path, mode: str = "wb", **kwargs: Any):
        if not any(m in mode for m in "wx"):
            raise ValueError(f"AtomicFile writes whole files; mode {mode!r} is not a write mode")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = _tmp_name(self.path)
        if "b" not in mode:
            kwargs.setdefault("encoding", "utf-8")
        self.file: IO = open(self.tmp, mode.replace("x", "w"), **kwargs)

    def commit(self) -> Path:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        self.file.close()
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open `path` for writing; the file appears under its name only if the block
    ends without an exception (text mode defaults to UTF-8)."""
    out = AtomicFile(path, mode, **kwargs)
    try:
        yield out.file
    except BaseException:
        out.discard()
        raise
    out.commit()


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    with atomic_open(path, "w") as f:
        f.write(text)
    return Path(path)


def json_text(data: Any) -> str:
    """The one JSON format of forja's outputs."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json_text(data))


def write_jsonl(path: str | Path, rows: Any) -> int:
    """One compact JSON object per line; returns how many rows were written."""
    n = 0
    with atomic_open(path, "w") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a folder in `<path>.tmp` (yielded, empty); swap it in as `path` when the
    block succeeds. On an exception the previous `path` is untouched."""
    path = Path(path)
    tmp = _tmp_name(path)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        fsync_files(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_in(tmp, path)


def swap_in(new: Path, path: Path) -> None:
    """Replace `path` (a folder, a file or a link, or nothing) by the folder `new`."""
    recover(path)
    old = _old_name(path)
    _remove(old)
    if path.exists() or path.is_symlink():
        os.rename(path, old)
    os.rename(new, path)
    _remove(old)


def recover(path: str | Path) -> Path:
    """Finish a swap that a crash interrupted: put `path.old` back if `path` is gone."""
    path = Path(path)
    old = _old_name(path)
    if not path.exists() and not path.is_symlink() and (old.exists() or old.is_symlink()):
        log.warning("%s: restoring the previous version after an interrupted write", path)
        os.rename(old, path)
    return path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def fsync_files(folder: Path) -> None:
    """Flush every file's bytes to disk before the rename publishes them."""
    for f in folder.rglob("*"):
        if f.is_file() and not f.is_symlink():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
