"""What every stage shares: params.yaml, where outputs go, metrics, reports.

Stages run from the project root (DVC runs them there), so paths are relative
to the working directory; FORJA_PARAMS points elsewhere for tests.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from llm_core import atomic, plots
from llm_core.config import ConfigError
from llm_core.params import load_section

log = logging.getLogger("forja.flows")


def params_path() -> Path:
    return Path(os.environ.get("FORJA_PARAMS", "params.yaml"))


def read_params() -> dict[str, Any]:
    """params.yaml as a dict of sections; a missing or broken file is one sentence."""
    return read_sections(params_path(), "params file not found (run from the project root)")


def read_sections(path: Path, missing: str) -> dict[str, Any]:
    """A YAML file of params.yaml's sections (params.yaml itself, or a profile's overrides);
    a missing one says `missing`, a broken one what is wrong, in one sentence each."""
    if not path.exists():
        raise ConfigError(f"{path}: {missing}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected sections (collect, clean, ...), got {type(data).__name__}")
    return data


def stage_params(section: str) -> Any:
    """The typed, checked config of one params.yaml section (llm_core.params)."""
    return load_section(section, read_params(), where=str(params_path()))


def fresh_dir(path: str | Path) -> Path:
    """A scratch folder a stage rebuilds from nothing on every run."""
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
    """A data output: timing keys left out, so an unchanged result is unchanged bytes."""
    return atomic.write_json(path, without_timing(data))


def write_loss_csv(run: Path, out: Path, columns: list[str], title: str, x: str = "step") -> list[dict]:
    """The training loop's metrics.jsonl as a CSV for `dvc plots` and, beside it, the
    same curves as an SVG anyone can open offline; returns the rows. Rows without an
    evaluation leave val_loss empty."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    write_csv(out, columns, [[r.get(c) for c in columns] for r in rows])
    svg = plots.loss_curve_svg(rows, x, ["train_loss", "val_loss"], title, "tokens seen" if x == "tokens" else "step",
                               "cross-entropy (nats/token)", lr="lr", labels={"train_loss": "train", "val_loss": "validation"})
    plots.write_svg(out.with_suffix(".svg"), svg)
    return rows


def write_csv(out: Path, columns: list[str], rows: list[list[Any]]) -> Path:
    """A curve or table for `dvc plots`; None is an empty cell, losses keep 4 decimals."""
    fmt = {"train_loss": "{:.4f}", "val_loss": "{:.4f}", "lr": "{:.6g}"}
    with atomic.atomic_open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in rows:
            w.writerow(["" if v is None else fmt.get(c, "{}").format(v) for c, v in zip(columns, row)])
    return Path(out)


def write_metrics(stage: str, metrics: dict[str, Any]) -> Path:
    """metrics/<stage>.json, and the same figures as a table artifact `forja-<stage>-metrics`
    (the Prefect UI's Artifacts tab keeps each key's history across runs)."""
    path = atomic.write_json(Path("metrics") / f"{stage}.json", metrics)
    rows = [{"metric": k, "value": v} for k, v in dotted(metrics).items()]
    _publish("create_table_artifact", stage, f"forja-{stage}-metrics", f"forja {stage} metrics", table=rows)
    return path


def dotted(data: dict[str, Any], prefix: str = "", keep_empty: bool = False) -> dict[str, Any]:
    """Nested dicts as one level of dotted keys ({"a": {"b": 1}} -> {"a.b": 1}); an empty
    dict is dropped, or kept as a value with `keep_empty` (a param set to {})."""
    out = {}
    for k, v in data.items():
        if isinstance(v, dict) and (v or not keep_empty):
            out.update(dotted(v, f"{prefix}{k}.", keep_empty))
        else:
            out[f"{prefix}{k}"] = v
    return out


def write_report(stage: str, markdown: str, artifact: bool = True) -> Path:
    """The stage's report for people: a file, and the same text as a Prefect artifact `forja-<stage>`."""
    path = atomic.write_text(Path("reports") / f"{stage}.md", markdown)
    if artifact:
        _publish("create_markdown_artifact", stage, f"forja-{stage}", f"forja {stage} report", markdown=markdown)
    return path


def _publish(maker: str, stage: str, key: str, description: str, **content: Any) -> None:
    """A Prefect artifact under a stable lowercase key; outside a flow run there is nowhere to
    publish, and the file is enough."""
    try:
        import prefect.artifacts

        getattr(prefect.artifacts, maker)(key=key, description=description, **content)
    except Exception as err:
        log.debug("no Prefect artifact %s for %s: %s", key, stage, err)


