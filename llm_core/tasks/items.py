"""Task items: one prompt with its checkable answer, a suite of them, their file.

A `TaskItem` is what fine-tuning trains on (as a chat: `as_messages`) and what
evaluation asks a model; `save_items` / `load_items` are the JSONL file between
the two stages, one object per line with the item's fields. An item's `lang` is
the language of its prompt (for translate, the source side); its `id` is
"<task>-<lang>-<12 hex digits of BLAKE2b(task, prompt)>", so the same prompt
always has the same id.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from ..atomic import write_jsonl

LANGS: tuple[str, ...] = ("en", "es")
TASKS: tuple[str, ...] = ("lang_id", "next_words", "count_words", "arithmetic", "repeat", "reverse_words",
                          "which_is_longer", "translate")
CHRF_TASKS: frozenset[str] = frozenset({"translate"})


@dataclass(frozen=True)
class TaskItem:
    task: str
    lang: str  # language of the prompt
    prompt: str  # the user message; also the "Q:" line of a few-shot prompt
    answer: str
    id: str
    source: str = ""  # the unit it was made from: a sentence, a verse ref, "a,b" for numbers

    @property
    def metric(self) -> str:
        return "chrf" if self.task in CHRF_TASKS else "exact"


@dataclass
class TaskSuite:
    train: list[TaskItem]
    heldout: list[TaskItem]

    def counts(self) -> dict[str, dict[str, int]]:
        """{"train": {"lang_id/en": 12, ...}, "heldout": {...}}"""
        return {"train": count_items(self.train), "heldout": count_items(self.heldout)}


def count_items(items: Iterable[TaskItem]) -> dict[str, int]:
    c = Counter(f"{it.task}/{it.lang}" for it in items)
    return {k: c[k] for k in sorted(c)}


def item_id(task: str, lang: str, prompt: str) -> str:
    digest = hashlib.blake2b((task + "\x1f" + prompt).encode("utf-8"), digest_size=6).hexdigest()
    return f"{task}-{lang}-{digest}"


def make_item(task: str, lang: str, prompt: str, answer: str, source: str) -> TaskItem:
    """A TaskItem with its id."""
    return TaskItem(task, lang, prompt, answer, item_id(task, lang, prompt), source)


def as_messages(item: TaskItem) -> list[dict[str, str]]:
    """The item as a chat: the prompt as the user's message, the answer as the assistant's."""
    return [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": item.answer}]


def save_items(path: str | Path, items: Iterable[TaskItem]) -> int:
    """Write items as JSONL (one object per line), atomically; returns how many."""
    return write_jsonl(path, (asdict(it) for it in items))


_REQUIRED = ("task", "lang", "prompt", "answer", "id")


def load_items(path: str | Path) -> list[TaskItem]:
    """Read items written by `save_items`; a bad line raises ValueError naming the line."""
    items = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{no}: not valid JSON ({err.msg})") from None
            items.append(item_from_dict(obj, f"{path}:{no}"))
    return items


def item_from_dict(obj, where: str) -> TaskItem:
    """A TaskItem from its fields as `save_items` writes them; ValueError naming `where`."""
    if not isinstance(obj, dict):
        raise ValueError(f"{where}: expected a JSON object with keys {', '.join(_REQUIRED)}")
    missing = [k for k in _REQUIRED if not isinstance(obj.get(k), str)]
    if missing:
        raise ValueError(f"{where}: missing or non-string key(s) {missing}; "
                         f"expected {', '.join(_REQUIRED)} (and optional source)")
    return TaskItem(obj["task"], obj["lang"], obj["prompt"], obj["answer"], obj["id"], str(obj.get("source", "")))
