"""The whole pipeline as one Prefect flow: one task per DVC stage, as DVC runs them.

    python -m flows.pipeline run [--profile FILE] [--set KEY=VALUE ...] [--experiment NAME]
    python -m flows.pipeline serve [--cron "0 3 * * *"] [--profile FILE] [--set KEY=VALUE ...] [--experiment NAME]

`run` runs the pipeline now: a plain `dvc repro`, or, with overrides or a name, a DVC
experiment (`dvc exp run --temp -n NAME -S KEY=VALUE`) that `dvc exp show` and the
dashboard compare while the workspace keeps its own params and outputs. `serve` (`make
schedule`) serves a deployment, `forja-pipeline/forja`, on a schedule or for runs
triggered from the Prefect UI with other parameters; it runs one at a time (its runs
queue in the UI while one is running), and the size sweep, `forja-sweep/forja` (flows/sweep.py).

DVC decides what is up to date: the flow starts one DVC process and reads what it prints
(flows/dvc_run.py); each stage DVC reaches becomes a task run named after it, whose log is
the stage's own output as it runs, and whose state is the stage's (a failed stage fails
its task and the flow, naming the stage). The flow publishes a summary artifact
(`forja-pipeline`) linking each stage's report and metrics artifacts (`forja-<stage>`,
`forja-<stage>-metrics`, published by the stages themselves).
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote

from flows.dvc_run import (PipelineError, StageOutput, dvc_command, experiment_refs, pipeline_lock, publishes, stages,
                           start, unique_name)
from flows.common import dotted, params_path, read_params, read_sections, setup_logging
from llm_core.config import ConfigError
from llm_core.params import load_section

DEPLOYMENT = "forja"
PROGRESS_EVERY_S = 15.0  # a progress bar redrawn in place reaches the log at most this often


class StageFailed(RuntimeError):
    """A stage that DVC ran and that failed; the message names it and says why."""


@task(name="stage", task_run_name="{stage}", cache_policy=NO_CACHE)
def dvc_stage(stage: str, how: str, output: StageOutput) -> dict[str, Any]:
    """One stage of the running DVC process: its lines into this task's log as they come."""
    logger = get_run_logger()
    logger.info("stage %s: %s", stage, how)
    start_t, last_progress, tail = time.perf_counter(), 0.0, deque(maxlen=12)
    for line, progress in output.stage_lines():
        if not line.strip():
            continue
        if progress:
            if time.perf_counter() - last_progress < PROGRESS_EVERY_S:
                continue
            last_progress = time.perf_counter()
        tail.append(line)
        level, text = _level(line)
        logger.log(level, text)
    seconds = round(time.perf_counter() - start_t, 2)
    if output.failed == stage:
        raise StageFailed(f"stage {stage} failed: {_why(stage, tail, output.error)}")
    return {"stage": stage, "how": how, "seconds": seconds}


_STAMPED = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \| (?P<level>[A-Z]+) *\| (?P<text>.*)$")
_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def _level(line: str) -> tuple[int, str]:
    """A stage's own Prefect console line ("12:00:01.123 | WARNING | ...") keeps its level and
    loses the time and level this log adds again; other lines are INFO."""
    m = _STAMPED.match(line)
    if not m:
        return logging.INFO, line
    return logging.getLevelName(m["level"]) if m["level"] in _LEVELS else logging.INFO, m["text"]



def _why(stage: str, tail: deque, dvc_error: str) -> str:
    """The stage's own sentence (`forja <stage> failed: ...`) when it wrote one, else DVC's."""
    own = [line for line in tail if line.startswith(f"forja {stage} failed:") or line.startswith(f"forja {stage}: ")]
    return own[-1] if own else (dvc_error or (tail[-1] if tail else "no output"))


