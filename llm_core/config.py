"""Typed, frozen configuration objects built from plain dicts.

Callers (flows, the CLI, tests) read params.yaml themselves and hand a section
to `from_dict`; llm_core never reads files on its own. An unknown or mistyped
key is an error that names the key, where it was found and the valid keys,
because a silently ignored typo in a training config wastes hours.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is not what was expected."""


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of a Llama-style decoder. Names follow Hugging Face's LlamaConfig."""

    vocab_size: int = 8192
    dim: int = 256  # hidden_size
    n_layers: int = 4
    n_heads: int = 4
    n_kv_heads: int | None = None  # None: same as n_heads (no grouping)
    hidden_dim: int | None = None  # SwiGLU width; None: about 8/3 * dim, rounded
    max_seq_len: int = 256
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        kv = self.n_kv_heads or self.n_heads
        if self.dim % self.n_heads:
            raise ConfigError(f"model.dim ({self.dim}) must be divisible by model.n_heads ({self.n_heads})")
        if self.n_heads % kv:
            raise ConfigError(f"model.n_heads ({self.n_heads}) must be divisible by model.n_kv_heads ({kv})")
        if (self.dim // self.n_heads) % 2:
            raise ConfigError(f"head size dim/n_heads = {self.dim // self.n_heads} must be even for rotary positions")
        for name in ("vocab_size", "dim", "n_layers", "n_heads", "max_seq_len"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"model.{name} must be positive, got {getattr(self, name)}")

    @property
    def kv_heads(self) -> int:
        return self.n_kv_heads or self.n_heads

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def ffn_dim(self) -> int:
        if self.hidden_dim:
            return self.hidden_dim
        # Llama's rule: 2/3 of 4*dim keeps SwiGLU's cost equal to a 4x GELU MLP;
        # rounding to 32 keeps matmuls on friendly shapes.
        return 32 * ((int(8 * self.dim / 3) + 31) // 32)


@dataclass(frozen=True)
class TrainConfig:
    """One training loop for pre-training and fine-tuning."""

    max_steps: int = 1000
    batch_size: int = 16  # sequences per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    seq_len: int = 256
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # 0 disables clipping
    eval_interval: int = 100  # steps between evaluations; 0: only at the end
    eval_batches: int = 8
    log_interval: int = 10
    checkpoint_interval: int = 0  # 0: only at the end
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: str = "auto"  # auto | fp32 | bf16 | fp16
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in ("auto", "fp32", "bf16", "fp16"):
            raise ConfigError(f"train.precision must be one of auto, fp32, bf16, fp16; got {self.precision!r}")
        for name in ("max_steps", "batch_size", "grad_accum", "seq_len"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive, got {getattr(self, name)}")
        if self.min_lr > self.lr:
            raise ConfigError(f"train.min_lr ({self.min_lr}) must not exceed train.lr ({self.lr})")

    @property
    def tokens_per_step(self) -> int:
        return self.batch_size * self.grad_accum * self.seq_len


@dataclass(frozen=True)
class SampleConfig:
    """How to pick the next token. temperature 0 means greedy."""

    max_new_tokens: int = 128
    temperature: float = 0.8
    top_k: int = 0  # 0: no top-k cut
    top_p: float = 1.0  # 1.0: no nucleus cut
    seed: int | None = None
    top_candidates: int = 5  # how many alternatives to report per step

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ConfigError(f"sample.temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ConfigError(f"sample.top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0 or self.max_new_tokens < 0:
            raise ConfigError("sample.top_k and sample.max_new_tokens must be >= 0")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str | None = None) -> T:
    """Build the frozen dataclass `cls` from `data`, checking keys and types.

    `where` names the section in messages (e.g. "params.yaml: pretrain.model").
    """
    where = where or cls.__name__
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(str(key), fields, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"{where}: unknown key {key!r}.{hint} Valid keys: {', '.join(sorted(fields))}."
            )
    values = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against a simple type hint; allow int where float is expected."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where}: expected {_name(hint)}, got null")
    for opt in options:
        if opt is bool and isinstance(value, bool):
            return value
        if opt is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if opt is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if opt is str and isinstance(value, str):
            return value
        if typing.get_origin(opt) in (tuple, list) and isinstance(value, (list, tuple)):
            return tuple(value)
    raise ConfigError(f"{where}: expected {_name(hint)}, got {type(value).__name__} {value!r}")


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _name(hint: Any) -> str:
    if _is_union(hint):
        return " or ".join(_name(h) for h in typing.get_args(hint) if h is not type(None)) + " or null"
    return getattr(hint, "__name__", str(hint))
