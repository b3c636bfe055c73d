"""What every stage shares: params.yaml, where outputs go, metrics, reports.

Stages run from the project root (DVC runs them there), so paths are relative
to the working directory; FORJA_PARAMS points elsewhere for tests.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import yaml

from llm_core.config import ConfigError

log = logging.getLogger("forja.flows")


def params_path() -> Path:
    return Path(os.environ.get("FORJA_PARAMS", "params.yaml"))


def load_params(section: str) -> dict[str, Any]:
    """One top-level section of params.yaml, checked to be a mapping."""
    path = params_path()
    if not path.exists():
        raise FileNotFoundError(f"{path}: params file not found (run from the project root)")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if section not in data:
        raise ConfigError(f"{path}: no section {section!r}; it has {', '.join(data) or 'nothing'}")
    value = data[section]
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: section {section!r} must be a mapping, got {type(value).__name__}")
    return value


def check_keys(section: str, values: dict[str, Any], allowed: set[str]) -> None:
    """Unknown keys are errors: a typo must not silently fall back to a default."""
    for key in values:
        if key not in allowed:
            raise ConfigError(f"{params_path()}: unknown key {section}.{key}; valid keys: {', '.join(sorted(allowed))}")


def fresh_dir(path: str | Path) -> Path:
    """A stage owns its output folder: clear it so no stale file survives a rerun."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def without_timing(data):
    """A copy without `seconds` keys: data outputs must be byte-identical when the
    inputs are, or DVC would rerun every later stage after a no-change rerun."""
    if isinstance(data, dict):
        return {k: without_timing(v) for k, v in data.items() if k != "seconds"}
    if isinstance(data, list):
        return [without_timing(v) for v in data]
    return data


def write_json(path: str | Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(without_timing(data), indent=2, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def write_loss_csv(run: Path, out: Path, columns: list[str]) -> list[dict]:
    """The training loop's metrics.jsonl as a CSV for `dvc plots`; returns the rows.
    Rows without an evaluation leave val_loss empty."""
    import csv

    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    fmt = {"train_loss": "{:.4f}", "val_loss": "{:.4f}", "lr": "{:.6g}"}
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if r.get(c) is None else fmt.get(c, "{}").format(r[c]) for c in columns])
    return rows


def write_metrics(stage: str, metrics: dict[str, Any]) -> Path:
    path = Path("metrics") / f"{stage}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return path


def write_report(stage: str, markdown: str, artifact: bool = True) -> Path:
    """The stage's report for people: a file, and the same text as a Prefect artifact."""
    path = Path("reports") / f"{stage}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown)
    if artifact:
        try:
            from prefect.artifacts import create_markdown_artifact

            create_markdown_artifact(markdown=markdown, key=f"forja-{stage}", description=f"forja {stage} report")
        except Exception as err:  # outside a flow run there is nowhere to publish; the file is enough
            log.debug("no Prefect artifact for %s: %s", stage, err)
    return path


@contextmanager
def stage_timer(stage: str) -> Iterator[dict[str, float]]:
    """Logs how long a stage took; the dict gets `seconds` when it ends."""
    info: dict[str, float] = {}
    start = time.perf_counter()
    log.info("%s: started", stage)
    yield info
    info["seconds"] = round(time.perf_counter() - start, 2)
    log.info("%s: finished in %.1fs", stage, info["seconds"])


def task_runner(kind: str | None, workers: int | None = None):
    """`threads` (default) runs tasks in this process; `dask` on a Dask cluster
    (a LocalCluster, or the scheduler named by FORJA_DASK_ADDRESS)."""
    kind = kind or "threads"
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers or os.cpu_count())
    if kind == "dask":
        from prefect_dask import DaskTaskRunner

        address = os.environ.get("FORJA_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers or os.cpu_count(), "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    raise ConfigError(f"{params_path()}: task_runner must be 'threads' or 'dask', got {kind!r}")


def setup_logging() -> None:
    """INFO lines from the library and the stages. Prefect attaches its console
    and API handlers to these loggers (PREFECT_LOGGING_EXTRA_LOGGERS)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("llm_core", "forja"):
        logging.getLogger(name).setLevel(logging.INFO)
