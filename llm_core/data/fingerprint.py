"""Fingerprints of the user's own input files, so that DVC sees when one changes.

DVC reruns a stage when the hash of one of its declared dependencies changes.
The files a user names in params.yaml (`collect.sources`, `finetune.files`) can
live anywhere and change while params.yaml stays the same, so they cannot be
listed in dvc.yaml. The `inputs` stage runs on every `dvc repro` (it is marked
`always_changed`, and takes about a second) and writes one small JSON per stage
that reads such files: each file's size and SHA-256, plus what identifies a URL
download (the URL and its `refresh` number). collect and finetune depend on
those JSON files, so they rerun exactly when one of the user's files changed,
and a rerun with nothing changed still does nothing after `inputs`.

Hashing reads every byte; a state file keyed by (path, size, mtime) skips the
files that did not change since the last run, as DVC's own state database does.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable

from ..atomic import write_json
from .sources import SourceError, SourceSpec, source_files

CHUNK = 1 << 20


class DigestCache:
    """SHA-256 of files, remembered by (resolved path, size, mtime in ns)."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.known: dict[str, list] = {}
        if path is not None and path.exists():
            try:
                self.known = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                self.known = {}  # a damaged cache only costs a rehash

    def digest(self, file: Path) -> dict[str, Any]:
        st = file.stat()
        key, stamp = str(file.resolve()), [st.st_size, st.st_mtime_ns]
        if key in self.known and self.known[key][:2] == stamp:
            sha = self.known[key][2]
        else:
            sha = _sha256(file)
            self.known[key] = [*stamp, sha]
        return {"bytes": st.st_size, "sha256": sha}

    def save(self) -> None:
        if self.path is not None:
            write_json(self.path, self.known)


def _sha256(file: Path) -> str:
    h = hashlib.sha256()
    with open(file, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def files_digest(paths: Iterable[Path], cache: DigestCache) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in paths:
        try:
            out[str(p)] = cache.digest(p)
        except OSError as err:  # unreadable now: collect reports it; the fingerprint records it
            out[str(p)] = {"error": type(err).__name__}
    return out


def source_fingerprint(spec: SourceSpec, cache: DigestCache) -> dict[str, Any]:
    """What identifies the content of one `collect.sources` entry."""
    if spec.kind == "default":
        return {"kind": "default"}  # the shipped corpus: fixed by its params (which packages)
    if spec.kind == "url":
        return {"kind": "url", "url": spec.url, "refresh": spec.refresh}
    if spec.kind == "shards":  # the URLs say what is read; a urls_file is the user's file, so its edits count
        listed = files_digest([Path(spec.urls_file)], cache) if spec.urls_file else {}
        return {"kind": "shards", "urls": list(spec.urls), "urls_file": listed, "refresh": spec.refresh,
                "max_shards": spec.max_shards}
    try:
        return {"kind": spec.kind, "files": files_digest(source_files(spec), cache)}
    except SourceError as err:  # a missing path: collect stops with this same message
        return {"kind": spec.kind, "error": str(err)}


def write_fingerprints(out_dir: Path, sources: Iterable[SourceSpec], chat_files: Iterable[str],
                       state: Path | None = None) -> dict[str, Path]:
    """Write `collect.json` and `finetune.json` under `out_dir`; returns their paths."""
    cache = DigestCache(state)
    collect = {s.label: source_fingerprint(s, cache) for s in sources}
    finetune = files_digest([Path(p) for p in chat_files if Path(p).exists()], cache)
    finetune.update({p: {"missing": True} for p in chat_files if not Path(p).exists()})
    cache.save()
    return {"collect": write_json(out_dir / "collect.json", collect),
            "finetune": write_json(out_dir / "finetune.json", finetune)}
