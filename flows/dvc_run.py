"""Driving DVC from the pipeline flow: the command, its output split by stage, one run at a time.

    dvc_command(overrides, experiment)   -> ["python", "-m", "dvc", "repro"] or `dvc exp run --temp -n .. -S ++..`
    StageOutput(lines)                   -> the output of that one process, section by section:
        next_stage()    the next stage DVC starts (or skips), in DVC's own order, or None at the end
        stage_lines()   that stage's lines as they arrive, up to the next stage's header
    pipeline_lock(root, holder)          -> refuses a second pipeline run in the same project

One DVC process runs the whole pipeline, so DVC alone decides what is up to date and holds
its lock from the first stage to the last; the flow only reads what it prints:

    Running stage 'clean':                                    the stage runs
    Stage 'clean' didn't change, skipping                     it is up to date
    Stage 'clean' is cached - skipping run, checking out outputs   restored from DVC's run cache
    ERROR: failed to reproduce 'clean': ...                   it failed (after its own output)

No Prefect here: the flow (flows/pipeline.py) wraps each section in a task.
"""
from __future__ import annotations

import fcntl
import io
import json
import os
import re
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from llm_core.config import ConfigError

_HEADERS = (
    (re.compile(r"^Running stage '(?P<stage>[^']+)':"), "ran"),
    (re.compile(r"^Stage '(?P<stage>[^']+)' didn't change, skipping"), "up to date"),
    (re.compile(r"^Stage '(?P<stage>[^']+)' is cached - skipping run"), "restored from the run cache"),
)
_FAILED = re.compile(r"^ERROR: failed to reproduce '(?P<stage>[^']+)'")
# What DVC prints once the stages are done: the flow's business, not the last stage's.
_TRAILER = re.compile(r"^(Ran experiment\(s\)|To track the changes with git|To apply the results|"
                      r"Use `dvc push`|Data and pipelines are up to date|ERROR: )")
_STAMP_INSIDE = re.compile(r"\d\d:\d\d:\d\d\.\d{3} \| [A-Z]+ +\| ")  # a Prefect console log line's start
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class PipelineError(ValueError):
    """A pipeline run that cannot start or did not finish; the message is for a person."""


def stages(root: Path) -> dict[str, dict]:
    """The stages dvc.yaml declares, name -> spec, in its order (the flow reports any DVC
    did not reach, and links the artifacts of those with a report or metrics)."""
    path = root / "dvc.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError:
        raise PipelineError(f"{path}: not found; run the pipeline from the project root") from None
    except yaml.YAMLError as err:
        raise PipelineError(f"{path}: not valid YAML ({err})") from None
    found = data.get("stages") if isinstance(data, dict) else None
    if not isinstance(found, dict) or not found:
        raise PipelineError(f"{path}: expected a 'stages' mapping with at least one stage")
    return {name: spec if isinstance(spec, dict) else {} for name, spec in found.items()}


def publishes(spec: dict, kind: str) -> bool:
    """Whether a stage writes `reports/...` outs or `metrics` (and so has that artifact)."""
    if kind == "metrics":
        return bool(spec.get("metrics"))
    outs = [next(iter(o)) if isinstance(o, dict) else o for o in spec.get("outs", [])]
    return any(str(o).startswith("reports/") for o in outs)


def override_args(overrides: dict[str, Any] | None) -> list[str]:
    """`-S ++key=value` for each override: set whether or not params.yaml has the key (a plain
    `key=value` is refused for a key left to its default); a misspelt key then reaches the
    stage, whose check names it and suggests the right one. Values as JSON, which DVC reads
    as YAML."""
    args = []
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not _KEY.match(key):
            raise ConfigError(f"overrides: {key!r} is not a params key like 'pretrain.train.max_steps'")
        if value is None:
            raise ConfigError(f"overrides: {key}: a value is needed (got null)")
        args += ["-S", f"++{key}={json.dumps(value, ensure_ascii=False)}"]
    return args


def dvc_command(overrides: dict[str, Any] | None = None, experiment: str | None = None) -> list[str]:
    """A plain `dvc repro` in the workspace, or, with overrides or a name, a DVC experiment run
    in a temporary copy (`--temp`): recorded for `dvc exp show`, and the workspace's params.yaml
    and outputs stay as they were, so the next default run is not the variant."""
    dvc = [sys.executable, "-m", "dvc"]
    if not overrides and not experiment:
        return dvc + ["repro"]
    cmd = dvc + ["exp", "run", "--temp"]
    if experiment:
        if not _NAME.match(experiment):
            raise ConfigError(f"experiment: {experiment!r} must be letters, digits, '.', '_' or '-' (up to 100)")
        cmd += ["-n", experiment]
    return cmd + override_args(overrides)


