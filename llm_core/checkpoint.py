"""Checkpoints: a folder of safetensors and JSON, written atomically.

    model.safetensors    weights (Hugging Face Llama names; a tied head stored once)
    forja_config.json    {"format": "forja-checkpoint", "model": {...ModelConfig...}}
    trainer.safetensors  optimizer moments and RNG states (only when training state is saved)
    state.json           step, tokens seen, optimizer hyper-parameters, caller's extras
    tokenizer.model      the sentencepiece model the weights were trained with

The config is not called config.json: that name means a Hugging Face config,
and transformers would try (and fail, confusingly) to read this folder as one;
`llm_core.export` writes real Hugging Face folders. Folders written before the
rename (config.json with format "forja-checkpoint") are still read.

The folder is built under `<path>.tmp` and swapped in with renames, so a crash
leaves either the old checkpoint or the new one, never a mix. Nothing is ever
unpickled: safetensors and JSON only.
"""
from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from . import atomic
from .config import ConfigError, ModelConfig, from_dict, to_dict
from .model import Transformer

log = logging.getLogger("llm_core.checkpoint")
FORMAT = "forja-checkpoint"
CONFIG_FILE = "forja_config.json"
LEGACY_CONFIG_FILE = "config.json"  # the name before forja_config.json; read, never written


class CheckpointError(ValueError):
    """A checkpoint folder is missing, incomplete or not what was expected."""


@dataclass
class Checkpoint:
    path: Path
    model_cfg: ModelConfig
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def tokenizer_path(self) -> Path | None:
        p = self.path / "tokenizer.model"
        return p if p.exists() else None

    @property
    def step(self) -> int:
        return int(self.state.get("step", 0))