@flow(name="forja-pipeline", log_prints=True)
def pipeline(overrides: dict[str, Any] | None = None, experiment: str | None = None) -> dict[str, Any]:
    """Run forja's DVC pipeline, one task per stage.

    overrides: params to change for this run, e.g. {"pretrain.train.max_steps": 720}; the run is
        then a DVC experiment and the workspace keeps its own params.
    experiment: the experiment's name ({date} and {time} are replaced, UTC; a name already
        taken gets -2, -3, ...). Empty with no overrides: a plain `dvc repro` in the workspace.
    """
    logger = get_run_logger()
    root = Path.cwd()
    declared = stages(root)
    name = _experiment_name(experiment, root) if experiment else None
    cmd = dvc_command(overrides, name)
    from prefect.runtime import flow_run

    holder = f"flow run {flow_run.get_name()}, pid {os.getpid()}, since {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"
    with pipeline_lock(root, holder):
        logger.info("running %s in %s", " ".join(cmd[2:]), root)
        proc, lines = start(cmd, root)
        output, states = StageOutput(lines), []
        try:
            while (found := output.next_stage()) is not None:
                states.append((found[0], dvc_stage(found[0], found[1], quote(output), return_state=True)))
            code = proc.wait()
        finally:
            if proc.poll() is None:  # the flow stopped early (an error here, Ctrl-C): DVC stops with it
                proc.terminate()
                proc.wait(timeout=60)
    for line in dict.fromkeys(output.outside):  # DVC repeats its ERROR line in an experiment
        if line.strip():
            logger.info(line)
    results = _results(states)
    ran_name = name or _ran_experiment(output.outside)
    _publish_summary(declared, results, cmd, overrides, ran_name, code)
    failed = next((r for r in results if r["state"] == "failed"), None)
    if failed:
        raise StageFailed(failed["message"])
    if code != 0:
        dvc_said = [line for line in output.outside if line.startswith("ERROR")] or output.outside[-3:]
        raise PipelineError(f"DVC stopped before any stage failed (exit {code}): {' '.join(dvc_said)}")
    return {"stages": results, "experiment": ran_name, "command": cmd[2:]}


def _experiment_name(template: str, root: Path) -> str:
    now = datetime.now(timezone.utc)
    try:
        base = template.format(date=f"{now:%Y-%m-%d}", time=f"{now:%H%M%S}")
    except (KeyError, IndexError, ValueError):
        raise ConfigError(f"experiment: {template!r}: only {{date}} and {{time}} can be filled in") from None
    return unique_name(base, set(experiment_refs(root)))


def _ran_experiment(outside: list[str]) -> str | None:
    """The name DVC gave an experiment run without one ("Ran experiment(s): calm-mods")."""
    for line in outside:
        if line.startswith("Ran experiment(s):"):
            return line.split(":", 1)[1].strip() or None
    return None


def _results(states: list) -> list[dict[str, Any]]:
    out = []
    for stage, state in states:
        if state.is_completed():
            out.append({**state.result(), "state": "completed"})
        else:
            err = state.result(raise_on_failure=False)
            out.append({"stage": stage, "how": "ran", "seconds": None, "state": "failed",
                        "message": str(err) if isinstance(err, Exception) else f"stage {stage} failed"})
    return out


def _publish_summary(declared: dict[str, dict], results: list[dict], cmd: list[str], overrides, name, code: int) -> None:
    """Markdown artifact `forja-pipeline`: what ran, how long, links to each stage's artifacts."""
    from prefect.artifacts import create_markdown_artifact

    ui = os.environ.get("PREFECT_UI_URL") or os.environ.get("PREFECT_API_URL", "").removesuffix("/api")
    link = (lambda key: f"[{key}]({ui}/artifacts/key/{key})") if ui.startswith("http") else (lambda key: f"`{key}`")
    reached = {r["stage"]: r for r in results}
    lines = ["# forja pipeline", "", f"`{' '.join(cmd[2:])}`" + (f", experiment **{name}**" if name else ""), ""]
    if overrides:
        lines += ["Overrides: " + ", ".join(f"`{k}={v}`" for k, v in overrides.items()), ""]
    lines += ["| stage | what happened | seconds | report | metrics |", "| --- | --- | ---: | --- | --- |"]
    for stage, spec in declared.items():
        r = reached.get(stage)
        what = ("failed" if r["state"] == "failed" else r["how"]) if r else "not reached"
        secs = f"{r['seconds']:.1f}" if r and r.get("seconds") is not None else ""
        report = link(f"forja-{stage}") if publishes(spec, "report") else ""
        metrics = link(f"forja-{stage}-metrics") if publishes(spec, "metrics") else ""
        lines.append(f"| {stage} | {what} | {secs} | {report} | {metrics} |")
    lines += ["", "DVC " + ("finished" if code == 0 else f"stopped with exit code {code}") + "."]
    create_markdown_artifact(markdown="\n".join(lines) + "\n", key="forja-pipeline", description="forja pipeline run")


