"""The optimizer and the learning-rate schedule of the training loop.

Optimizers (`TrainConfig.optimizer`):

    adamw  AdamW on every parameter; weight decay on matrices only (decaying norm
           gains pulls them toward zero for no regularisation benefit).
    muon   Muon on the hidden matrices of the blocks (attention and MLP projections):
           the Nesterov momentum M of each gradient matrix G (B <- B + (1 - m)(G - B),
           M = G + m (B - G)) is orthogonalised by five quintic Newton-Schulz
           iterations, M ~ U S V^T -> U V^T, and the step is scaled by
           0.2 * sqrt(max(rows, cols)) (torch.optim.Muon's "match_rms_adamw"), so one
           learning rate serves both parts; decoupled weight decay W <- W (1 - lr wd).
           AdamW on the rest: the embedding, an untied head, the norm gains, which are
           not matrices that map a hidden state to a hidden state.
           The update is torch.optim.Muon's, written here for one reason: torch 2.13's
           always runs Newton-Schulz in bfloat16, which an AVX2 CPU emulates (measured
           at the default size on a 2-core AVX2 EPYC: 774 ms an optimizer step, against
           6 ms for AdamW and 300 ms for forward and backward). Here the iterations run
           in bfloat16 on a GPU and in float32 on a CPU.

Schedules (`TrainConfig.schedule`), with w = warmup_steps, T = max_steps:

    cosine  lr(s) = lr * (s + 1) / w for s < w, then
            min_lr + (lr - min_lr) * (1 + cos(pi * (s - w) / (T - w))) / 2
    wsd     warm-up, stable, decay: the same warm-up, then lr until the last
            decay_share * T steps, then a straight line down to min_lr at T.
            A run can be stopped at the end of "stable" and continued longer.
"""
from __future__ import annotations

import math
from typing import Any

import torch

from .config import TrainConfig

HEAD_NAMES = ("embed_tokens", "lm_head")  # the matrices that are not hidden-to-hidden maps


def lr_at(step: int, cfg: TrainConfig) -> float:
    """The learning rate of optimizer step `step` (0-based) under cfg.schedule."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "wsd":
        decay_steps = max(1, round(cfg.decay_share * cfg.max_steps))
        start = max(cfg.warmup_steps, cfg.max_steps - decay_steps)
        if step < start:
            return cfg.lr
        progress = min(1.0, (step - start + 1) / max(1, cfg.max_steps - start))
        return cfg.lr + (cfg.min_lr - cfg.lr) * progress
    span = max(1, cfg.max_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (cfg.lr - cfg.min_lr)


def build_optimizer(model: torch.nn.Module, cfg: TrainConfig, device: torch.device):
    """The optimizer cfg.optimizer names, over the model's trainable parameters."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if cfg.optimizer == "muon":
        hidden = [p for n, p in named if _is_hidden(n, p)]
        rest = [(n, p) for n, p in named if not _is_hidden(n, p)]
        if hidden:
            muon = Muon(hidden, lr=cfg.lr, weight_decay=cfg.weight_decay, momentum=cfg.momentum,
                        ns_dtype=torch.bfloat16 if device.type == "cuda" else torch.float32)
            return MuonAdamW(muon, _adamw(rest, cfg, device))
    return _adamw(named, cfg, device)  # also a model with no hidden matrix (LoRA on embeddings only)


def _is_hidden(name: str, p: torch.Tensor) -> bool:
    """A hidden-to-hidden matrix of a block: what Muon takes."""
    return p.dim() == 2 and not any(part in name for part in HEAD_NAMES)


def _adamw(named: list[tuple[str, torch.Tensor]], cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    groups = [{"params": [p for _, p in named if p.dim() >= 2], "weight_decay": cfg.weight_decay},
              {"params": [p for _, p in named if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), fused=device.type == "cuda")


NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # quintic a, b, c: the steepest slope at zero that still converges
NS_STEPS = 5


def orthogonalize(g: torch.Tensor, dtype: torch.dtype = torch.float32, steps: int = NS_STEPS) -> torch.Tensor:
    """U V^T of the matrix g = U S V^T, approximately (singular values end near 1, within
    about 0.7..1.2, which trains as well as the exact one): X <- a X + (b A + c A^2) X with
    A = X X^T, from X = g / |g|_F, on the wide orientation so that A is the smaller Gram matrix."""
    a, b, c = NS_COEFFICIENTS
    x = g.to(dtype)
    tall = x.size(0) > x.size(1)
    if tall:
        x = x.T
    x = x / x.norm().clamp(min=1e-7)
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.T if tall else x


class Muon(torch.optim.Optimizer):
    """Muon (see the module docstring) on 2-D parameters; state "momentum_buffer" as in
    torch.optim.Muon, so the two read each other's state dicts."""

    def __init__(self, params, lr: float, momentum: float = 0.95, weight_decay: float = 0.1,
                 nesterov: bool = True, ns_dtype: torch.dtype = torch.float32):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"Muon momentum: expected 0 <= momentum < 1, got {momentum}")
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay,
                                  "nesterov": nesterov})
        self.ns_dtype = ns_dtype
        for g in self.param_groups:
            for p in g["params"]:
                if p.dim() != 2:
                    raise ValueError(f"Muon takes matrices only; got a parameter of shape {tuple(p.shape)}")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else closure()
        for g in self.param_groups:
            lr, m = g["lr"], g["momentum"]
            for p in g["params"]:
                if p.grad is None:
                    continue
                buf = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p.grad))
                buf.lerp_(p.grad, 1 - m)
                update = p.grad.lerp(buf, m) if g["nesterov"] else buf
                p.mul_(1 - lr * g["weight_decay"])
                p.add_(orthogonalize(update, self.ns_dtype).to(p.dtype), alpha=-lr * 0.2 * math.sqrt(max(p.shape)))
        return loss


class MuonAdamW:
    """Muon and AdamW stepped as one optimizer. Its state_dict has the shape of one
    torch optimizer's (parameter indices run on from Muon's into AdamW's), so
    checkpoints store and restore it like any other."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer):
        self.parts = (muon, adamw)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return [g for part in self.parts for g in part.param_groups]

    def step(self) -> None:
        for part in self.parts:
            part.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts:
            part.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        state, groups, offset = {}, [], 0
        for part in self.parts:
            sd = part.state_dict()
            state.update({offset + i: s for i, s in sd["state"].items()})
            groups += [{**g, "params": [offset + i for i in g["params"]]} for g in sd["param_groups"]]
            offset += sum(len(g["params"]) for g in sd["param_groups"])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        groups, offset = list(sd["param_groups"]), 0
        if len(groups) != sum(len(p.param_groups) for p in self.parts):
            raise ValueError(f"{len(groups)} parameter groups saved; Muon + AdamW has "
                             f"{sum(len(p.param_groups) for p in self.parts)}")
        for part in self.parts:
            mine, groups = groups[:len(part.param_groups)], groups[len(part.param_groups):]
            ids = [i for g in mine for i in g["params"]]
            part.load_state_dict({
                "state": {i - offset: sd["state"][i] for i in ids if i in sd["state"]},
                "param_groups": [{**g, "params": [i - offset for i in g["params"]]} for g in mine]})
            offset += len(ids)