def gather(futures: list, desc: str, unit: str = "shard") -> list:
    """The futures' results in submission order, with a progress bar (stderr) as they
    finish: a stage mapping over shards shows how far it is and its rate."""
    from tqdm import tqdm

    with tqdm(total=len(futures), desc=desc, unit=unit, dynamic_ncols=True, disable=not futures) as bar:
        out = []
        for f in futures:
            out.append(f.result())
            bar.update(1)
    return out


@contextmanager
def stage_timer(stage: str) -> Iterator[dict[str, float]]:
    """Logs how long a stage took; the dict gets `seconds` when it ends."""
    info: dict[str, float] = {}
    start = time.perf_counter()
    log.info("%s: started", stage)
    yield info
    info["seconds"] = round(time.perf_counter() - start, 2)
    log.info("%s: finished in %.1fs", stage, info["seconds"])


def task_runner(kind: str, workers: int | None = None):
    """`threads` (default) runs tasks in this process; `dask` on a Dask cluster
    (a LocalCluster, or the scheduler named by FORJA_DASK_ADDRESS)."""
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers or os.cpu_count())
    if kind == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ConfigError(f"{params_path()}: task_runner: dask needs the dask extra "
                              "(pip install -e '.[dask]'; `make test` installs it)") from None

        address = os.environ.get("FORJA_DASK_ADDRESS")
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers or os.cpu_count(), "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    raise ConfigError(f"{params_path()}: task_runner must be 'threads' or 'dask', got {kind!r}")


LOGS = Path("logs")


def setup_logging(stage: str | None = None) -> Path | None:
    """INFO lines from the library and the stages on the console (Prefect attaches its
    console and API handlers to these loggers: PREFECT_LOGGING_EXTRA_LOGGERS); with a
    stage, every line and every traceback also goes to logs/<stage>.log, and the
    console shows errors without tracebacks."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("llm_core", "forja"):
        logging.getLogger(name).setLevel(logging.INFO)
    if stage is None:
        return None
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            handler.setFormatter(_ShortFormatter(handler.formatter))
    LOGS.mkdir(exist_ok=True)
    path = LOGS / f"{stage}.log"
    file = logging.FileHandler(path, mode="w", encoding="utf-8")
    file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(file)
    return path


class _ShortFormatter(logging.Formatter):
    """Formats a record as the wrapped formatter does, minus any traceback: the
    console gets one line per problem, the log file keeps the details."""

    def __init__(self, inner: logging.Formatter | None):
        super().__init__()
        self.inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        short = logging.makeLogRecord(record.__dict__)
        short.exc_info, short.exc_text, short.stack_info = None, None, None
        message = short.getMessage()
        if "Traceback (most recent call last)" in message:
            message = message.split("Traceback (most recent call last)")[0].rstrip(" :\n")
        short.msg, short.args = message, None
        return self.inner.format(short)


def run_stage(stage: str, check: Callable[[], Any], flow: Callable[[], Any],
              other_rank: Callable[[], Any] | None = None) -> None:
    """The entry point of `python -m flows.<stage>`: check every param first (outside
    Prefect, so a bad key is one sentence, not a flow run), then run the flow. Any
    failure ends with one sentence on stderr that names the stage; the traceback is
    in logs/<stage>.log. Exit status: 0 done, 1 failed, 130 interrupted.

    Under torchrun (flows.launch) rank 0 runs the flow and writes every output; the
    other ranks run `other_rank` instead, their share of the training and nothing
    else, with their own log, logs/<stage>.rank<N>.log."""
    rank = os.environ.get("RANK", "0")
    if rank.strip() not in ("", "0") and other_rank is not None:
        stage, flow = f"{stage}.rank{rank}", other_rank
    log_file = setup_logging(stage)
    try:
        check()
        flow()
    except KeyboardInterrupt:
        print(f"forja {stage}: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as err:  # the one place a stage's error becomes a sentence
        _log_traceback(log_file)
        print(f"forja {stage} failed: {describe(err)} (details: {log_file})", file=sys.stderr)
        sys.exit(1)


def _log_traceback(log_file: Path | None) -> None:
    if log_file is not None:
        import traceback

        with open(log_file, "a", encoding="utf-8") as f:
            traceback.print_exc(file=f)


# Errors whose message is written for a user: shown as they are.
_USER_ERRORS = (ValueError, FileNotFoundError, PermissionError)  # ConfigError, SourceError, ... are ValueErrors


def describe(err: BaseException) -> str:
    if isinstance(err, _USER_ERRORS):
        return str(err) or type(err).__name__
    return f"unexpected {type(err).__name__}: {err}. This is a bug in forja; please report it with the log file"