# ---- command line -------------------------------------------------------------------------------

def parse_sets(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs, VALUE read as YAML (720 is a number, [0, 1] a list)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. pretrain.train.max_steps=720")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ConfigError(f"--set {item!r}: the value is not valid YAML") from None
    return out


def read_profile(path: str | Path) -> dict[str, Any]:
    """A profile (profiles/gpu.yaml): params.yaml's sections with only the keys it changes,
    as overrides with dotted keys, each section checked with them applied (a wrong key or
    value is named before anything runs)."""
    path = Path(path)
    known = ", ".join(sorted(str(p) for p in Path("profiles").glob("*.yaml"))) or "none"
    overrides = dotted(read_sections(path, f"profile not found (profiles here: {known})"), keep_empty=True)
    params = read_params()
    for key, value in overrides.items():
        *parents, last = key.split(".")
        node = params
        for part in parents:
            node = node.setdefault(part, {}) if isinstance(node, dict) else {}
        node[last] = value
    for section in sorted({key.split(".")[0] for key in overrides}):
        load_section(section, params, where=f"{params_path()} with {path}")
    return overrides


def _serve(args: argparse.Namespace) -> None:
    """Two deployments served by this process: the pipeline (with the schedule) and the size
    sweep (flows/sweep.py, run from the UI), each one run at a time."""
    from prefect import serve
    from prefect.deployments.runner import EntrypointType

    from flows.pipeline import pipeline  # by its module's name, not __main__'s: the entrypoint workers import
    from flows.sweep import sweep

    params = {"overrides": args.overrides, "experiment": args.experiment}
    where = f" on the schedule {args.cron!r} (UTC)" if args.cron else " for runs triggered from the UI"
    print(f"forja: serving {pipeline.name}/{DEPLOYMENT}{where} and {sweep.name}/{DEPLOYMENT}; Ctrl-C stops them",
          flush=True)
    serve(pipeline.to_deployment(name=DEPLOYMENT, cron=args.cron or None, parameters=params, concurrency_limit=1,
                                 entrypoint_type=EntrypointType.MODULE_PATH,
                                 description="forja's DVC pipeline, one task per stage; overrides make it a DVC experiment"),
          sweep.to_deployment(name=DEPLOYMENT, concurrency_limit=1, entrypoint_type=EntrypointType.MODULE_PATH,
                              description="the pipeline at each size of params.yaml's sweep section"),
          pause_on_shutdown=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flows.pipeline", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, text in (("run", "run the pipeline now"), ("serve", "serve a deployment (schedule, UI runs)")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--profile", default=None, metavar="FILE",
                       help="a profile's overrides, e.g. profiles/gpu.yaml (--set wins over it)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a params override (repeatable)")
        p.add_argument("--experiment", default=None, help="the DVC experiment's name ({date}, {time} filled in)")
        if name == "serve":
            p.add_argument("--cron", default=None, help='e.g. "0 3 * * *" (every night at 03:00 UTC)')
    args = ap.parse_args(argv)
    setup_logging("pipeline")  # tracebacks go to logs/pipeline.log; the console gets one line each
    if not os.environ.get("PREFECT_API_URL"):
        from flows.server import main as with_server  # one server for the run, as `make run` does

        return with_server([sys.executable, "-m", "flows.pipeline", *(argv if argv is not None else sys.argv[1:])])
    try:
        if args.profile:  # a profile run is an experiment named after it
            args.overrides = {**read_profile(args.profile), **parse_sets(args.set)}
            args.experiment = args.experiment or f"{Path(args.profile).stem}-{{date}}-{{time}}"
        else:
            args.overrides = parse_sets(args.set)
        if args.command == "serve":
            _serve(args)
        else:
            pipeline(overrides=args.overrides, experiment=args.experiment)
    except KeyboardInterrupt:
        print("forja pipeline: interrupted", file=sys.stderr)
        return 130
    except (StageFailed, PipelineError, ConfigError) as err:
        print(f"forja pipeline failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
