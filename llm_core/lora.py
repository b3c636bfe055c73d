"""LoRA: fine-tune a frozen model through small low-rank adapters.

A targeted linear layer y = W x keeps W frozen and learns a rank-r update:

    y = W x + (alpha / r) * B (A dropout(x))      A: (r, in), B: (out, r)

A starts random and B at zero, so a freshly adapted model computes exactly
what the base model did. Only A and B train: for a layer of size in x out that
is r * (in + out) numbers instead of in * out.

`LoRALinear` keeps the base layer's own `weight` (and `bias`) Parameters under
the same names, so an adapted model's state dict is the Hugging Face Llama
state dict plus `<module>.lora_A.weight` / `<module>.lora_B.weight` entries.
`merge_lora` folds B A into W and puts plain `nn.Linear` modules back, after
which the state dict has exactly the original names again (export and
checkpoints expect that).

    cfg = LoRAConfig(rank=8, alpha=16, target_modules=("q_proj", "v_proj"))
    apply_lora(model, cfg)        # freezes everything, wraps q_proj / v_proj
    train(model, train_cfg, data) # only the adapters get gradients
    adapters = lora_state_dict(model)
    merge_lora(model)             # a plain Transformer again
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ConfigError


class LoRAError(ValueError):
    """LoRA adapters cannot be applied, merged or loaded as asked."""


@dataclass(frozen=True)
class LoRAConfig:
    """Low-rank adapters. `target_modules` are module-name suffixes matched at a
    dot boundary: "q_proj" matches model.layers.0.self_attn.q_proj, and
    "mlp.up_proj" only the MLP's up projection."""

    rank: int = 8
    alpha: float = 16.0  # the update is scaled by alpha / rank
    dropout: float = 0.0  # on the adapter's input only; the base path is untouched
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")

    def __post_init__(self) -> None:
        if isinstance(self.rank, bool) or not isinstance(self.rank, int) or self.rank <= 0:
            raise ConfigError(f"lora.rank must be a positive integer, got {self.rank!r}")
        if not self.alpha > 0:
            raise ConfigError(f"lora.alpha must be positive, got {self.alpha!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"lora.dropout must be in [0, 1), got {self.dropout!r}")
        targets = self.target_modules
        if isinstance(targets, str) or not isinstance(targets, (tuple, list)):
            raise ConfigError(f"lora.target_modules must be a list of module-name suffixes, got {targets!r}")
        if not targets or not all(isinstance(t, str) and t.strip(".") for t in targets):
            raise ConfigError(f"lora.target_modules must be a non-empty list of non-empty names, got {targets!r}")
        object.__setattr__(self, "target_modules", tuple(targets))

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


class LoRALinear(nn.Module):
    """A frozen linear layer plus a trainable low-rank update.

    Holds the base layer's `weight`/`bias` Parameter objects themselves (not
    copies), so names, storage and any sharing stay as they were.
    """

    def __init__(self, base: nn.Linear, rank: int = 8, alpha: float = 16.0, dropout: float = 0.0):
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise LoRAError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if rank <= 0:
            raise LoRAError(f"LoRA rank must be positive, got {rank}")
        self.in_features, self.out_features = base.in_features, base.out_features
        self.rank, self.alpha = rank, float(alpha)
        self.scale = self.alpha / rank
        self.weight = base.weight
        self.register_parameter("bias", base.bias)  # None: an absent parameter, as in nn.Linear
        self.weight.requires_grad_(False)
        if self.bias is not None:
            self.bias.requires_grad_(False)
        factory = {"device": base.weight.device, "dtype": base.weight.dtype}
        self.lora_A = nn.Linear(self.in_features, rank, bias=False, **factory)
        self.lora_B = nn.Linear(rank, self.out_features, bias=False, **factory)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))  # nn.Linear's own init
        nn.init.zeros_(self.lora_B.weight)  # zero update: the adapted model starts as the base
        self.lora_dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight, self.bias)
        return y + self.lora_B(self.lora_A(self.lora_dropout(x))) * self.scale

    def delta_weight(self) -> torch.Tensor:
        """scale * B @ A, the (out, in) update this adapter adds to `weight`, computed in fp32."""
        a, b = self.lora_A.weight.float(), self.lora_B.weight.float()
        return (b @ a) * self.scale

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A plain nn.Linear whose weight (this module's own Parameter, updated in
        place) already contains the adapter's update."""
        w = self.weight
        w.copy_((w.float() + self.delta_weight()).to(w.dtype))
        lin = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None, device="meta")
        lin.weight = w
        if self.bias is not None:
            lin.bias = self.bias
        lin.train(self.training)
        return lin

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, rank={self.rank}, alpha={self.alpha:g}")


