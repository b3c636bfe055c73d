"""tokenizer: train the sentencepiece BPE tokenizer on a sample of the cleaned text.

    python -m flows.tokenizer

Writes data/tokenizer/tokenizer.model (+ .vocab), metrics/tokenizer.json
(vocab size, bytes per token per language on held-out documents) and
reports/tokenizer.md (sample tokenizations).
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from prefect import flow, task

from llm_core.data.documents import read_shards
from llm_core.data.tokenize import split_of, tokenizer_sample
from llm_core.tokenizer import Tokenizer, train_tokenizer

from llm_core.atomic import atomic_dir
from llm_core.params.split import SplitParams
from llm_core.params.tokenizer import TokenizerParams

from .common import log, run_stage, stage_params, stage_timer, write_metrics, write_report

SHARDS = Path("data/clean/shards")
OUT = Path("data/tokenizer")


@task(name="train-tokenizer")
def train(p: TokenizerParams, split: SplitParams, out: Path) -> Path:
    texts = tokenizer_sample(SHARDS, split.seed, split.val_fraction, p.sample_bytes)
    tok = train_tokenizer(texts, out / "tokenizer", vocab_size=p.vocab_size, character_coverage=p.character_coverage)
    return Path(tok.path)


@task(name="measure-tokenizer")
def measure(model_path: Path, split: SplitParams, heldout_docs: int) -> tuple[dict, list]:
    """Bytes per token per language on held-out (validation) documents."""
    tok = Tokenizer.load(model_path)
    texts: dict[str, list[str]] = defaultdict(list)
    for d in read_shards(SHARDS):
        lang = d.meta.get("lang", "?")
        if split_of(d.id, split.seed, split.val_fraction) == "val" and len(texts[lang]) < heldout_docs:
            texts[lang].append(d.text)
    metrics = {"vocab_size": tok.vocab_size}
    for lang, docs in sorted(texts.items()):
        metrics[f"bytes_per_token_{lang}"] = round(tok.bytes_per_token(docs), 4)
        metrics[f"heldout_docs_{lang}"] = len(docs)
    samples = [(lang, docs[0][:160]) for lang, docs in sorted(texts.items()) if docs]
    return metrics, [(lang, s, tok.pieces_for(tok.encode(s))) for lang, s in samples]


@flow(name="tokenizer", log_prints=True)
def tokenizer_flow() -> dict:
    p: TokenizerParams = stage_params("tokenizer")
    split: SplitParams = stage_params("split")
    with stage_timer("tokenizer") as timer:
        with atomic_dir(OUT) as tmp:  # the previous tokenizer stays until the new one is measured
            metrics, samples = measure(train(p, split, tmp), split, p.heldout_docs)
        model_path = OUT / "tokenizer.model"
    metrics["seconds"] = timer["seconds"]
    log.info("wrote %s (vocab %d); bytes per token: %s", model_path, metrics["vocab_size"],
             {k: v for k, v in metrics.items() if k.startswith("bytes_per_token")})
    write_metrics("tokenizer", metrics)
    write_report("tokenizer", report(metrics, samples))
    return metrics


def report(metrics: dict, samples: list) -> str:
    lines = ["# Tokenizer", "", f"sentencepiece BPE, {metrics['vocab_size']:,} tokens, byte fallback "
             "(no text is ever unknown).", "", "| language | bytes per token (held-out) |", "| --- | ---: |"]
    lines += [f"| {k.removeprefix('bytes_per_token_')} | {v} |" for k, v in metrics.items() if k.startswith("bytes_per_token_")]
    lines += ["", "## How text is cut", ""]
    for lang, text, pieces in samples:
        shown = " · ".join(p.replace("▁", "␣") for p in pieces[:60])
        lines += [f"**{lang}**: {text!r}", "", f"`{shown}`", f"({len(pieces)} tokens for {len(text.encode())} bytes)", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    run_stage("tokenizer", lambda: (stage_params("tokenizer"), stage_params("split")), tokenizer_flow)


if __name__ == "__main__":
    main()
