"""Typed, frozen configuration objects built from plain dicts.

Callers (flows, the CLI, tests) read params.yaml themselves and hand a section
to `from_dict`; llm_core never reads files on its own. An unknown or mistyped
key is an error that names the key, where it was found and the valid keys,
because a silently ignored typo in a training config wastes hours.

`from_dict` recurses into nested dataclasses, tuples and dicts of them, and
checks `Literal` choices; a class declares the range of its numbers in a
`LIMITS` table (`"lr": "> 0"`, `"dropout": "[0, 1)"`), checked by `check_limits`
in its `__post_init__`, so a value the runtime would refuse is refused here,
with its key named, before any work starts.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is not what was expected."""


class FieldError(ConfigError):
    """A value out of range; `from_dict` prefixes the message with where the key lives."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


_LIMIT = re.compile(r"^\s*(?:(>=|>|<=|<)\s*(\S+)|([\[(])\s*(\S+)\s*,\s*(\S+)\s*([\])]))\s*$")


def _within(value: float, spec: str) -> bool:
    m = _LIMIT.match(spec)
    if not m:
        raise ValueError(f"bad limit {spec!r}")
    op, bound, left, lo, hi, right = m.groups()
    if isinstance(value, float) and math.isnan(value):
        return False
    if op:
        b = float(bound)
        return {">=": value >= b, ">": value > b, "<=": value <= b, "<": value < b}[op]
    lo_ok = value >= float(lo) if left == "[" else value > float(lo)
    hi_ok = value <= float(hi) if right == "]" else value < float(hi)
    return lo_ok and hi_ok


def check_limits(cfg: Any) -> None:
    """Check every number named in `type(cfg).LIMITS` (each element of a tuple;
    None, meaning "not set", is always allowed)."""
    for name, spec in getattr(type(cfg), "LIMITS", {}).items():
        value = getattr(cfg, name)
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if v is not None and not isinstance(v, bool) and not _within(v, spec):
                wording = "in " if spec.strip()[0] in "[(" else ""
                raise FieldError(name, f"must be {wording}{spec.strip()}, got {v!r}")


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

    LIMITS = {"vocab_size": "> 0", "dim": "> 0", "n_layers": "> 0", "n_heads": "> 0", "n_kv_heads": "> 0",
              "hidden_dim": "> 0", "max_seq_len": "> 0", "rope_theta": "> 0", "norm_eps": "> 0", "dropout": "[0, 1)"}

    def __post_init__(self) -> None:
        check_limits(self)
        kv = self.n_kv_heads or self.n_heads
        if self.dim % self.n_heads:
            raise ConfigError(f"model.dim ({self.dim}) must be divisible by model.n_heads ({self.n_heads})")
        if self.n_heads % kv:
            raise ConfigError(f"model.n_heads ({self.n_heads}) must be divisible by model.n_kv_heads ({kv})")
        if (self.dim // self.n_heads) % 2:
            raise ConfigError(f"head size dim/n_heads = {self.dim // self.n_heads} must be even for rotary positions")

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
    optimizer: Literal["adamw", "muon"] = "adamw"  # muon: Muon on the hidden matrices, AdamW on the rest
    momentum: float = 0.95  # Muon's (Nesterov) momentum
    schedule: Literal["cosine", "wsd"] = "cosine"  # after warm-up: cosine to min_lr, or stable then linear decay
    decay_share: float = 0.2  # wsd: the share of max_steps spent decaying to min_lr
    eval_interval: int = 100  # steps between evaluations; 0: only at the end
    eval_batches: int = 8
    log_interval: int = 10
    checkpoint_interval: int = 0  # 0: only at the end
    seed: int = 1337
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # auto: bf16 where the hardware runs it natively
    compile: bool = False  # torch.compile the model; eager, with a warning, where compiling fails
    parallel: Literal["ddp", "fsdp"] = "ddp"  # under torchrun: replicate the model (ddp) or shard it (fsdp)

    LIMITS = {"max_steps": "> 0", "batch_size": "> 0", "grad_accum": "> 0", "seq_len": "> 0", "lr": "> 0",
              "min_lr": ">= 0", "warmup_steps": ">= 0", "weight_decay": ">= 0", "beta1": "[0, 1)", "beta2": "[0, 1)",
              "grad_clip": ">= 0", "momentum": "[0, 1)", "decay_share": "(0, 1]", "eval_interval": ">= 0", "eval_batches": "> 0", "log_interval": "> 0",
              "checkpoint_interval": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", self.device):
            raise FieldError("device", f"expected auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
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

    LIMITS = {"max_new_tokens": ">= 0", "temperature": ">= 0", "top_k": ">= 0", "top_p": "(0, 1]",
              "top_candidates": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if math.isinf(self.temperature):
            raise FieldError("temperature", f"must be a finite number, got {self.temperature}")


def from_dict(cls: type[T], data: dict[str, Any] | None, where: str | None = None) -> T:
    """Build the frozen dataclass `cls` from `data`, checking keys, types and limits.

    `where` names the section in messages (e.g. "params.yaml: pretrain.model").
    Nested dataclass fields are built from nested mappings the same way.
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
    values = {k: _coerce(_over_default(fields[k], v), hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except FieldError as err:
        raise ConfigError(f"{where}.{err.key}: {err.message}") from None
    except ValueError as err:  # ConfigError, or a library's own check (a source spec)
        raise ConfigError(f"{where}: {err}") from None


def _over_default(f: dataclasses.Field, value: Any) -> Any:
    """A mapping given for a field whose default is a config (pretrain.train) changes
    only the keys it names: the rest keep that default's values, not the generic
    class defaults, so a key left out means what the section's default says."""
    default = f.default if f.default is not dataclasses.MISSING else None
    if default is None and f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    if isinstance(value, dict) and dataclasses.is_dataclass(default) and not isinstance(default, type):
        base = {g.name: getattr(default, g.name) for g in dataclasses.fields(default)}
        return {**base, **value}
    return value


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check `value` against a type hint; allow int where float is expected."""
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise ConfigError(f"{where}: expected {_name(hint)}, got null")
    for opt in options:
        ok, out = _try(value, opt, where)
        if ok:
            return out
    raise ConfigError(f"{where}: expected {_name(hint)}, got {type(value).__name__} {value!r}")


def _try(value: Any, opt: Any, where: str) -> tuple[bool, Any]:
    """(True, the coerced value) when `value` fits the type `opt`."""
    origin = typing.get_origin(opt)
    if opt is bool:
        return isinstance(value, bool), value
    if opt is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if opt is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if opt is str:
        return isinstance(value, str), value
    if origin is Literal:
        if value in typing.get_args(opt):
            return True, value
        choices = ", ".join(repr(c) for c in typing.get_args(opt))
        raise ConfigError(f"{where}: expected one of {choices}, got {value!r}")
    if isinstance(opt, type) and dataclasses.is_dataclass(opt) and isinstance(value, opt):
        return True, value
    if dataclasses.is_dataclass(opt) and isinstance(value, dict):
        return True, from_dict(opt, value, where)
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        args = [a for a in typing.get_args(opt) if a is not Ellipsis]
        if not args:
            return True, tuple(value)
        return True, tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict and isinstance(value, dict):
        kt, vt = typing.get_args(opt) or (Any, Any)
        return True, {_coerce(k, kt, where): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if opt is Any:
        return True, value
    return False, value


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def _name(hint: Any) -> str:
    if _is_union(hint):
        names = [_name(h) for h in typing.get_args(hint) if h is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in typing.get_args(hint) else "")
    if typing.get_origin(hint) in (tuple, list):
        return "a list"
    if typing.get_origin(hint) is dict:
        return "a mapping"
    if dataclasses.is_dataclass(hint):
        return "a mapping"
    return getattr(hint, "__name__", str(hint))
