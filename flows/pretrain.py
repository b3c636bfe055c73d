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
import shutil
from pathlib import Path

from prefect import flow, task

from llm_core.config import ModelConfig, SampleConfig, TrainConfig, from_dict, to_dict
from llm_core.data.loader import TokenWindows
from llm_core.data.tokens import TokenFile
from llm_core.model import Transformer
from llm_core.sample import generate
from llm_core.tokenizer import Tokenizer
from llm_core.train import train

from .common import write_loss_csv, check_keys, load_params, log, params_path, setup_logging, stage_timer, write_metrics, write_report

TOKENS = Path("data/tokenize")
TOKENIZER = Path("data/tokenizer/tokenizer.model")
RUNS = Path("data/cache/pretrain")
OUT = Path("models/base")
KEYS = {"model", "train", "samples"}
SAMPLE_KEYS = {"prompts", "max_new_tokens", "temperature", "top_k", "seed"}


def configs(p: dict, vocab_size: int) -> tuple[ModelConfig, TrainConfig, dict]:
    where = f"{params_path()}: pretrain"
    if "vocab_size" in (p.get("model") or {}):
        raise ValueError(f"{where}.model.vocab_size: leave it out; it comes from the tokenizer ({vocab_size})")
    model = from_dict(ModelConfig, {**(p.get("model") or {}), "vocab_size": vocab_size}, where=f"{where}.model")
    train_cfg = from_dict(TrainConfig, p.get("train"), where=f"{where}.train")
    samples = p.get("samples") or {}
    check_keys("pretrain.samples", samples, SAMPLE_KEYS)
    if train_cfg.seq_len > model.max_seq_len:
        raise ValueError(f"{where}.train.seq_len ({train_cfg.seq_len}) exceeds model.max_seq_len ({model.max_seq_len})")
    return model, train_cfg, samples


def run_dir(model: ModelConfig, train_cfg: TrainConfig, train_meta: dict) -> Path:
    """Same config and data -> same folder -> resume; anything else -> a fresh run."""
    key = json.dumps([to_dict(model), to_dict(train_cfg), train_meta["tokens"], train_meta["bytes"]], sort_keys=True)
    return RUNS / hashlib.sha256(key.encode()).hexdigest()[:12]


class SampleWriter:
    """At each evaluation, continue the fixed prompts: how the text improves is the story."""

    def __init__(self, tokenizer: Tokenizer, cfg: dict, path: Path):
        self.tok, self.path = tokenizer, path
        self.prompts = list(cfg.get("prompts") or [])
        self.cfg = SampleConfig(max_new_tokens=int(cfg.get("max_new_tokens", 40)), temperature=float(cfg.get("temperature", 0.8)),
                                top_k=int(cfg.get("top_k", 40)), seed=int(cfg.get("seed", 0)))

    def __call__(self, event: str, info: dict) -> None:
        if event != "eval" or not self.prompts:
            return
        with open(self.path, "a") as f:
            for prompt in self.prompts:
                ids = self.tok.encode(prompt, bos=True)
                out = generate(info["model"], ids, self.cfg, stop_ids=[self.tok.bos_id, self.tok.eos_id])
                row = {"step": info["step"], "tokens": info["tokens"], "prompt": prompt, "text": self.tok.decode(out.ids)}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


@task(name="train-base-model")
def train_base(model_cfg: ModelConfig, train_cfg: TrainConfig, samples: dict, run: Path) -> dict:
    tok = Tokenizer.load(TOKENIZER)
    train_tokens, val_tokens = TokenFile(TOKENS / "train.bin"), TokenFile(TOKENS / "val.bin")
    run.mkdir(parents=True, exist_ok=True)
    import torch

    torch.manual_seed(train_cfg.seed)
    model = Transformer(model_cfg)
    data = TokenWindows(train_tokens, train_cfg.seq_len, train_cfg.batch_size, seed=train_cfg.seed)
    val = TokenWindows(val_tokens, train_cfg.seq_len, train_cfg.batch_size, eval_batches=train_cfg.eval_batches)
    writer = SampleWriter(tok, samples, run / "samples.jsonl")
    if not (run / "checkpoint").exists():
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
    """Copy the final checkpoint to models/base, without the optimizer state."""
    tmp = OUT.with_name(OUT.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(run / "checkpoint", tmp, ignore=shutil.ignore_patterns("trainer.safetensors"))
    if (run / "samples.jsonl").exists():
        shutil.copy(run / "samples.jsonl", tmp / "samples.jsonl")
    shutil.rmtree(OUT, ignore_errors=True)
    tmp.rename(OUT)


@flow(name="pretrain", log_prints=True)
def pretrain_flow() -> dict:
    p = load_params("pretrain")
    check_keys("pretrain", p, KEYS)
    vocab = Tokenizer.load(TOKENIZER).vocab_size
    model_cfg, train_cfg, samples = configs(p, vocab)
    run = run_dir(model_cfg, train_cfg, TokenFile(TOKENS / "train.bin").meta)
    with stage_timer("pretrain") as timer:
        metrics = train_base(model_cfg, train_cfg, samples, run)
        publish(run)
        rows = write_loss_csv(run, Path("plots/pretrain/loss.csv"), ["step", "tokens", "train_loss", "val_loss", "lr"])
    speeds = [r["tokens_per_s"] for r in rows if "tokens_per_s" in r]
    metrics.update(seconds=timer["seconds"], tokens_per_s=round(sorted(speeds)[len(speeds) // 2]) if speeds else 0)
    write_metrics("pretrain", metrics)
    sample_rows = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()] if (run / "samples.jsonl").exists() else []
    write_report("pretrain", report(metrics, sample_rows))
    log.info("read %s; wrote %s, metrics/pretrain.json, plots/pretrain/loss.csv", TOKENS, OUT)
    return metrics


def report(m: dict, samples: list[dict]) -> str:
    lines = ["# Pretrain", "", f"{m['parameters']:,} parameters, {m['steps']:,} steps, {m['tokens_seen']:,} tokens seen "
             f"in {m['train_seconds']}s ({m['tokens_per_s']:,} tokens/s).", "",
             f"Final train loss {m['train_loss']}, validation loss {m['val_loss']}.", "", "## Samples as training went on", ""]
    for step in sorted({s["step"] for s in samples}):
        lines.append(f"### step {step}")
        lines += [f"- **{s['prompt']}**{s['text']}".replace("\n", " ⏎ ") for s in samples if s["step"] == step]
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    setup_logging()
    pretrain_flow()


if __name__ == "__main__":
    main()
