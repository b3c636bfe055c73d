"""sweep: what more parameters buy. The whole pipeline at several model sizes, each run a
DVC experiment through the pipeline flow, then one table and one plot of the curve.

    python -m flows.sweep [--budget tokens|seconds ...] [--seconds S] [--set KEY=VALUE ...]
    make sweep

The sizes, budgets and shared overrides are the `sweep` section of params.yaml
(llm_core/params/sweep.py); the flow's parameters replace them for one sweep (from the
command line or a run of the `forja-sweep/forja` deployment). Under the token budget every
size trains `pretrain.train.max_steps` steps; under the seconds budget every size trains
as long as the default model does (or `seconds`), its steps set from a step timed here
(llm_core/scaling.py). Each run is named `sweep-<budget>-d<dim>-l<layers>`.

Writes plots/sweep/sizes.csv (one row per run: parameters, tokens, compute, seconds, bits
per byte, chat task accuracy), plots/sweep/sizes.svg and reports/sweep.md, and publishes
them as the artifacts `forja-sweep` and `forja-sweep-metrics`. The dashboard's Parameters
lesson reads the table. Needs the workspace's token files (a `make run` first).
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import read_params, setup_logging, write_csv, write_report
from flows.dvc_run import PipelineError, experiment_json
from flows.pipeline import StageFailed, parse_sets, pipeline
from llm_core import plots, scaling
from llm_core.config import ConfigError, ModelConfig
from llm_core.data.tokens import TokenFile
from llm_core.params import load_section
from llm_core.params.pretrain import PretrainParams
from llm_core.params.sweep import SweepParams, SweepSize

TOKENS = Path("data/tokenize/train.bin")
OUT = Path("plots/sweep/sizes.csv")
COLUMNS = ["budget", "size", "experiment", "parameters", "steps", "tokens", "compute_flops", "pretrain_seconds",
           "val_loss", "bits_per_byte", "chat_macro"]
LABELS = {"parameters": "parameters", "pretrain_seconds": "pre-training seconds",
          "bits_per_byte": "validation bits per byte (lower is better)", "chat_macro": "chat task accuracy (0-shot)",
          "budget": "budget"}


def sweep_params(budgets: list[str] | None, seconds: float | None, overrides: dict | None) -> SweepParams:
    """params.yaml's `sweep` section, with what this run replaces, checked as params.yaml is."""
    raw = dict(read_params().get("sweep") or {})
    for key, value in (("budgets", budgets), ("seconds", seconds), ("overrides", overrides)):
        if value is not None:
            raw[key] = value
    return load_section("sweep", {"sweep": raw}, where="sweep")


def pretrain_params(overrides: dict[str, Any]) -> PretrainParams:
    """The pre-training config every run starts from: params.yaml with the sweep's overrides."""
    params = copy.deepcopy(read_params())
    for key, value in overrides.items():
        section, *path = key.split(".")
        node = params.setdefault(section, {})
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if path:
            node[path[-1]] = value
    return load_section("pretrain", params)


def size_overrides(size: SweepSize) -> dict[str, int]:
    return {f"pretrain.model.{k}": getattr(size, k) for k in ("dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim")}


@task(name="time-a-step", task_run_name="time-a-step-{label}", cache_policy=NO_CACHE)
def time_a_step(label: str, model_cfg: ModelConfig, pre: PretrainParams) -> float:
    per_step = scaling.seconds_per_step(model_cfg, pre.train, TokenFile(TOKENS))
    get_run_logger().info("%s: %.3f s a step", label, per_step)
    return per_step