def experiment_refs(root: Path) -> dict[str, str]:
    """The project's DVC experiments: name -> git ref (refs/exps/<xx>/<baseline>/<name>), the newest
    where two baselines have one of the same name."""
    out = subprocess.run(["git", "for-each-ref", "--sort=committerdate", "--format=%(refname)", "refs/exps/"], cwd=root,
                         capture_output=True, text=True, timeout=60)
    return {ref.rsplit("/", 1)[-1]: ref for ref in out.stdout.split() if ref.count("/") >= 4}


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`, ... when an experiment already has it (a schedule
    reuses one name every night)."""
    if name not in taken:
        return name
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def start(cmd: list[str], root: Path) -> tuple[subprocess.Popen, Iterator[str]]:
    """The DVC process, its stderr merged into stdout in order; unbuffered Python in the
    stages, so their lines arrive as they are written; the venv's python first on PATH
    (the stages' `python -m flows.<stage>`). Returns the process and its lines."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    return proc, iter(io.TextIOWrapper(proc.stdout, encoding="utf-8", errors="replace", newline=""))


@dataclass
class StageOutput:
    """The DVC process's output, read once, in order, stage by stage.

    Lines end in "\\n" or, for a progress bar redrawn in place, "\\r" (`newline=""` keeps
    them apart): `progress` says which."""

    lines: Iterator[str]
    outside: list[str] = field(default_factory=list)  # DVC's own lines before and after the stages
    failed: str | None = None  # the stage DVC reported as failed
    error: str = ""  # DVC's ERROR line
    _pending: tuple[str, str] | None = None
    _done: bool = False

    def next_stage(self) -> tuple[str, str] | None:
        """(stage, how) for the next stage DVC reached, reading past anything in between."""
        if self._pending is None:
            for line in self._read():
                self.outside.append(line.rstrip("\r\n"))
            if self._pending is None:
                return None
        found, self._pending = self._pending, None
        return found

    def stage_lines(self) -> Iterator[tuple[str, bool]]:
        """(line, is_progress) of the current stage until the next header, DVC's closing
        lines or the end. A log line written while a progress bar was drawn continues the
        bar's line (a bar ends in no newline); it is split off as a line of its own."""
        for line in self._read():
            text, progress = line.rstrip("\r\n"), line.endswith("\r")
            m = _STAMP_INSIDE.search(text)
            if m and m.start() > 0:
                yield text[: m.start()], True
                text = text[m.start():]
            yield text, progress

    def _read(self) -> Iterator[str]:
        if self._done or self._pending is not None:
            return
        for line in self.lines:
            text = line.rstrip("\r\n")
            for pattern, how in _HEADERS:
                m = pattern.match(text)
                if m:
                    self._pending = (m["stage"], how)
                    return
            m = _FAILED.match(text)
            if m:
                self.failed, self.error = m["stage"], text
            if _TRAILER.match(text):
                self.outside.append(text)
                self._drain()
                return
            yield line
        self._done = True

    def _drain(self) -> None:
        for line in self.lines:
            text = line.rstrip("\r\n")
            m = _FAILED.match(text)
            if m:
                self.failed, self.error = m["stage"], text
            self.outside.append(text)
        self._done = True


LOCK = Path(".dvc") / "tmp" / "forja-pipeline.lock"


@contextmanager
def pipeline_lock(root: Path, holder: str) -> Iterator[None]:
    """One pipeline run at a time per project (an OS file lock: released if the run dies).
    A second run is refused at once, with who holds it; served deployments queue instead
    (their concurrency limit), so they never get here while one runs."""
    path = root / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            who = f.read().strip() or "unknown"
            raise PipelineError(f"another forja pipeline run is in progress in {root} ({who}); "
                                "wait for it to finish, or cancel it in the Prefect UI") from None
        try:
            f.seek(0)
            f.truncate()
            f.write(holder + "\n")
            f.flush()
            yield
        finally:
            f.seek(0)
            f.truncate()
            fcntl.flock(f, fcntl.LOCK_UN)


def experiment_json(root: Path, name: str, path: str) -> dict | None:
    """A JSON file (a stage's metrics) as an experiment committed it, or None when that
    experiment or file does not exist. Read from the experiment's git ref, so it works for
    `--temp` and queued runs, whose folders are gone."""
    ref = experiment_refs(root).get(name)
    if ref is None:
        return None
    out = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=root, capture_output=True, text=True, timeout=60)
    try:
        return json.loads(out.stdout) if out.returncode == 0 else None
    except ValueError:
        return None
