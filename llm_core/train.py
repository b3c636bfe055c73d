"""One training loop for pre-training and fine-tuning.

What differs between the two is only the data (a BatchSource; fine-tuning
masks prompt tokens with -100) and the starting weights. The loop does the
optimizer and schedule of llm_core.optim (AdamW or Muon; cosine or WSD after a
linear warm-up), gradient accumulation and clipping,
autocast where the hardware runs bf16 natively, periodic evaluation,
checkpoints that resume exactly, and a metrics JSONL row per logged step.
The same loop runs one process or many (torchrun: DDP or FSDP, see
llm_core.distributed), compiled or not (llm_core.compiled); the loss is read
back from the device only at logged steps.
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
from . import distributed
from .compiled import Compiled
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
    and metrics to `out_dir/metrics.jsonl`; an existing checkpoint is resumed.

    Under torchrun every rank calls this with the same arguments and trains its
    share of each batch (llm_core.distributed); rank 0 alone writes. Callbacks run
    on every rank (a sharded model's forward needs them all); info["main"] says
    whether this one is rank 0, the one that should write."""
    ranks = distributed.from_env()
    distributed.check(ranks, cfg.parallel, cfg.batch_size, cfg.optimizer)
    device, opened = distributed.start(ranks, pick_device(cfg.device))
    try:
        return _train(model, cfg, train_data, val_data, out_dir, list(callbacks), tokenizer_path, extra_state,
                      resume, progress, ranks, device)
    finally:
        distributed.stop(opened)


def _train(model, cfg, train_data, val_data, out_dir, callbacks, tokenizer_path, extra_state, resume, progress,
           ranks: distributed.Ranks, device: torch.device) -> TrainResult:
    amp_dtype = pick_precision(device, cfg.precision)
    model.to(device).train()
    out = Path(out_dir) if out_dir is not None else None
    ckpt_path = out / "checkpoint" if out else None
    ckpt = None
    if resume and ckpt_path is not None and (ckpt_path.exists() or ckpt_path.with_name("checkpoint.old").exists()):
        ckpt = _resume_weights(model, ckpt_path, device, ranks)  # before wrapping: sharding keeps the loaded values
    else:
        torch.manual_seed(cfg.seed)
    wrapped = distributed.wrap(model, ranks, cfg.parallel, device)
    optimizer = build_optimizer(model, cfg, device)  # after wrapping: a sharded model's parameters are its shards
    step, tokens_seen = _resume_state(model, optimizer, ckpt) if ckpt is not None else (0, 0)
    metrics = MetricsLog(out / "metrics.jsonl" if out and ranks.main else None, resume_step=step)
    fwd = Compiled(wrapped) if cfg.compile else wrapped
    peak = measure_matmul_peak(device, amp_dtype or torch.float32, seconds=0.3) * ranks.world_size
    flops_tok = model.flops_per_token(cfg.seq_len)
    say = log.info if ranks.main else (lambda *a: None)
    say("training %.2fM params on %s (%s%s) for %d steps of %d tokens, from step %d",
        model.num_params() / 1e6, device, amp_dtype or "fp32",
        f", {cfg.parallel} over {ranks.world_size} ranks" if ranks.active else "", cfg.max_steps, cfg.tokens_per_step, step)

    def state() -> dict[str, Any]:
        return {"step": step, "tokens_seen": tokens_seen, "train": to_dict(cfg), **(extra_state or {})}

    def save() -> None:
        if ckpt_path is None:
            return
        weights, optim = distributed.full_state(model, optimizer)  # every rank: gathering shards is collective
        if ranks.main:
            ckpt_io.save_checkpoint(ckpt_path, model, optimizer, state(), tokenizer_path, weights=weights,
                                    optimizer_state=optim)
        distributed.barrier(ranks)
        _emit(callbacks, "checkpoint", {"step": step, "path": ckpt_path, "main": ranks.main})

    t_start = time.perf_counter()
    t_last, tok_last = t_start, tokens_seen
    resumed_from = step
    # A run resumed at its last step trains no more: its losses are the logged ones.
    train_loss = next((r["train_loss"] for r in reversed(metrics.rows)), float("nan"))
    val_loss = next((r["val_loss"] for r in reversed(metrics.rows) if "val_loss" in r), float("nan"))
    bar = tqdm(total=cfg.max_steps, initial=step, disable=not (progress and ranks.main), desc="train", unit="step",
               dynamic_ncols=True)
    while step < cfg.max_steps:
        lr = lr_at(step, cfg)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = step_loss(fwd, optimizer, train_data, step, cfg, device, amp_dtype, ranks, wrapped)
        step += 1
        tokens_seen += cfg.tokens_per_step
        bar.update(1)
        row: dict[str, Any] = {"step": step, "tokens": tokens_seen, "lr": lr}
        is_eval = val_data is not None and (step == cfg.max_steps or (cfg.eval_interval and step % cfg.eval_interval == 0))
        if is_eval:
            val_loss = estimate_loss(model, val_data, device, amp_dtype)
            row["val_loss"] = val_loss
        if is_eval or step % cfg.log_interval == 0 or step == cfg.max_steps:
            # The loss is read back only here: the steps between queue up on the device.
            train_loss = float(distributed.mean(loss, ranks))
            synchronize(device)  # the optimizer step too, so the time is the steps' own
            now = time.perf_counter()
            tps = (tokens_seen - tok_last) / max(1e-9, now - t_last)
            row = {"step": step, "tokens": tokens_seen, "train_loss": train_loss, **row,
                   "tokens_per_s": tps, "mfu": tps * flops_tok / peak, "elapsed_s": now - t_start}
            t_last, tok_last = now, tokens_seen
            metrics.append(row)
            bar.set_postfix(loss=f"{train_loss:.3f}", tok_s=f"{tps:,.0f}")
            _emit(callbacks, "step", {**row, "model": model, "main": ranks.main})
        if is_eval:
            _emit(callbacks, "eval", {**row, "model": model, "main": ranks.main})
        if cfg.checkpoint_interval and step % cfg.checkpoint_interval == 0 and step < cfg.max_steps:
            save()
    bar.close()
    save()
    seconds = time.perf_counter() - t_start
    result = TrainResult(step, tokens_seen, train_loss, None if math.isnan(val_loss) else val_loss, seconds, ckpt_path,
                         resumed_from)
    _emit(callbacks, "end", {"result": result, "model": model, "main": ranks.main})
    say("trained to step %d (%d tokens) in %.1fs; train loss %.4f", step, tokens_seen, seconds, train_loss)
    return result


