"""collect: every source in params.yaml -> Parquet document shards.

    python -m flows.collect        (DVC runs it as the `collect` stage)

Writes data/collect/shards/*.parquet, data/collect/summary.json,
metrics/collect.json and reports/collect.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task

from llm_core.config import ConfigError, from_dict
from llm_core.data.collect import collect_source, merge_summaries
from llm_core.data.sources import SourceError, SourceSpec

from .common import log, write_json, check_keys, fresh_dir, load_params, params_path, setup_logging, stage_timer, task_runner, write_metrics, write_report

OUT = Path("data/collect")
KEYS = {"sources", "on_error", "shard_docs", "cache_dir", "task_runner"}


def parse_sources(raw: Any) -> list[SourceSpec]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{params_path()}: collect.sources must be a non-empty list of sources")
    specs = []
    for i, item in enumerate(raw):
        where = f"{params_path()}: collect.sources[{i}]"
        try:
            specs.append(from_dict(SourceSpec, item, where=where))
        except SourceError as err:
            raise ConfigError(f"{where}: {err}") from None
    labels = [s.label for s in specs]
    if dup := {n for n in labels if labels.count(n) > 1}:
        raise ConfigError(f"{params_path()}: collect.sources: two sources are named {sorted(dup)}; give each a distinct 'name'")
    return specs


@task(name="collect-source")
def collect_one(spec: SourceSpec, out_dir: Path, cache_dir: Path, on_error: str, shard_docs: int) -> dict:
    return collect_source(spec, out_dir, cache_dir, on_error, shard_docs)


@flow(name="collect", log_prints=True)
def collect_flow() -> dict:
    p = load_params("collect")
    check_keys("collect", p, KEYS)
    specs = parse_sources(p.get("sources"))
    on_error = p.get("on_error", "skip")
    if on_error not in ("skip", "error"):
        raise ConfigError(f"{params_path()}: collect.on_error must be 'skip' or 'error', got {on_error!r}")
    cache = Path(p.get("cache_dir", "data/cache"))
    with stage_timer("collect") as timer:
        shards = fresh_dir(OUT / "shards")
        futures = [collect_one.submit(s, shards, cache, on_error, int(p.get("shard_docs", 5000))) for s in specs]
        summary = merge_summaries([f.result() for f in futures])
    summary["seconds"] = timer["seconds"]
    write_json(OUT / "summary.json", summary)
    log.info("read %s; wrote %d documents to %s", [s.label for s in specs], summary["documents"], OUT / "shards")
    write_metrics("collect", collect_metrics(summary))
    write_report("collect", collect_report(summary))
    return summary


def collect_metrics(s: dict) -> dict:
    m = {"documents": s["documents"], "chars": s["chars"], "bytes": s["bytes"], "skipped": s["skipped"],
         "seconds": s["seconds"]}
    for lang, row in sorted(s["languages"].items()):
        m[f"{lang}_documents"], m[f"{lang}_bytes"] = row["documents"], row["bytes"]
    return m


def collect_report(s: dict) -> str:
    lines = ["# Collect", "", f"{s['documents']:,} documents, {s['chars']:,} characters, {s['bytes']:,} bytes "
             f"in {len(s['shards'])} shards ({s['seconds']}s).", "",
             "| source | lang | documents | characters | bytes | skipped |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name, r in s["sources"].items():
        skipped = sum(v["units"] for v in r["skipped"].values())
        lines.append(f"| {name} | {r['lang']} | {r['documents']:,} | {r['chars']:,} | {r['bytes']:,} | {skipped:,} |")
    lines += ["", "## By language", "", "| lang | documents | bytes |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {v['documents']:,} | {v['bytes']:,} |" for k, v in sorted(s["languages"].items())]
    skips = [(n, r, v) for n, src in s["sources"].items() for r, v in src["skipped"].items()]
    if skips:
        lines += ["", "## Skipped (counted, never silent)", ""]
        lines += [f"- {n}: {v['units']:,} × {r}" for n, r, v in skips]
    if s["examples"]:
        lines += ["", "### Examples", ""]
        lines += [f"- `{e['where']}`: {e['reason']} {e['detail']}" for e in s["examples"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    setup_logging()
    p = load_params("collect")
    collect_flow.with_options(task_runner=task_runner(p.get("task_runner")))()


if __name__ == "__main__":
    main()
