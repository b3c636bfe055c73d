"""Conversations that ship inside PyPI packages, as chat messages.

- chatterbot-corpus (BSD): YAML files of `conversations:`, each a list of
  alternating lines; Spanish (280) and English (2,025).
- chitchat-dataset (MIT): crowd-sourced English chit-chat; each conversation is
  a list of turns, each turn one speaker's list of messages.

Both become [{"role": "user"|"assistant", "content": ...}] lists: the first
line is the user's, the next the assistant's, and so on. A conversation that
ends on a user line drops that line (there is nothing to learn from it);
conversations with no assistant line are counted, not kept.
"""
from __future__ import annotations

import importlib.util
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Iterator

import yaml

log = logging.getLogger("llm_core.data.chat_corpus")
CHATTERBOT_LANGS = {"es": "spanish", "en": "english"}


class PackageMissing(RuntimeError):
    pass


def package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PackageMissing(f"Python package {module!r} is not installed; `make setup` installs it "
                             f"(pip install {module.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def to_messages(lines: list[str]) -> list[dict[str, str]] | None:
    """Alternate user/assistant; None when no assistant line remains."""
    lines = [str(x).strip() for x in lines if x is not None and str(x).strip()]
    if len(lines) % 2:
        lines = lines[:-1]
    if not lines:
        return None
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(lines)]


def chatterbot(lang: str, counts: Counter | None = None) -> Iterator[list[dict[str, str]]]:
    counts = counts if counts is not None else Counter()
    folder = package_dir("chatterbot_corpus") / "data" / CHATTERBOT_LANGS[lang]
    for path in sorted(folder.glob("*.yml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ValueError(f"{path}: not valid YAML ({err})") from None
        for conv in data.get("conversations") or []:
            msgs = to_messages(conv if isinstance(conv, list) else [conv])
            if msgs is None:
                counts[f"chatterbot-{lang}: no assistant turn"] += 1
                continue
            counts[f"chatterbot-{lang}"] += 1
            yield msgs


def chitchat(limit: int = 0, counts: Counter | None = None) -> Iterator[list[dict[str, str]]]:
    counts = counts if counts is not None else Counter()
    path = package_dir("chitchat_dataset") / "dataset.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in sorted(data):  # a fixed order: the JSON object's order is not a contract
        turns = data[key].get("messages") or []
        lines = [" ".join(m.get("text", "").strip() for m in turn if m.get("text")) for turn in turns]
        msgs = to_messages(lines)
        if msgs is None:
            counts["chitchat: no assistant turn"] += 1
            continue
        if limit and counts["chitchat"] >= limit:
            counts["chitchat: over the limit"] += 1
            continue
        counts["chitchat"] += 1
        yield msgs