def step_loss(model, optimizer, data: BatchSource, step: int, cfg: TrainConfig, device, amp_dtype,
              ranks: distributed.Ranks = distributed.ONE_PROCESS, wrapped=None) -> torch.Tensor:
    """One optimizer step: accumulate gradients over cfg.grad_accum micro-batches of
    `data` at `step` (this rank's rows of each), clip, step, zero. Returns the mean
    loss as a tensor on the device, so that nothing waits for the device here.
    `wrapped` is the DDP/FSDP module when `model` is a compiled view of it."""
    module = wrapped if wrapped is not None else model
    total = torch.zeros((), device=device)
    for micro in range(cfg.grad_accum):
        batch, weight = distributed.my_rows(data.batch(step, micro), ranks)
        x, y, seg = _on_device(batch, device)
        with distributed.grad_sync(module, micro == cfg.grad_accum - 1):
            with autocast(device, amp_dtype):
                if weight is None:
                    loss = model(x, y, segments=seg)[1]
                else:
                    loss = model(x, y, segments=seg, reduction="sum")[1] * weight
            (loss / cfg.grad_accum).backward()
        total += loss.detach()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total / cfg.grad_accum


def train_step(model, optimizer, data: BatchSource, step: int, cfg: TrainConfig, device, amp_dtype) -> float:
    """`step_loss` read back as a float. Public so that the benchmarks (bench/) time
    exactly what `train` runs."""
    return float(step_loss(model, optimizer, data, step, cfg, device, amp_dtype))


def _on_device(batch: tuple, device) -> tuple:
    """(x, y) or (x, y, segments) from a batch source -> (x, y, segments or None) on
    `device`; through pinned memory to a GPU, so the copy overlaps the running step."""
    pin = device.type == "cuda"
    x, y, *rest = ((t.pin_memory() if pin else t).to(device, non_blocking=pin) for t in batch)
    return x, y, (rest[0] if rest else None)


def _resume_weights(model, ckpt_path: Path, device, ranks: distributed.Ranks) -> ckpt_io.Checkpoint:
    """Load a run's checkpointed weights to continue it. Rank 0 reads first: reading
    may finish an interrupted checkpoint swap, which one process must do alone."""
    try:
        if ranks.main:
            ckpt_io.load_checkpoint(ckpt_path)
        distributed.barrier(ranks)
        ckpt = ckpt_io.load_checkpoint(ckpt_path)
        if ckpt.model_cfg != model.cfg:
            raise ckpt_io.CheckpointError(f"{ckpt_path}: saved with a different model config")
        ckpt_io.load_weights(model, ckpt.path / "model.safetensors")
        model.to(device)
    except ckpt_io.CheckpointError as err:
        raise _cannot_resume(ckpt_path, err) from None
    return ckpt


def _resume_state(model, optimizer, ckpt: ckpt_io.Checkpoint) -> tuple[int, int]:
    """The optimizer's moments and the RNG states: the run continues as if never stopped."""
    try:
        distributed.load_optimizer(model, optimizer, ckpt_io.optimizer_state(ckpt))
        ckpt_io.restore_rng(ckpt)
    except (ckpt_io.CheckpointError, ValueError, KeyError) as err:
        raise _cannot_resume(ckpt.path, err) from None
    log.info("resumed from %s at step %d", ckpt.path, ckpt.step)
    return ckpt.step, int(ckpt.state.get("tokens_seen", 0))


def _cannot_resume(ckpt_path: Path, err: Exception) -> ckpt_io.CheckpointError:
    """A damaged checkpoint cannot be fixed by rerunning (the rerun would find it
    again), so the message names the run folder to delete."""
    return ckpt_io.CheckpointError(f"cannot resume the run in {ckpt_path.parent}: {err}; "
                                   f"delete the folder {ckpt_path.parent} to start this run again from step 0")


def _emit(callbacks: list[Callback], event: str, info: dict[str, Any]) -> None:
    for cb in callbacks:
        cb(event, info)
