"""clean: collected shards -> filtered, deduplicated shards.

    python -m flows.clean

Pass 1 cleans every shard in parallel (a Prefect task per shard: filters and
dedup signatures); pass 2 finds duplicates across all shards; pass 3 rewrites
the shards without them, in parallel again. Every document that came in is
either in the output or counted by the filter that dropped it, and the stage
fails if that identity does not hold.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from prefect import flow, task

from llm_core.data.clean import CleanConfig, apply_drops, check_identity, clean_shard, find_duplicates, merge_stats
from llm_core.data.dedup import sidecar_path
from llm_core.data.documents import shard_paths
from llm_core.params.clean import CleanParams

from .common import fresh_dir, gather, log, run_stage, stage_params, stage_timer, task_runner, write_json, write_metrics, write_report

IN = Path("data/collect/shards")
OUT = Path("data/clean")


@task(name="clean-shard")
def pass1(shard: Path, out: Path, cfg: CleanConfig) -> dict:
    return clean_shard(shard, out, cfg).to_dict()


@task(name="drop-duplicates")
def pass3(shard: Path, out: Path, drops, base: dict, examples: int) -> dict:
    return apply_drops(shard, out, drops, base=base, examples_per_filter=examples).to_dict()


@flow(name="clean", log_prints=True)
def clean_flow() -> dict:
    params: CleanParams = stage_params("clean")
    cfg = params.filters()
    inputs = shard_paths(IN)
    with stage_timer("clean") as timer:
        fresh_dir(OUT)
        stage1, final = fresh_dir(OUT / "pass1"), fresh_dir(OUT / "shards")
        firsts = [pass1.submit(s, stage1 / s.name, cfg) for s in inputs]
        base = gather(firsts, "clean: filter")
        drops = find_duplicates([sidecar_path(stage1 / s.name) for s in inputs], cfg)
        lasts = [pass3.submit(stage1 / s.name, final / s.name, drops, b, cfg.examples_per_filter)
                 for s, b in zip(inputs, base)]
        summary = merge_stats(gather(lasts, "clean: drop duplicates"), cfg.examples_per_filter)
        check_identity(summary)
        shutil.rmtree(stage1)
    summary["seconds"] = timer["seconds"]
    write_json(OUT / "summary.json", summary)
    log.info("read %s; wrote %d documents to %s", f"{len(inputs)} shards from {IN}", summary["documents_out"], OUT / "shards")
    write_metrics("clean", clean_metrics(summary))
    write_report("clean", clean_report(summary))
    return summary


def clean_metrics(s: dict) -> dict:
    m = {k: s[k] for k in ("documents_in", "documents_out", "chars_in", "chars_out", "seconds")}
    m.update({f"dropped_{name.replace(':', '_')}": f["docs_dropped"] for name, f in s["filters"].items()})
    for lang, row in s["languages"].items():
        m[f"{lang}_documents"], m[f"{lang}_bytes"] = row["documents"], row["bytes"]
    replaced = s["filters"].get("scrub_pii", {}).get("replaced") or {}
    m["scrubbed_emails"], m["scrubbed_phones"] = replaced.get("emails", 0), replaced.get("phones", 0)
    return m


def clean_report(s: dict) -> str:
    lines = ["# Clean", "", f"{s['documents_in']:,} documents in, {s['documents_out']:,} out "
             f"({s['chars_out'] / max(1, s['chars_in']):.1%} of the characters kept), {s['seconds']}s.", "",
             "| filter | documents dropped | documents changed | characters removed | reasons |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name, f in s["filters"].items():
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(f["reasons"].items(), key=lambda x: -x[1])[:6])
        lines.append(f"| {name} | {f['docs_dropped']:,} | {f['docs_changed']:,} | {f['chars_removed']:,} | {reasons} |")
    replaced = s["filters"].get("scrub_pii", {}).get("replaced") or {}
    lines += ["", f"scrub_pii replaced {replaced.get('emails', 0):,} e-mail addresses and "
              f"{replaced.get('phones', 0):,} phone numbers."]
    lines += ["", "Input = kept + dropped: "
              f"{s['documents_in']:,} = {s['documents_out']:,} + {sum(f['docs_dropped'] for f in s['filters'].values()):,}", "",
              "## Kept, by language", "", "| lang | documents | bytes |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {v['documents']:,} | {v['bytes']:,} |" for k, v in s["languages"].items()]
    lines += ["", "## Kept, by source", "", "| source | in | out |", "| --- | ---: | ---: |"]
    lines += [f"| {k} | {v['documents_in']:,} | {v['documents_out']:,} |" for k, v in s["sources"].items()]
    lines += ["", "## Examples", ""]
    for name, f in s["filters"].items():
        for e in f["examples"]:
            lines.append(f"- **{name}** `{e.get('id')}`: {e.get('why') or e.get('reason', '')} — {str(e.get('excerpt', ''))[:120]!r}")
    return "\n".join(lines) + "\n"


def main() -> None:
    run_stage("clean", lambda: stage_params("clean"),
              lambda: clean_flow.with_options(task_runner=task_runner(stage_params("clean").task_runner))())


if __name__ == "__main__":
    main()
