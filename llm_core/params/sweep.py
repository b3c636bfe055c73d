"""The `sweep` section: the model sizes `make sweep` trains the pipeline at, and its budgets.

No stage reads it (DVC reruns nothing when it changes): the sweep flow runs the whole
pipeline once per size and budget, each run a DVC experiment with `pretrain.model`
set to that size (flows/sweep.py, llm_core/scaling.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..config import FieldError, ModelConfig, check_limits


@dataclass(frozen=True)
class SweepSize:
    """One point of the sweep: the shape of `pretrain.model` (the rest of it as set there)."""

    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    hidden_dim: int

    def __post_init__(self) -> None:
        ModelConfig(dim=self.dim, n_layers=self.n_layers, n_heads=self.n_heads, n_kv_heads=self.n_kv_heads,
                    hidden_dim=self.hidden_dim)  # its own checks: sizes > 0, heads divide the width

    @property
    def label(self) -> str:
        return f"d{self.dim}-l{self.n_layers}"


@dataclass(frozen=True)
class SweepParams:
    # About 0.35M, 0.7M, 1.26M (the default model) and 3.2M parameters with the 4,096-token vocabulary.
    sizes: tuple[SweepSize, ...] = (SweepSize(64, 2, 2, 1, 176), SweepSize(96, 3, 3, 1, 256),
                                    SweepSize(128, 4, 4, 2, 352), SweepSize(192, 6, 6, 2, 512))
    # tokens: every size sees pretrain.train.max_steps steps; seconds: every size trains as long
    budgets: tuple[Literal["tokens", "seconds"], ...] = ("tokens", "seconds")
    seconds: float = 0.0  # pre-training's wall clock under the seconds budget; 0: what the default model takes
    overrides: dict[str, Any] = field(default_factory=dict)  # for every run, e.g. finetune.train.max_steps: 400

    LIMITS = {"seconds": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if len(self.sizes) < 2:
            raise FieldError("sizes", "a sweep needs at least two sizes")
        labels = [s.label for s in self.sizes]
        if len(set(labels)) < len(labels):
            raise FieldError("sizes", f"two sizes have the same width and depth: {labels}")
        if not self.budgets or len(set(self.budgets)) < len(self.budgets):
            raise FieldError("budgets", "list tokens, seconds or both, once each")
        bad = [k for k in self.overrides if k.startswith("pretrain.model.")]
        if bad:
            raise FieldError("overrides", f"{bad[0]} is what the sweep varies; set it in sizes")
