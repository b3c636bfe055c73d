"""What the stages wrote, read as plain Python data (no Streamlit here, so it is testable).

Every reader takes the project folder and returns None (or an empty list) when
the file is not there yet: a page then says what is missing and which command
makes it. Files are only read, never written.

    metrics/<stage>.json          a stage's figures (and its `seconds`)
    data/<stage>/summary.json     collect's and clean's detailed counts
    data/cache/<stage>/<run>/metrics.jsonl   a training run's log, one row per logged step,
                                  appended while it trains (the live curve)
    plots/<stage>/loss.csv        the published curve of the finished run
    dvc.yaml, dvc.lock            the stages, in order, and what they last ran on
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

STAGES = ("inputs", "collect", "clean", "tokenizer", "tokenize", "pretrain", "finetune", "evaluate", "export")
TRAINING = ("pretrain", "finetune")
RUNS = Path("data/cache")
LIVE_SECONDS = 90  # a run whose log grew this recently is "in progress"


def project_root() -> Path:
    """The forja project the dashboard shows: $FORJA_PROJECT, else the folder it was started in."""
    return Path(os.environ.get("FORJA_PROJECT") or os.getcwd()).resolve()


def mtime(path: Path) -> float:
    """Modification time (0.0 if missing): the cache key of every file reader."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


# --------------------------------------------------------------------------- files


def read_json(path: Path) -> dict | None:
    """A JSON object, or None if the file is missing, half-written or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def metrics(root: Path, stage: str) -> dict | None:
    return read_json(root / "metrics" / f"{stage}.json")


def read_csv(path: Path) -> list[dict]:
    """Rows with numbers as floats and empty cells dropped."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [_numbers(r) for r in csv.DictReader(f)]
    except OSError:
        return []


def read_jsonl(path: Path) -> list[dict]:
    """One object per line; a last line still being written (no newline yet) is skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue
    return rows


def _numbers(row: dict) -> dict:
    out = {}
    for k, v in row.items():
        if v in ("", None):
            continue
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    return out


# --------------------------------------------------------------------------- stages


@dataclass(frozen=True)
class StageState:
    """state: "done", "outdated", "never" (never run) or "unknown" (DVC could not tell)."""

    name: str
    state: str
    ran_at: float | None = None  # when its metrics were written (epoch seconds)
    seconds: float | None = None
    why: str = ""  # what DVC saw change, in its words ("flows/clean.py modified")


def stage_names(root: Path) -> list[str]:
    """The stages of dvc.yaml, in its order (the pipeline's), or the default list."""
    try:
        spec = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}
        names = list((spec.get("stages") or {}).keys())
    except (OSError, yaml.YAMLError):
        names = []
    return names or list(STAGES)


def locked_stages(root: Path) -> set[str]:
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return set()
    return set((lock.get("stages") or {}).keys())


@dataclass(frozen=True)
class DvcStatus:
    """What `dvc status --json` said: `changes` (stage -> what changed; {} = all up to date),
    or None with `busy` (a running `dvc repro` holds the lock) or `error` (DVC's own words)."""

    changes: dict | None
    busy: bool = False
    error: str = ""


def dvc_status(root: Path, timeout: float = 120) -> DvcStatus:
    if not (root / ".dvc").is_dir():
        return DvcStatus(None, error="not a DVC project (no .dvc folder)")
    try:
        done = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=root, capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    except (OSError, subprocess.TimeoutExpired) as err:
        return DvcStatus(None, error=str(err))
    if done.returncode != 0:
        busy = "is busy" in done.stderr or "acquire lock" in done.stderr
        return DvcStatus(None, busy=busy, error=done.stderr.strip().splitlines()[0] if done.stderr.strip() else "")
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    except (ValueError, IndexError):
        return DvcStatus(None, error="unreadable output of dvc status")
    return DvcStatus(data if isinstance(data, dict) else None)


def stage_states(root: Path, status: dict | None) -> list[StageState]:
    locked = locked_stages(root)
    out = []
    for name in stage_names(root):
        m = metrics(root, name)
        ran_at = mtime(root / "metrics" / f"{name}.json") or None
        seconds = m.get("seconds") if m else None
        changes = (status or {}).get(name)
        why = _describe(changes)
        if name == "inputs":  # always_changed: it only fingerprints the user's files
            produced = (root / "data" / "inputs" / "collect.json").exists()
            state = "done" if produced else "never"
        elif name not in locked or (m is None and name != "inputs"):
            state = "never"
        elif status is None:
            state = "unknown"
        elif changes and "deleted" in why:
            state = "never"
        else:
            state = "outdated" if changes else "done"
        # A stage never run here has, at most, the committed figures of someone else's run:
        # its metrics file's time is when it was checked out, not when it ran.
        out.append(StageState(name, state, ran_at if state != "never" else None, seconds, why))
    return out