@flow(name="forja-sweep", log_prints=True)
def sweep(budgets: list[str] | None = None, seconds: float | None = None,
          overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The pipeline at each size of params.yaml's `sweep` section, under each budget.

    budgets: "tokens", "seconds" or both (default: the section's).
    seconds: pre-training's wall clock under the seconds budget (0: the default model's time).
    overrides: params for every run, e.g. {"finetune.train.max_steps": 400}.
    """
    logger = get_run_logger()
    p = sweep_params(budgets, seconds, overrides)
    pre = pretrain_params(p.overrides)
    vocab = TokenFile(TOKENS).vocab_size if TOKENS.exists() else None
    if vocab is None:
        raise PipelineError(f"{TOKENS}: not found; the sweep starts from the workspace's token files (run `make run` first)")
    shape = lambda size: dataclasses.replace(pre.with_vocab(vocab), **{k.rsplit(".", 1)[1]: v  # noqa: E731
                                                                     for k, v in size_overrides(size).items()})
    budget_s = 0.0
    if "seconds" in p.budgets:
        budget_s = p.seconds or time_a_step("default", pre.with_vocab(vocab), pre) * pre.train.max_steps
        logger.info("seconds budget: %.0f s of pre-training for every size", budget_s)
    runs = []
    for budget in p.budgets:
        for size in p.sizes:
            extra = size_overrides(size)
            if budget == "seconds":
                per_step = time_a_step(size.label, shape(size), pre)
                extra["pretrain.train.max_steps"] = scaling.steps_for_seconds(budget_s, per_step)
            state = pipeline(overrides={**p.overrides, **extra}, experiment=f"sweep-{budget}-{size.label}",
                             return_state=True)
            runs.append((budget, size, state))
    rows = [_row(budget, size, state) for budget, size, state in runs]
    _publish(rows, budget_s)
    failed = [r["size"] + " (" + r["budget"] + ")" for r in rows if not r["experiment"]]
    if failed:
        raise StageFailed(f"the pipeline failed at {', '.join(failed)}; the others are in {OUT}")
    return rows


def _row(budget: str, size: SweepSize, state) -> dict[str, Any]:
    row = {"budget": budget, "size": size.label, "experiment": ""}
    if not state.is_completed():
        return row
    name = state.result()["experiment"]
    pre = experiment_json(Path.cwd(), name, "metrics/pretrain.json") or {}
    ev = experiment_json(Path.cwd(), name, "metrics/evaluate.json") or {}
    n, tokens = pre.get("parameters"), pre.get("tokens_seen")
    return {**row, "experiment": name, "parameters": n, "steps": pre.get("steps"), "tokens": tokens,
            "compute_flops": f"{scaling.training_flops(n, tokens):.3g}" if n and tokens else None,
            "pretrain_seconds": pre.get("train_seconds"), "val_loss": pre.get("val_loss"),
            "bits_per_byte": ev.get("base_bits_per_byte"), "chat_macro": ev.get("chat_0shot_macro")}


def _publish(rows: list[dict], budget_s: float) -> None:
    write_csv(OUT, COLUMNS, [[r.get(c) for c in COLUMNS] for r in rows])
    done = [r for r in rows if r["experiment"]]
    svg = plots.scatter_grid_svg(done, ["parameters", "pretrain_seconds"], ["bits_per_byte", "chat_macro"], "budget",
                                 "What more parameters buy", labels=LABELS, log_x=("parameters",))
    plots.write_svg(OUT.with_suffix(".svg"), svg)
    write_report("sweep", _report(rows, budget_s))  # reports/sweep.md and the artifact forja-sweep
    from prefect.artifacts import create_table_artifact

    create_table_artifact(table=[{c: r.get(c) for c in COLUMNS} for r in rows], key="forja-sweep-metrics",
                          description="forja size sweep: one row per run")


def _report(rows: list[dict], budget_s: float) -> str:
    how = ("every size sees the same tokens, so a bigger one costs more compute (C ≈ 6·N·D)"
           + (f"; under the seconds budget every size trains about {budget_s:.0f} s, so a bigger one sees fewer "
              "tokens" if budget_s else ""))
    lines = ["# What more parameters buy", "",
             f"The whole pipeline at each size, each run a DVC experiment (`dvc exp show`). Under the token budget {how}.",
             "", "| budget | size | parameters | tokens | compute (FLOPs) | pre-training s | bits per byte | chat accuracy "
             "| experiment |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        if not r["experiment"]:
            lines.append(f"| {r['budget']} | {r['size']} | | | | | | | failed |")
            continue
        acc = f"{r['chat_macro']:.1%}" if isinstance(r.get("chat_macro"), float) else ""
        bpb = f"{r['bits_per_byte']:.3f}" if isinstance(r.get("bits_per_byte"), float) else ""
        lines.append(f"| {r['budget']} | {r['size']} | {r['parameters']:,} | {r['tokens']:,} | {r['compute_flops']} | "
                     f"{r['pretrain_seconds']} | {bpb} | {acc} | {r['experiment']} |")
    return "\n".join(lines + ["", "![The curve](../plots/sweep/sizes.svg)", ""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m flows.sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--budget", action="append", choices=["tokens", "seconds"], help="tokens, seconds or both")
    ap.add_argument("--seconds", type=float, default=None, help="pre-training seconds under the seconds budget")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="an override for every run")
    args = ap.parse_args(argv)
    setup_logging("sweep")
    if not os.environ.get("PREFECT_API_URL"):
        from flows.server import main as with_server

        return with_server([sys.executable, "-m", "flows.sweep", *(argv if argv is not None else sys.argv[1:])])
    try:
        sweep(budgets=args.budget, seconds=args.seconds, overrides=parse_sets(args.set) or None)
    except KeyboardInterrupt:
        print("forja sweep: interrupted", file=sys.stderr)
        return 130
    except (StageFailed, PipelineError, ConfigError, scaling.ScalingError) as err:
        print(f"forja sweep failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
