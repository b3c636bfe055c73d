"""DVC experiments, read as plain Python data (no Streamlit here, so it is testable).

    dvc exp show --json     -> show(root) -> parse(data) -> [Experiment]
    git show <rev>:<file>   -> curve(root, rev): an experiment's published loss curve

`dvc exp show --json` (DVC 3.x) is a list of commits: first the workspace, then
the baseline commit (HEAD), each with
``{"rev", "name", "data": {"timestamp", "params": {file: {"data": {...}}},
"metrics": {file: {"data": {...}}}}, "error", "experiments"}``, where
"experiments" lists ``{"name", "executor", "revs": [<the same shape>]}``
(executor None for a finished one, else {"state": "queued" | "running" | "success" | "failed"}:
one run from the queue, `dvc queue start`, keeps its executor; "success" is shown as done).
Nothing here raises on an odd answer: a page shows what it can.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The figures a reader compares first: (metrics file, key).
HEADLINES = (("metrics/pretrain.json", "val_loss"), ("metrics/evaluate.json", "base_bits_per_byte"),
             ("metrics/evaluate.json", "chat_0shot_macro"))
CURVE = "plots/pretrain/loss.csv"
_REV = re.compile(r"^[0-9a-f]{7,40}$")  # what we pass to git: a commit id, never an option


@dataclass(frozen=True)
class Shown:
    """The answer of `dvc exp show --json`: data, or a problem code and DVC's last words."""

    data: list | None
    problem: str | None = None  # "no_project", "timeout", "failed", "bad_json"
    detail: str = ""


@dataclass(frozen=True)
class Experiment:
    name: str
    rev: str  # "workspace" or a commit id
    kind: str  # "workspace", "baseline" or "experiment"
    created: str | None = None  # "2026-12-02 10:23"
    state: str = "done"  # "done", "queued", "running", "failed"
    params: dict[str, Any] = field(default_factory=dict)  # flat: "pretrain.model.dim" -> 48
    metrics: dict[str, Any] = field(default_factory=dict)  # flat: "metrics/pretrain.json:val_loss" -> 4.5
    error: str = ""

    def metric(self, file: str, key: str) -> Any:
        return self.metrics.get(f"{file}:{key}")


def cache_key(root: Path) -> tuple:
    """Changes whenever an experiment is made, removed or applied, or a stage writes its figures:
    the newest mtime under .git/refs/exps and of the files the table shows."""
    newest, count = 0.0, 0
    for folder, _, files in os.walk(root / ".git" / "refs" / "exps"):
        for p in [Path(folder), *(Path(folder) / f for f in files)]:
            newest, count = max(newest, _mtime(p)), count + 1
    watched = [".git/HEAD", ".git/packed-refs", "dvc.lock", "params.yaml", *{f for f, _ in HEADLINES}, CURVE]
    return (newest, count, *(_mtime(root / p) for p in watched))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def show(root: Path, timeout: float = 60) -> Shown:
    """Run `dvc exp show --json` in `root`; never raises."""
    if not (root / ".dvc").is_dir() or not (root / ".git").exists():
        return Shown(None, "no_project")
    try:
        done = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=root, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    except subprocess.TimeoutExpired:
        return Shown(None, "timeout")
    except OSError as err:
        return Shown(None, "failed", str(err))
    if done.returncode != 0:
        return Shown(None, "failed", _last_line(done.stderr or done.stdout))
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return Shown(None, "bad_json", _last_line(done.stdout))
    return Shown(data, None) if isinstance(data, list) else Shown(None, "bad_json")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


# --------------------------------------------------------------------------- parsing


def parse(data: Any) -> list[Experiment]:
    """The workspace, each baseline commit and its experiments, in DVC's order."""
    out: list[Experiment] = []
    for commit in data if isinstance(data, list) else []:
        if not isinstance(commit, dict):
            continue
        workspace = commit.get("rev") == "workspace"
        out.append(_one(commit, "workspace" if workspace else "baseline"))
        for exp in commit.get("experiments") or []:
            revs = exp.get("revs") if isinstance(exp, dict) else None
            if revs and isinstance(revs[0], dict):  # the first rev is the experiment's result
                state = (exp.get("executor") or {}).get("state") if isinstance(exp.get("executor"), dict) else None
                state = "done" if state in (None, "success") else state
                out.append(_one(revs[0], "experiment", exp.get("name"), state))
    return out


def _one(entry: dict, kind: str, name: str | None = None, state: str = "done") -> Experiment:
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    rev = str(entry.get("rev") or data.get("rev") or "")
    stamp = data.get("timestamp")
    error = entry.get("error")
    return Experiment(
        name=str(name or entry.get("name") or (rev[:7] if kind != "workspace" else "workspace")),
        rev=rev, kind=kind, created=stamp.replace("T", " ")[:16] if isinstance(stamp, str) else None,
        state="failed" if error and state == "done" else state,
        params=_files(data.get("params"), with_file=False), metrics=_files(data.get("metrics"), with_file=True),
        error=(error.get("msg") or error.get("type") or "") if isinstance(error, dict) else str(error or ""))


def _files(files: Any, with_file: bool) -> dict[str, Any]:
    """{file: {"data": {...}}} flattened: "a.b.c" keys, prefixed by "file:" when asked."""
    flat: dict[str, Any] = {}
    for file, entry in (files or {}).items() if isinstance(files, dict) else []:
        data = entry.get("data") if isinstance(entry, dict) else None
        for key, value in flatten(data if isinstance(data, dict) else {}).items():
            flat[f"{file}:{key}" if with_file else key] = value
    return flat


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys; a list stays one value (shown as JSON)."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value
    return out


def differing_params(exps: list[Experiment]) -> list[str]:
    """The params whose value is not the same in every row (workspace included): what was tried."""
    keys = sorted({k for e in exps for k in e.params})
    return [k for k in keys if len({json.dumps(e.params.get(k), sort_keys=True) for e in exps}) > 1]


# --------------------------------------------------------------------------- curves


def curve(root: Path, rev: str, path: str = CURVE, timeout: float = 20) -> list[dict]:
    """An experiment's published loss curve (the workspace's from disk); [] when it has none."""
    if rev == "workspace":
        try:
            return csv_rows((root / path).read_text(encoding="utf-8"))
        except OSError:
            return []
    if not _REV.match(rev):
        return []
    try:
        done = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, capture_output=True, text=True,
                              timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return csv_rows(done.stdout) if done.returncode == 0 else []


def csv_rows(text: str) -> list[dict]:
    """CSV text as rows of floats, empty cells left out (as outputs.read_csv does for a file)."""
    rows = []
    for raw in csv.DictReader(io.StringIO(text)):
        row = {}
        for k, v in raw.items():
            try:
                row[k] = float(v)
            except (TypeError, ValueError):
                continue
        rows.append(row)
    return rows