def _describe(changes) -> str:
    """DVC's change list, flattened to 'path modified, path deleted'."""
    if not changes:
        return ""
    parts = []
    for item in changes if isinstance(changes, list) else [changes]:
        if isinstance(item, str):
            parts.append(item)
            continue
        for group in item.values():
            if isinstance(group, dict):
                for path, what in group.items():
                    parts.append(f"{path} {what if isinstance(what, str) else 'modified'}")
            else:
                parts.append(str(group))
    return ", ".join(parts)


def headline(name: str, m: dict | None) -> tuple[str, float | None] | None:
    """(what, value) the home page shows beside a stage; `what` is a translation key."""
    if not m:
        return None
    pick = {
        "collect": ("head_documents", m.get("documents")),
        "clean": ("head_kept", m.get("documents_out")),
        "tokenizer": ("head_bytes_per_token", m.get("bytes_per_token_es")),
        "tokenize": ("head_tokens", m.get("train_tokens")),
        "pretrain": ("head_val_loss", m.get("val_loss")),
        "finetune": ("head_val_loss", m.get("val_loss")),
        "evaluate": ("head_bpb", m.get("base_bits_per_byte")),
        "export": ("head_megabytes", (m.get("bytes") or 0) / 1e6 if m.get("bytes") else None),
    }.get(name)
    return pick


PREFECT_RUNNING = Path(".prefect") / "api_url"  # flows.RUNNING_FILE: `make prefect` writes it while it runs


def prefect_ui(root: Path | None = None) -> str | None:
    """The Prefect UI's address: PREFECT_API_URL's server, else the one `make prefect` keeps
    running for the project (its .prefect/api_url, when that server answers)."""
    api = os.environ.get("PREFECT_API_URL", "").strip()
    if not api and root is not None:
        try:
            url = (root / PREFECT_RUNNING).read_text(encoding="utf-8").strip()
            with urllib.request.urlopen(url + "/health", timeout=0.5) as r:
                api = url if r.status == 200 and url.startswith("http://127.0.0.1:") else ""
        except (OSError, ValueError):
            api = ""
    if not api.startswith(("http://", "https://")):
        return None
    return api.rstrip("/").removesuffix("/api")


# --------------------------------------------------------------------------- training runs


@dataclass(frozen=True)
class Run:
    stage: str
    folder: Path
    rows: list[dict]
    updated: float  # mtime of its metrics.jsonl

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def last(self) -> dict:
        return self.rows[-1] if self.rows else {}

    def live(self, max_steps: int | None, now: float | None = None) -> bool:
        """Still training: its log grew in the last LIVE_SECONDS and it has not reached max_steps."""
        recent = (now or time.time()) - self.updated < LIVE_SECONDS
        return recent and (max_steps is None or self.last.get("step", 0) < max_steps)


def runs(root: Path, stage: str) -> list[Path]:
    """The run folders of a training stage, newest log first."""
    logs = [p for p in (root / RUNS / stage).glob("*/metrics.jsonl")]
    return [p.parent for p in sorted(logs, key=mtime, reverse=True)]


def read_run(root: Path, stage: str, folder: Path) -> Run:
    log = folder / "metrics.jsonl"
    return Run(stage, folder, read_jsonl(log), mtime(log))


def published_curve(root: Path, stage: str) -> list[dict]:
    return read_csv(root / "plots" / stage / "loss.csv")


def eta_seconds(run: Run, max_steps: int | None) -> float | None:
    """Seconds left at the run's recent pace, from its own log."""
    last = run.last
    if not max_steps or "step" not in last or last["step"] >= max_steps:
        return None
    timed = [r for r in run.rows if "elapsed_s" in r]
    if len(timed) < 2:
        return None
    a, b = timed[max(0, len(timed) - 6)], timed[-1]
    rate = (b["step"] - a["step"]) / max(1e-9, b["elapsed_s"] - a["elapsed_s"])  # steps per second
    return (max_steps - last["step"]) / rate if rate > 0 else None
