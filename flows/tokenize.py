"""tokenize: cleaned shards -> train.bin / val.bin (memory-mapped token ids).

    python -m flows.tokenize

Shards are encoded in parallel (one Prefect task per shard), then joined in
shard order, so the output does not depend on which task finished first.
Writes data/tokenize/{train,val}.{bin,json} and metrics/tokenize.json.
"""
from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from llm_core.data.documents import shard_paths
from llm_core.data.tokenize import concat_token_files, encode_shard
from llm_core.params.split import SplitParams
from llm_core.params.tokenize import TokenizeParams
from llm_core.tokenizer import Tokenizer

from .common import fresh_dir, gather, log, run_stage, stage_params, stage_timer, task_runner, write_metrics, write_report

SHARDS = Path("data/clean/shards")
TOKENIZER = Path("data/tokenizer/tokenizer.model")
OUT = Path("data/tokenize")


@task(name="encode-shard")
def encode(shard: Path, parts: Path, seed: int, val_fraction: float, batch_docs: int) -> dict:
    return encode_shard(shard, Tokenizer.load(TOKENIZER), parts, seed, val_fraction, batch_docs)


@flow(name="tokenize", log_prints=True)
def tokenize_flow() -> dict:
    p: TokenizeParams = stage_params("tokenize")
    split: SplitParams = stage_params("split")
    shards = shard_paths(SHARDS)
    vocab = Tokenizer.load(TOKENIZER).vocab_size
    with stage_timer("tokenize") as timer:
        parts = fresh_dir(OUT / "parts")
        futures = [encode.submit(s, parts, split.seed, split.val_fraction, p.batch_docs) for s in shards]
        gather(futures, "tokenize: encode")
        metas = {}
        for name in ("train", "val"):
            files = [parts / f"{s.stem}.{name}.bin" for s in shards]
            metas[name] = concat_token_files(files, OUT / f"{name}.bin", vocab, tokenizer=str(TOKENIZER))
        parts.rmdir()
    metrics = {f"{s}_{k}": v for s, m in metas.items() for k, v in m.items() if isinstance(v, int) and k != "vocab_size"}
    metrics.update(vocab_size=vocab, seconds=timer["seconds"])
    log.info("read %d shards from %s; wrote %s (%d tokens) and %s (%d tokens)", len(shards), SHARDS,
             OUT / "train.bin", metas["train"]["tokens"], OUT / "val.bin", metas["val"]["tokens"])
    write_metrics("tokenize", metrics)
    write_report("tokenize", report(metas))
    return metrics


def report(metas: dict) -> str:
    lines = ["# Tokenize", "", "| split | documents | tokens | bytes | bytes/token |", "| --- | ---: | ---: | ---: | ---: |"]
    for s, m in metas.items():
        lines.append(f"| {s} | {m['documents']:,} | {m['tokens']:,} | {m['bytes']:,} | {m['bytes'] / max(1, m['tokens']):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    run_stage("tokenize", lambda: (stage_params("tokenize"), stage_params("split")),
              lambda: tokenize_flow.with_options(task_runner=task_runner(stage_params("tokenize").task_runner))())


if __name__ == "__main__":
    main()
