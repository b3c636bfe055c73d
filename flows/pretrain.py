"""pretrain: train the base model from scratch on the token files.

    python -m flows.pretrain

The run lives in data/cache/pretrain/<config hash>/ (checkpoints, metrics), so
a rerun after a crash resumes where it stopped, and a changed config starts a
fresh run instead of resuming an incompatible one. When training ends the
checkpoint is published to models/base/, with metrics/pretrain.json,
plots/pretrain/loss.csv and reports/pretrain.md (samples at every evaluation).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from prefect import flow, task

from llm_core.atomic import atomic_dir, write_text
from llm_core.config import ModelConfig, SampleConfig, TrainConfig, to_dict
from llm_core.data.loader import TokenWindows
from llm_core.data.tokens import TokenFile
from llm_core.model import Transformer
from llm_core.params.pretrain import PretrainParams, PromptSamples
from llm_core.sample import generate
from llm_core.tokenizer import Tokenizer
from llm_core.train import train

from .common import log, run_stage, stage_params, stage_timer, write_loss_csv, write_metrics, write_report

TOKENS = Path("data/tokenize")
TOKENIZER = Path("data/tokenizer/tokenizer.model")
RUNS = Path("data/cache/pretrain")
OUT = Path("models/base")


def run_dir(model: ModelConfig, train_cfg: TrainConfig, train_meta: dict) -> Path:
    """Same config and data -> same folder -> resume; anything else -> a fresh run."""
    key = json.dumps([to_dict(model), to_dict(train_cfg), train_meta["tokens"], train_meta["bytes"]], sort_keys=True)
    return RUNS / hashlib.sha256(key.encode()).hexdigest()[:12]


class SampleWriter:
    """At each evaluation, continue the fixed prompts: how the text improves is the story.

    A resumed run evaluates again at steps it had reached before the crash; rows of
    this step or later are replaced, so each step's samples appear once."""

    def __init__(self, tokenizer: Tokenizer, cfg: PromptSamples, path: Path):
        self.tok, self.path = tokenizer, path
        self.prompts = list(cfg.prompts)
        self.cfg: SampleConfig = cfg.sample_config()

    def __call__(self, event: str, info: dict) -> None:
        if event != "eval" or not self.prompts:
            return
        new = []
        for prompt in self.prompts:  # on every rank: a sharded model's forward needs them all
            ids = self.tok.encode(prompt, bos=True)
            out = generate(info["model"], ids, self.cfg, stop_ids=[self.tok.bos_id, self.tok.eos_id])
            new.append({"step": info["step"], "tokens": info["tokens"], "prompt": prompt, "text": self.tok.decode(out.ids)})
        if info.get("main", True):
            rows = [r for r in read_samples(self.path) if r["step"] < info["step"]] + new
            write_text(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_samples(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


@task(name="train-base-model")
def train_base(model_cfg: ModelConfig, train_cfg: TrainConfig, samples: PromptSamples, run: Path) -> dict:
    return train_run(model_cfg, train_cfg, samples, run)


def train_run(model_cfg: ModelConfig, train_cfg: TrainConfig, samples: PromptSamples, run: Path) -> dict:
    """The training itself; under torchrun every rank runs it, rank 0 inside the flow."""
    main = os.environ.get("RANK", "0") in ("", "0")
    tok = Tokenizer.load(TOKENIZER)
    train_tokens, val_tokens = TokenFile(TOKENS / "train.bin"), TokenFile(TOKENS / "val.bin")
    run.mkdir(parents=True, exist_ok=True)
    import torch

    torch.manual_seed(train_cfg.seed)
    model = Transformer(model_cfg)
    data = TokenWindows(train_tokens, train_cfg.seq_len, train_cfg.batch_size, seed=train_cfg.seed)
    val = TokenWindows(val_tokens, train_cfg.seq_len, train_cfg.batch_size, eval_batches=train_cfg.eval_batches)
    writer = SampleWriter(tok, samples, run / "samples.jsonl")
    if main and not (run / "checkpoint").exists():
        (run / "samples.jsonl").unlink(missing_ok=True)
    log.info("pretrain: %.2fM parameters, %d steps of %d tokens (%.1f epochs of %d train tokens), run folder %s",
             model.num_params() / 1e6, train_cfg.max_steps, train_cfg.tokens_per_step,
             train_cfg.max_steps * train_cfg.tokens_per_step / max(1, len(train_tokens)), len(train_tokens), run)
    result = train(model, train_cfg, data, val, out_dir=run, callbacks=[writer], tokenizer_path=TOKENIZER,
                   extra_state={"stage": "pretrain"})
    return {"steps": result.steps, "tokens_seen": result.tokens_seen, "train_loss": round(result.train_loss, 4),
            "val_loss": round(result.val_loss, 4) if result.val_loss is not None else None,
            "train_seconds": round(result.seconds, 1), "resumed_from_step": result.resumed_from,
            "parameters": model.num_params()}


def publish(run: Path) -> None:
    """Copy the final checkpoint to models/base, without the optimizer state. The
    folder is swapped in whole: a crash leaves the previous base model, never none."""
    with atomic_dir(OUT) as tmp:
        shutil.copytree(run / "checkpoint", tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("trainer.safetensors"))
        if (run / "samples.jsonl").exists():
            shutil.copy(run / "samples.jsonl", tmp / "samples.jsonl")


def settings() -> tuple[PretrainParams, ModelConfig, Path]:
    """The section, the model's config (its vocabulary from the tokenizer) and the run folder."""
    cfg: PretrainParams = stage_params("pretrain")
    model_cfg = cfg.with_vocab(Tokenizer.load(TOKENIZER).vocab_size)
    return cfg, model_cfg, run_dir(model_cfg, cfg.train, TokenFile(TOKENS / "train.bin").meta)


@flow(name="pretrain", log_prints=True)
def pretrain_flow() -> dict:
    cfg, model_cfg, run = settings()
    with stage_timer("pretrain") as timer:
        metrics = train_base(model_cfg, cfg.train, cfg.samples, run)
        publish(run)
        rows = write_loss_csv(run, Path("plots/pretrain/loss.csv"), ["step", "tokens", "train_loss", "val_loss", "lr"],
                              "Pre-training loss", x="tokens")
    speeds = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    metrics.update(seconds=timer["seconds"], tokens_per_s=round(sorted(speeds)[len(speeds) // 2]) if speeds else 0)
    write_metrics("pretrain", metrics)
    write_report("pretrain", report(metrics, read_samples(run / "samples.jsonl")))
    log.info("read %s; wrote %s, metrics/pretrain.json, plots/pretrain/loss.csv", TOKENS, OUT)
    return metrics


def report(m: dict, samples: list[dict]) -> str:
    lines = ["# Pretrain", "", f"{m['parameters']:,} parameters, {m['steps']:,} steps, {m['tokens_seen']:,} tokens seen "
             f"in {m['train_seconds']}s ({m['tokens_per_s']:,} tokens/s).", "",
             f"Final train loss {m['train_loss']}, validation loss {m['val_loss']}.", "",
             "![Loss against tokens seen](../plots/pretrain/loss.svg)", "", "## Samples as training went on", ""]
    for step in sorted({s["step"] for s in samples}):
        lines.append(f"### step {step}")
        lines += [f"- **{s['prompt']}**{s['text']}".replace("\n", " ⏎ ") for s in samples if s["step"] == step]
        lines.append("")
    return "\n".join(lines) + "\n"


def other_rank() -> None:
    """A torchrun rank other than 0: its share of the training; rank 0 writes everything."""
    cfg, model_cfg, run = settings()
    train_run(model_cfg, cfg.train, cfg.samples, run)


def main() -> None:
    run_stage("pretrain", lambda: stage_params("pretrain"), pretrain_flow, other_rank)


if __name__ == "__main__":
    main()