def _matches(name: str, target: str) -> bool:
    target = target.strip(".")
    return name == target or name.endswith("." + target)


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def _lora_modules(model: nn.Module) -> list[tuple[str, LoRALinear]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoRALinear)]


def apply_lora(model: nn.Module, cfg: LoRAConfig) -> list[str]:
    """Freeze every parameter of `model` and wrap the targeted nn.Linear modules
    in place with LoRALinear. Returns the names of the wrapped modules."""
    if _lora_modules(model):
        raise LoRAError("model already has LoRA adapters; merge_lora() it before applying new ones")
    linears = {n: m for n, m in model.named_modules() if isinstance(m, nn.Linear)}
    chosen = [n for n in linears if any(_matches(n, t) for t in cfg.target_modules)]
    unmatched = [t for t in cfg.target_modules if not any(_matches(n, t) for n in linears)]
    if unmatched:
        suffixes = sorted({n.rpartition(".")[2] for n in linears})
        what = "match no nn.Linear module" if not chosen else f"{unmatched} match no nn.Linear module"
        raise LoRAError(
            f"LoRA target_modules {list(cfg.target_modules)}: {what} in the model. "
            f"Available Linear suffixes: {', '.join(suffixes)}."
        )
    # A weight shared with another module (a head tied to the embedding) cannot
    # take a merged update without changing the other module too.
    owners: dict[int, list[str]] = {}
    for mod_name, mod in model.named_modules():
        for p_name, p in mod.named_parameters(recurse=False):
            owners.setdefault(id(p), []).append(f"{mod_name}.{p_name}" if mod_name else p_name)
    for n in chosen:
        shared = owners[id(linears[n].weight)]
        if len(shared) > 1:
            raise LoRAError(
                f"LoRA target {n!r}: its weight is shared with {', '.join(s for s in shared if s != n + '.weight')} "
                "(tied embeddings), so an adapter could not be merged into it; leave it out of target_modules"
            )
    for p in model.parameters():
        p.requires_grad_(False)
    for n in chosen:
        _set_module(model, n, LoRALinear(linears[n], cfg.rank, cfg.alpha, cfg.dropout))
    return chosen


def merge_lora(model: nn.Module) -> None:
    """Fold every adapter into its base weight and put plain nn.Linear modules
    back, so the state dict has exactly the original names; then make every
    parameter trainable again."""
    lora = _lora_modules(model)
    if not lora:
        raise LoRAError("model has no LoRA adapters to merge")
    for name, mod in lora:
        _set_module(model, name, mod.merged())
    for p in model.parameters():
        p.requires_grad_(True)


def lora_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Only the adapters: {"<module>.lora_A.weight": ..., "<module>.lora_B.weight": ...},
    detached copies on the CPU (ready for safetensors)."""
    out = {}
    for name, mod in _lora_modules(model):
        out[f"{name}.lora_A.weight"] = mod.lora_A.weight.detach().cpu().clone().contiguous()
        out[f"{name}.lora_B.weight"] = mod.lora_B.weight.detach().cpu().clone().contiguous()
    if not out:
        raise LoRAError("model has no LoRA adapters (call apply_lora first)")
    return out


@torch.no_grad()
def load_lora_state_dict(model: nn.Module, sd: dict[str, torch.Tensor]) -> None:
    """Copy adapters saved by `lora_state_dict` into a model that had `apply_lora`
    with the same targets and rank. Keys and shapes must match exactly."""
    params = {}
    for name, mod in _lora_modules(model):
        params[f"{name}.lora_A.weight"] = mod.lora_A.weight
        params[f"{name}.lora_B.weight"] = mod.lora_B.weight
    if not params:
        raise LoRAError("model has no LoRA adapters to load into (call apply_lora with the same config first)")
    missing, unexpected = sorted(set(params) - set(sd)), sorted(set(sd) - set(params))
    if missing or unexpected:
        raise LoRAError(f"LoRA state dict does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for k, t in sd.items():
        if t.shape != params[k].shape:
            raise LoRAError(f"LoRA tensor {k!r} has shape {tuple(t.shape)}, the model expects "
                            f"{tuple(params[k].shape)} (different rank?)")
    for k, t in sd.items():
        params[k].copy_(t)


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; a tied weight counts once."""
    params = list(model.parameters())  # deduplicated by nn.Module
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
