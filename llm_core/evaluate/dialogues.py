"""Does the chat model keep the thread? Task accuracy by turn in held-out dialogues
(llm_core.tasks.dialogues: three tasks in one conversation, then a follow-up on the last answer).

The model answers each turn greedily with the whole conversation so far in its context, and
what it wrote (not the right answer) stays in the history, as in a real chat. A task turn is
scored against its item's answer (exact match; chrF for translate), so

    turn_k = mean score of the task turns at position k (k = 1, 2, 3)

and turn_2, turn_3 against turn_1 say what the earlier turns cost. Different turns hold
different items, so that comparison carries the items' own difficulty too; the paired one
asks every task turn after the first once more, alone in a new conversation:

    turn_k_alone = mean score of the same turn-k items asked as a first message
    cost_k       = turn_k_alone - turn_k   (what the conversation before it cost, same items)

A follow-up ("Say that
again", "How many words is your answer?") is scored against what follows from the model's
own previous answer when that answer allows it (repeating a wrong answer is keeping the
thread), else against the right answer's.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

from tqdm.auto import tqdm

from .accuracy import chat_reply
from ..tasks.dialogues import ANSWER_OF, FOLLOW_UP, Dialogue
from ..tasks.items import TaskItem
from ..tasks.scoring import extract_answer, score


def _reply(model, tokenizer, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    return chat_reply(model, tokenizer, messages, max_new_tokens).strip()


def _expected(turn: TaskItem, previous_answer: str | None) -> TaskItem:
    """A follow-up's item with the answer that follows from the model's own previous answer."""
    if turn.task != FOLLOW_UP or previous_answer is None:
        return turn
    kind = turn.source.split(":", 1)[0]
    own = ANSWER_OF[kind](previous_answer) if kind in ANSWER_OF else None
    return turn if own is None else dataclasses.replace(turn, answer=own)


def dialogue_rows(model, tokenizer, dialogues: Sequence[Dialogue], max_new_tokens: int = 24, *,
                  progress: bool = True) -> list[dict]:
    """One row per turn: dialogue id, position, task, kind, prompt, expected answer, reply, score;
    a task turn after the first also its reply and score when asked alone (alone_reply,
    alone_score; None elsewhere)."""
    rows = []
    # Greedy replies to a conversation's first message, by prompt: a rotated held-out set asks each
    # item first in one dialogue and alone in two others, the same input each time, so once is enough.
    first: dict[str, str] = {}

    def reply_first(prompt: str) -> str:
        if prompt not in first:
            first[prompt] = _reply(model, tokenizer, [{"role": "user", "content": prompt}], max_new_tokens)
        return first[prompt]

    for d in tqdm(dialogues, desc="dialogues", unit="dialogue", disable=not progress, dynamic_ncols=True):
        history: list[dict[str, str]] = []
        previous = None
        for pos, turn in enumerate(d.turns, 1):
            text = reply_first(turn.prompt) if pos == 1 else \
                _reply(model, tokenizer, history + [{"role": "user", "content": turn.prompt}], max_new_tokens)
            history.append({"role": "user", "content": turn.prompt})
            answer = extract_answer(text)
            item = _expected(turn, previous)
            alone = reply_first(turn.prompt) if pos > 1 and turn.task != FOLLOW_UP else None
            rows.append({"dialogue": d.id, "lang": d.lang, "position": pos, "task": turn.task,
                         "kind": turn.source.split(":", 1)[0] if turn.task == FOLLOW_UP else turn.task,
                         "prompt": turn.prompt, "answer": item.answer, "reply": text, "score": score(item, answer),
                         "alone_reply": alone, "alone_score": None if alone is None else score(item, extract_answer(alone))})
            history.append({"role": "assistant", "content": text})
            previous = answer
    return rows


def turn_scores(rows: Sequence[dict]) -> dict[str, float]:
    """{"turn_1": mean, "turn_2": ..., "turn_2_alone": ..., "follow_up": mean,
    "follow_up_<kind>": ..., "dialogues": n}."""
    by_pos, alone, by_kind = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in rows:
        if r["task"] == FOLLOW_UP:
            by_kind[r["kind"]].append(r["score"])
            continue
        by_pos[r["position"]].append(r["score"])
        if r.get("alone_score") is not None:
            alone[r["position"]].append(r["alone_score"])
    out: dict[str, float] = {"dialogues": len({r["dialogue"] for r in rows})}
    for p, v in sorted(by_pos.items()):
        out[f"turn_{p}"] = round(sum(v) / len(v), 4)
        if alone[p]:
            out[f"turn_{p}_alone"] = round(sum(alone[p]) / len(alone[p]), 4)
    follow = [s for v in by_kind.values() for s in v]
    out["follow_up"] = round(sum(follow) / len(follow), 4) if follow else 0.0
    out.update({f"follow_up_{k}": round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())})
    return out


def turn_items(rows: Sequence[dict], key: str) -> int:
    """How many rows a figure of `turn_scores` averages ("turn_2", "follow_up", "follow_up_again")."""
    if key.startswith("turn_"):
        pos = int(key.split("_")[1])
        return sum(r["task"] != FOLLOW_UP and r["position"] == pos
                   and (not key.endswith("_alone") or r.get("alone_score") is not None) for r in rows)
    kind = key.removeprefix("follow_up").lstrip("_")
    return sum(r["task"] == FOLLOW_UP and (not kind or r["kind"] == kind) for r in rows)