def save_checkpoint(path: str | Path, model: Transformer, optimizer: torch.optim.Optimizer | None = None,
                    state: dict[str, Any] | None = None, tokenizer_path: str | Path | None = None,
                    weights: dict[str, torch.Tensor] | None = None, optimizer_state: dict | None = None) -> Path:
    """`weights` and `optimizer_state` replace the model's and the optimizer's own
    state_dicts where those hold only this process's shards (llm_core.distributed)."""
    path = Path(path)
    state = dict(state or {})
    with atomic.atomic_dir(path) as tmp:
        save_file(_weights(model, weights), tmp / "model.safetensors", metadata={"format": "pt"})
        atomic.write_json(tmp / CONFIG_FILE, {"format": FORMAT, "version": 1, "model": to_dict(model.cfg)})
        if optimizer is not None:
            tensors, groups = _optimizer_tensors(optimizer_state or optimizer.state_dict())
            tensors.update(_rng_tensors())
            save_file(tensors, tmp / "trainer.safetensors")
            state["optimizer_param_groups"] = groups
        atomic.write_json(tmp / "state.json", state)
        if tokenizer_path is not None:
            shutil.copyfile(tokenizer_path, tmp / "tokenizer.model")
    log.info("wrote checkpoint %s (step %s)", path, state.get("step", "-"))
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read config and state (not weights) and check the folder is complete."""
    path = atomic.recover(Path(path))
    if not path.is_dir():
        raise CheckpointError(f"{path}: checkpoint folder not found")
    cfg_file = _config_file(path)
    raw = _read_json(cfg_file)
    if raw.get("format") != FORMAT or "model" not in raw:
        raise CheckpointError(f"{cfg_file}: not a forja checkpoint config (expected keys 'format': '{FORMAT}' and 'model')")
    try:
        cfg = from_dict(ModelConfig, raw["model"], where=f"{cfg_file}: model")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    if not (path / "model.safetensors").exists():
        raise CheckpointError(f"{path / 'model.safetensors'}: weights file missing")
    state = _read_json(path / "state.json") if (path / "state.json").exists() else {}
    return Checkpoint(path, cfg, state)


def _config_file(path: Path) -> Path:
    new, old = path / CONFIG_FILE, path / LEGACY_CONFIG_FILE
    return old if old.exists() and not new.exists() else new


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[Transformer, Checkpoint]:
    ckpt = load_checkpoint(path)
    model = Transformer(ckpt.model_cfg)
    load_weights(model, ckpt.path / "model.safetensors")
    return model.to(device), ckpt


def load_weights(model: Transformer, file: Path) -> None:
    tensors = _read_safetensors(file)
    if model.cfg.tie_embeddings:
        tensors.pop("lm_head.weight", None)
    expected = {k: v for k, v in model.state_dict().items()
                if not (model.cfg.tie_embeddings and k == "lm_head.weight")}
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{file}: weights do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for k, v in tensors.items():
        if v.shape != expected[k].shape:
            raise CheckpointError(f"{file}: tensor {k!r} has shape {tuple(v.shape)}, config expects {tuple(expected[k].shape)}")
    model.load_state_dict(tensors, strict=False)


def load_training_state(ckpt: Checkpoint, optimizer: torch.optim.Optimizer) -> None:
    """Restore optimizer moments and RNG states saved with the checkpoint."""
    sd = optimizer_state(ckpt)
    try:
        optimizer.load_state_dict(sd)
    except (ValueError, KeyError) as err:
        raise CheckpointError(f"{ckpt.path / 'trainer.safetensors'}: optimizer state does not fit this model/optimizer ({err})") from None
    restore_rng(ckpt)


def optimizer_state(ckpt: Checkpoint) -> dict[str, Any]:
    """The optimizer's state_dict saved with the checkpoint (torch's layout: state by parameter index)."""
    file = ckpt.path / "trainer.safetensors"
    if not file.exists() or "optimizer_param_groups" not in ckpt.state:
        raise CheckpointError(f"{file}: no training state in this checkpoint (was it saved without an optimizer?)")
    tensors = _read_safetensors(file)
    opt_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, t in tensors.items():
        if key.startswith("optim/"):
            _, idx, name = key.split("/", 2)
            opt_state.setdefault(int(idx), {})[name] = t
    return {"state": opt_state, "param_groups": ckpt.state["optimizer_param_groups"]}


def restore_rng(ckpt: Checkpoint) -> None:
    """Put back the RNG states of the process that saved the checkpoint (rank 0 of a distributed run)."""
    _restore_rng(_read_safetensors(ckpt.path / "trainer.safetensors"))


# --- helpers -----------------------------------------------------------------

def _weights(model: Transformer, sd: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    sd = dict(model.state_dict() if sd is None else sd)
    if model.cfg.tie_embeddings:
        sd.pop("lm_head.weight", None)  # safetensors refuses shared storage; it is the embedding
    return {k: v.detach().contiguous().cpu() for k, v in sd.items()}


def _optimizer_tensors(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], list[dict]]:
    tensors = {}
    for idx, st in sd["state"].items():
        for name, val in st.items():
            t = val if torch.is_tensor(val) else torch.tensor(val)
            tensors[f"optim/{idx}/{name}"] = t.detach().contiguous().cpu()
    return tensors, sd["param_groups"]


def _rng_tensors() -> dict[str, torch.Tensor]:
    out = {"rng/cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng/cuda/{i}"] = s
    return out


def _restore_rng(tensors: dict[str, torch.Tensor]) -> None:
    if "rng/cpu" in tensors:
        torch.set_rng_state(tensors["rng/cpu"])
    cuda = [tensors[k] for k in sorted(tensors) if k.startswith("rng/cuda/")]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def _read_safetensors(file: Path) -> dict[str, torch.Tensor]:
    if not file.exists():
        raise CheckpointError(f"{file}: file missing")
    try:
        return load_file(file)
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{file}: not a readable safetensors file ({err})") from None


def _read_json(file: Path) -> dict[str, Any]:
    if not file.exists():
        raise CheckpointError(f"{file}: file missing")
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{file}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{file}: expected a JSON object")
    return data

