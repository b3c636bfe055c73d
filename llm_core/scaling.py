"""What more parameters buy: the cost of a model size, and the budgets a size sweep compares.

A sweep trains several sizes under one of two budgets:

- a token budget: every size sees the same D tokens (the same steps), so a bigger model
  costs more compute, C ≈ 6·N·D floating-point operations for N parameters (forward
  2·N·D, backward 4·N·D; Kaplan et al. 2020, "Scaling Laws for Neural Language Models");
- a wall-clock budget: every size trains for the same T seconds, so a bigger model sees
  fewer tokens: steps = T / (seconds per step), the seconds per step timed here, on this
  machine, with the optimizer and batch the real run uses.

Which one a user wants depends on what they hold fixed: their data (tokens) or their
time (seconds). The sweep flow (flows/sweep.py) runs the pipeline at each point.
"""
from __future__ import annotations

import statistics
import time

import torch

from .config import ModelConfig, TrainConfig
from .data.loader import TokenWindows
from .data.tokens import TokenFile
from .device import pick_device, pick_precision, synchronize
from .model import Transformer
from .optim import build_optimizer
from .train import train_step

MIN_STEPS = 10  # below this a run is all warm-up: a budget that small is refused


class ScalingError(ValueError):
    """A budget that cannot be met (too few seconds for even MIN_STEPS steps)."""


def seconds_per_step(model_cfg: ModelConfig, train_cfg: TrainConfig, tokens: TokenFile, steps: int = 4,
                     warmup: int = 2) -> float:
    """Median seconds of one optimizer step of `train_cfg` on a throwaway model of `model_cfg`,
    after `warmup` steps (allocations, first kernels). The batches are ones the real run draws
    only far later (step numbers from 1,000,000), so timing changes nothing it will see."""
    device = pick_device(train_cfg.device)
    amp = pick_precision(device, train_cfg.precision)
    torch.manual_seed(train_cfg.seed)
    model = Transformer(model_cfg).to(device).train()
    optimizer = build_optimizer(model, train_cfg, device)
    data = TokenWindows(tokens, train_cfg.seq_len, train_cfg.batch_size, seed=train_cfg.seed)
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        train_step(model, optimizer, data, 1_000_000 + i, train_cfg, device, amp)
        synchronize(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[warmup:])


def steps_for_seconds(seconds: float, per_step: float) -> int:
    """How many steps fit in `seconds` at `per_step` seconds each."""
    steps = int(seconds / per_step)
    if steps < MIN_STEPS:
        raise ScalingError(f"{seconds:.0f} s fit only {steps} steps of {per_step:.2f} s (at least {MIN_STEPS} needed)")
    return steps


def parameters(model_cfg: ModelConfig) -> int:
    """Trainable parameters of a model of this shape (built on the meta device: no memory)."""
    with torch.device("meta"):
        return Transformer(model_cfg).num_params()


def training_flops(n_params: int, tokens: int) -> float:
    """C ≈ 6·N·D: the compute of training N parameters on D tokens."""
    return 6.0 * n_params * tokens
