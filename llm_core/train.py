"""One training loop for pre-training and fine-tuning.

What differs between the two is only the data (a BatchSource; fine-tuning
masks prompt tokens with -100) and the starting weights. The loop does the
optimizer and schedule of llm_core.optim (AdamW or Muon; cosine or WSD after a
linear warm-up), gradient accumulation and clipping,
autocast where the hardware runs bf16 natively, periodic evaluation,
checkpoints that resume exactly, and a metrics JSONL row per logged step.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from tqdm.auto import tqdm

from . import atomic
from . import checkpoint as ckpt_io
from .config import TrainConfig, to_dict
from .data.loader import BatchSource, EvalSource
from .device import autocast, measure_matmul_peak, pick_device, pick_precision, synchronize
from .model import Transformer
from .optim import build_optimizer, lr_at  # noqa: F401  (bench/ times what train runs)

log = logging.getLogger("llm_core.train")
Callback = Callable[[str, dict[str, Any]], None]  # (event, info); events: step, eval, checkpoint, end


@dataclass
class TrainResult:
    steps: int
    tokens_seen: int
    train_loss: float
    val_loss: float | None
    seconds: float  # of this call: a resumed run counts only the steps it ran
    checkpoint: Path | None
    resumed_from: int = 0  # the checkpoint's step when this call resumed a run


@torch.no_grad()
def estimate_loss(model: Transformer, data: EvalSource, device: torch.device, amp_dtype=None) -> float:
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in data.eval_batches():
        x, y, seg = _on_device(batch, device)
        with autocast(device, amp_dtype):
            _, loss, _ = model(x, y, segments=seg)
        n = int((y != -100).sum())
        total += float(loss) * n
        count += n
    model.train(was_training)
    return total / max(1, count)


class MetricsLog:
    """Appends one JSON object per line; on resume drops rows past the checkpoint
    so the curve of a resumed run equals that of an uninterrupted one."""

    def __init__(self, path: Path | None, resume_step: int = 0):
        self.path = path
        self.rows: list[dict[str, Any]] = []
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = []
        if resume_step and path.exists():
            rows = [r for r in map(json.loads, path.read_text().splitlines()) if r["step"] <= resume_step]
        atomic.write_text(path, "".join(json.dumps(r) + "\n" for r in rows))
        self.rows = rows  # what a resumed run had logged

    def append(self, row: dict[str, Any]) -> None:
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(row) + "\n")


def train(
    model: Transformer,
    cfg: TrainConfig,
    train_data: BatchSource,
    val_data: EvalSource | None = None,
    out_dir: str | Path | None = None,
    callbacks: Iterable[Callback] = (),
    tokenizer_path: str | Path | None = None,
    extra_state: dict[str, Any] | None = None,
    resume: bool = True,
    progress: bool = True,
) -> TrainResult:
    """Train `model` in place. With `out_dir`, checkpoints go to `out_dir/checkpoint`
    and metrics to `out_dir/metrics.jsonl`; an existing checkpoint is resumed."""
    device = pick_device(cfg.device)
    amp_dtype = pick_precision(device, cfg.precision)
    model.to(device).train()
    optimizer = build_optimizer(model, cfg, device)
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint" if out else None
    step, tokens_seen = 0, 0
    if resume and ckpt_path is not None and (ckpt_path.exists() or ckpt_path.with_name("checkpoint.old").exists()):
        step, tokens_seen = _resume(model, optimizer, ckpt_path, device)
    else:
        torch.manual_seed(cfg.seed)
    metrics = MetricsLog(out / "metrics.jsonl" if out else None, resume_step=step)
    fwd = torch.compile(model) if cfg.compile else model
    peak = measure_matmul_peak(device, amp_dtype or torch.float32, seconds=0.3)
    flops_tok = model.flops_per_token(cfg.seq_len)
    callbacks = list(callbacks)
    log.info("training %.2fM params on %s (%s) for %d steps of %d tokens, from step %d",
             model.num_params() / 1e6, device, amp_dtype or "fp32", cfg.max_steps, cfg.tokens_per_step, step)

    def state() -> dict[str, Any]:
        return {"step": step, "tokens_seen": tokens_seen, "train": to_dict(cfg), **(extra_state or {})}

    def save() -> None:
        if ckpt_path is not None:
            ckpt_io.save_checkpoint(ckpt_path, model, optimizer, state(), tokenizer_path)
            _emit(callbacks, "checkpoint", {"step": step, "path": ckpt_path})

    t_start = time.perf_counter()
    t_last, tok_last = t_start, tokens_seen
    resumed_from = step
    # A run resumed at its last step trains no more: its losses are the logged ones.
    train_loss = next((r["train_loss"] for r in reversed(metrics.rows)), float("nan"))
    val_loss = next((r["val_loss"] for r in reversed(metrics.rows) if "val_loss" in r), float("nan"))
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not progress, desc="train", unit="step", dynamic_ncols=True)
    while step < cfg.max_steps:
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        train_loss = train_step(fwd, optimizer, train_data, step, cfg, device, amp_dtype)
        step += 1
        tokens_seen += cfg.tokens_per_step
        bar.update(1)
        row: dict[str, Any] = {"step": step, "tokens": tokens_seen, "train_loss": train_loss, "lr": lr}
        is_eval = val_data is not None and (step == cfg.max_steps or (cfg.eval_interval and step % cfg.eval_interval == 0))
        if is_eval:
            val_loss = estimate_loss(model, val_data, device, amp_dtype)
            row["val_loss"] = val_loss
        if is_eval or step % cfg.log_interval == 0 or step == cfg.max_steps:
            synchronize(device)
            now = time.perf_counter()
            tps = (tokens_seen - tok_last) / max(1e-9, now - t_last)
            row.update(tokens_per_s=tps, mfu=tps * flops_tok / peak, elapsed_s=now - t_start)
            t_last, tok_last = now, tokens_seen
            metrics.append(row)
            bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{tps:,.0f}")
            _emit(callbacks, "step", {**row, "model": model})
        if is_eval:
            _emit(callbacks, "eval", {**row, "model": model})
        if cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 and step < cfg.max_steps:
            save()
    bar.close()
    save()
    seconds = time.perf_counter() - t_start
    result = TrainResult(step, tokens_seen, train_loss, None if math.isnan(val_loss) else val_loss, seconds, ckpt_path,
                         resumed_from)
    _emit(callbacks, "end", {"result": result, "model": model})
    log.info("trained to step %d (%d tokens) in %.1fs; train loss %.4f", step, tokens_seen, seconds, train_loss)
    return result


def train_step(model, optimizer, data: BatchSource, step: int, cfg: TrainConfig, device, amp_dtype) -> float:
    """One optimizer step of the training loop: accumulate gradients over cfg.grad_accum
    micro-batches of `data` at `step`, clip, step, zero. Returns the mean loss.
    Public so that the benchmarks (bench/) time exactly what `train` runs."""
    total = 0.0
    for micro in range(cfg.grad_accum):
        x, y, seg = _on_device(data.batch(step, micro), device)
        with autocast(device, amp_dtype):
            _, loss, _ = model(x, y, segments=seg)
        (loss / cfg.grad_accum).backward()
        total += loss.detach()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(total) / cfg.grad_accum


def _on_device(batch: tuple, device) -> tuple:
    """(x, y) or (x, y, segments) from a batch source -> (x, y, segments or None) on `device`."""
    x, y, *rest = (t.to(device, non_blocking=True) for t in batch)
    return x, y, (rest[0] if rest else None)


def _resume(model, optimizer, ckpt_path: Path, device) -> tuple[int, int]:
    """Continue a run from its checkpoint. A damaged one cannot be fixed by rerunning
    (the rerun would find it again), so the message names the run folder to delete."""
    try:
        ckpt = ckpt_io.load_checkpoint(ckpt_path)
        if ckpt.model_cfg != model.cfg:
            raise ckpt_io.CheckpointError(f"{ckpt_path}: saved with a different model config")
        ckpt_io.load_weights(model, ckpt.path / "model.safetensors")
        model.to(device)
        ckpt_io.load_training_state(ckpt, optimizer)
    except ckpt_io.CheckpointError as err:
        raise ckpt_io.CheckpointError(f"cannot resume the run in {ckpt_path.parent}: {err}; "
                                      f"delete the folder {ckpt_path.parent} to start this run again from step 0") from None
    log.info("resumed from %s at step %d", ckpt_path, ckpt.step)
    return ckpt.step, int(ckpt.state.get("tokens_seen", 0))


def _emit(callbacks: list[Callback], event: str, info: dict[str, Any]) -> None:
    for cb in callbacks:
        cb(event, info)
