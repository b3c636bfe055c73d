"""collect: every source in params.yaml -> Parquet document shards.

    python -m flows.collect        (DVC runs it as the `collect` stage)

Writes data/collect/shards/*.parquet, data/collect/summary.json,
metrics/collect.json and reports/collect.md.
"""
from __future__ import annotations

from pathlib import Path
from prefect import flow, task

from llm_core.data.collect import collect_source, merge_summaries, write_aligned_verses
from llm_core.data.sources import SUFFIXES, SourceError, SourceSpec, source_files
from llm_core.params.collect import CollectParams

from .common import fresh_dir, gather, log, params_path, run_stage, stage_params, stage_timer, task_runner, write_json, write_metrics, write_report

OUT = Path("data/collect")


@task(name="collect-source")
def collect_one(spec: SourceSpec, out_dir: Path, cache_dir: Path, on_error: str, shard_docs: int) -> dict:
    return collect_source(spec, out_dir, cache_dir, on_error, shard_docs)


@task(name="aligned-verses")
def verses(out: Path, cache_dir: Path) -> int | None:
    return write_aligned_verses(out, cache_dir)


@flow(name="collect", log_prints=True)
def collect_flow() -> dict:
    cfg: CollectParams = stage_params("collect")
    with stage_timer("collect") as timer:
        shards = fresh_dir(OUT / "shards")
        futures = [collect_one.submit(s, shards, Path(cfg.cache_dir), cfg.on_error, cfg.shard_docs) for s in cfg.sources]
        summary = merge_summaries(gather(futures, "collect: sources", unit="source"))
        # after the sources: the default corpus may be fetching the same packages
        summary["aligned_verses"] = verses(OUT / "aligned_verses.jsonl", Path(cfg.cache_dir))
    summary["seconds"] = timer["seconds"]
    write_json(OUT / "summary.json", summary)
    log.info("read %s; wrote %d documents to %s", [s.label for s in cfg.sources], summary["documents"], OUT / "shards")
    write_metrics("collect", collect_metrics(summary))
    write_report("collect", collect_report(summary))
    return summary


def collect_metrics(s: dict) -> dict:
    m = {"documents": s["documents"], "chars": s["chars"], "bytes": s["bytes"], "skipped": s["skipped"],
         "aligned_verses": s["aligned_verses"] or 0, "seconds": s["seconds"]}
    for lang, row in sorted(s["languages"].items()):
        m[f"{lang}_documents"], m[f"{lang}_bytes"] = row["documents"], row["bytes"]
    return m


def aligned_line(n: int | None) -> str:
    if n is None:
        return "No aligned Bible verses (the Debian packages are not available here): fine-tuning has no translate task."
    return f"{n:,} aligned Spanish-English Bible verse pairs (RV1909 and KJV) for fine-tuning's translate task."


def collect_report(s: dict) -> str:
    lines = ["# Collect", "", f"{s['documents']:,} documents, {s['chars']:,} characters, {s['bytes']:,} bytes "
             f"in {len(s['shards'])} shards ({s['seconds']}s).", "", aligned_line(s["aligned_verses"]), "",
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


def check() -> CollectParams:
    """Every param, and that every local source names files that exist, before any work."""
    cfg: CollectParams = stage_params("collect")
    for i, spec in enumerate(cfg.sources):
        if spec.kind in SUFFIXES:
            try:
                source_files(spec)
            except SourceError as err:
                raise SourceError(f"{params_path()}: collect.sources[{i}] ({spec.label}): {err}") from None
    return cfg


def main() -> None:
    run_stage("collect", check,
              lambda: collect_flow.with_options(task_runner=task_runner(stage_params("collect").task_runner))())


if __name__ == "__main__":
    main()
