"""Few-shot prompts: how a base model (no chat template) is asked a task item.

The prompt is plain text the model continues, k solved items of the same task and
language first:

    Q: <shot prompt>
    A: <shot answer>
    (blank line, per shot)
    Q: <item prompt>
    A:

and the answer is what it writes next, up to the end of the line
(`scoring.extract_answer`). The shots are chosen by hash, per item.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable

from .items import TaskItem
from .keys import stable_hash


def few_shot_prompt(items_for_shots: Iterable[TaskItem], item: TaskItem) -> str:
    """Plain text a base model can continue: "Q: <prompt>\\nA: <answer>\\n\\n" per shot,
    then "Q: <prompt>\\nA:" (no shots: zero-shot). The answer is what the model writes
    next, up to the end of the line (see `extract_answer`)."""
    shots = "".join(f"Q: {s.prompt}\nA: {s.answer}\n\n" for s in items_for_shots)
    return f"{shots}Q: {item.prompt}\nA:"


def select_shots(pool: Iterable[TaskItem], item: TaskItem, k: int, seed: int = 0) -> list[TaskItem]:
    """k items of `pool` (normally the train split) with the task and language of
    `item` and another prompt, chosen by hash (deterministic, varies per item)."""
    if k <= 0:
        return []
    cands = [p for p in pool if p.task == item.task and p.lang == item.lang and p.prompt != item.prompt]
    return heapq.nsmallest(k, cands, key=lambda p: (stable_hash(seed, "shots", item.id, p.id), p.id))
