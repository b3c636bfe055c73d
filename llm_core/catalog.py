"""The models a project has: published checkpoints and the training runs' own.

    models/base, models/chat, models/<any>   checkpoints the stages published
    data/cache/pretrain/<run>/checkpoint     each pre-training run (one per config:
    data/cache/finetune/<run>/checkpoint     a DVC experiment with other params is another run)

:func:`find_models` lists them from their small JSON files only (no weights are
read), newest run first, so a list of models costs milliseconds. A folder that
looks like a checkpoint but is incomplete (no weights, a broken config, a
missing tokenizer) is listed with ``problem`` set instead of being hidden, so a
person sees why it cannot be loaded. Hugging Face exports (``models/chat-hf``)
are not forja checkpoints and are left out.

Used by ``forja models`` and the dashboard's model pickers.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .checkpoint import CONFIG_FILE, FORMAT, LEGACY_CONFIG_FILE

__all__ = ["ModelEntry", "find_models", "PUBLISHED", "RUNS"]

PUBLISHED = Path("models")
RUNS = {"pretrain": Path("data/cache/pretrain"), "finetune": Path("data/cache/finetune")}
_ORDER = {"chat": 0, "base": 1}  # the chat model first: what most people want to talk to


@dataclass(frozen=True)
class ModelEntry:
    """One checkpoint folder.

    name:    how to show it ("chat", "base", "pretrain run 3f2a9c1b0d4e (step 360)").
    kind:    "chat" (fine-tuned: answers in the chat template) or "base" (continues text).
    path:    the folder, relative to the project root it was found under.
    step:    training step it was saved at (0 if unknown).
    problem: why it cannot be loaded, or None.
    """

    name: str
    kind: str
    path: Path
    step: int = 0
    parameters: int | None = None
    context: int | None = None
    vocab_size: int | None = None
    mtime: float = 0.0
    problem: str | None = None

    @property
    def loadable(self) -> bool:
        return self.problem is None


def find_models(root: str | Path = ".") -> list[ModelEntry]:
    """Published checkpoints (chat, base, then others by name), then run checkpoints, newest first."""
    root = Path(root)
    published = []
    if (root / PUBLISHED).is_dir():
        for folder in sorted((root / PUBLISHED).iterdir()):
            if folder.is_dir() and _looks_like_checkpoint(folder):
                published.append(_entry(root, folder, folder.name, _published_kind(folder)))
    published.sort(key=lambda e: (_ORDER.get(e.name, 2), e.name))
    runs = []
    for stage, base in RUNS.items():
        for ckpt in (root / base).glob("*/checkpoint"):
            kind = "chat" if stage == "finetune" else "base"
            runs.append(_entry(root, ckpt, f"{stage} run {ckpt.parent.name}", kind))
    runs.sort(key=lambda e: -e.mtime)
    return published + [_with_step(e) for e in runs]


def _looks_like_checkpoint(folder: Path) -> bool:
    """A forja checkpoint folder, complete or not; never a Hugging Face export."""
    if (folder / CONFIG_FILE).exists():
        return True
    legacy = folder / LEGACY_CONFIG_FILE
    if legacy.exists():
        return _read(legacy).get("format") == FORMAT  # an HF config.json has no such key
    return (folder / "model.safetensors").exists() and not (folder / "tokenizer.json").exists()


def _published_kind(folder: Path) -> str:
    state = _read(folder / "state.json")
    if state.get("stage") == "finetune" or folder.name == "chat":
        return "chat"
    return "base"


def _entry(root: Path, folder: Path, name: str, kind: str) -> ModelEntry:
    rel = folder.relative_to(root) if folder.is_relative_to(root) else folder
    cfg_file = folder / (CONFIG_FILE if (folder / CONFIG_FILE).exists() else LEGACY_CONFIG_FILE)
    raw = _read(cfg_file)
    model = raw.get("model") if raw.get("format") == FORMAT else None
    state = _read(folder / "state.json")
    problem = _problem(folder, cfg_file, model)
    mtime = (folder / "model.safetensors").stat().st_mtime if (folder / "model.safetensors").exists() else 0.0
    return ModelEntry(
        name=name, kind=kind, path=rel, step=int(state.get("step", 0) or 0),
        parameters=_parameters(folder / "model.safetensors") if problem is None else None,
        context=model.get("max_seq_len") if isinstance(model, dict) else None,
        vocab_size=model.get("vocab_size") if isinstance(model, dict) else None,
        mtime=mtime, problem=problem,
    )


def _with_step(e: ModelEntry) -> ModelEntry:
    from dataclasses import replace

    return replace(e, name=f"{e.name} (step {e.step})") if e.step else e


def _problem(folder: Path, cfg_file: Path, model) -> str | None:
    if not cfg_file.exists():
        return f"{folder}: no {CONFIG_FILE} (the checkpoint was not fully written)"
    if not isinstance(model, dict):
        return f"{cfg_file}: not a forja checkpoint config (unreadable, or no 'model' section)"
    if not (folder / "model.safetensors").exists():
        return f"{folder / 'model.safetensors'}: weights file missing (the checkpoint was not fully written)"
    if not (folder / "tokenizer.model").exists():
        return f"{folder / 'tokenizer.model'}: missing, so its text cannot be read or written"
    return None


def _parameters(weights: Path) -> int | None:
    """Parameter count from the safetensors header alone (shapes, no tensor data read)."""
    from math import prod

    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as f:
            return sum(prod(f.get_slice(k).get_shape()) for k in f.keys())
    except (OSError, SafetensorError, ValueError):
        return None


def _read(file: Path) -> dict:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
