"""Held-out task accuracy: the base model few-shot against the chat model 0-shot.

The base model (no chat template) gets a few-shot prompt (llm_core.tasks.prompts)
with k solved train items of the same task and language; the chat model gets the
item's prompt as a user message. Both answer greedily (temperature 0), and the
answer is the first line of what they write (`extract_answer`). A task's figure is
the mean of `score` over its items (exact match, chrF for translate); "macro" is
the mean over tasks, each counting once however many items it has.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..chat import decode_reply, encode_chat
from ..config import SampleConfig
from ..sample import generate
from ..tasks.items import TaskItem
from ..tasks.prompts import few_shot_prompt, select_shots
from ..tasks.scoring import extract_answer, score


def limit_per_task(items: list[TaskItem], per_task: int) -> list[TaskItem]:
    """The first (per_task + 1) // 2 items of each (task, language), in file order
    (so about per_task per task); 0 keeps every item."""
    if not per_task:
        return items
    seen: dict[tuple, int] = {}
    out = []
    for it in items:
        key = (it.task, it.lang)
        if seen.get(key, 0) < (per_task + 1) // 2:
            seen[key] = seen.get(key, 0) + 1
            out.append(it)
    return out


def _answer(model, ids: list[int], stop: list[int], max_new_tokens: int) -> list[int]:
    cfg = SampleConfig(max_new_tokens=max_new_tokens, temperature=0.0, top_candidates=1)
    return generate(model, ids, cfg, stop_ids=stop).ids


def base_answer(model, tokenizer, item: TaskItem, shots: list[TaskItem], max_new_tokens: int = 24) -> str:
    prompt = few_shot_prompt(shots, item)
    ids = tokenizer.encode(prompt, bos=True)[-(model.cfg.max_seq_len - max_new_tokens):]
    stop = [tokenizer.eos_id, tokenizer.bos_id, *tokenizer.encode("\n")[-1:]]
    return extract_answer(tokenizer.decode(_answer(model, ids, stop, max_new_tokens)))


def chat_reply(model, tokenizer, messages: list[dict[str, str]], max_new_tokens: int = 24) -> str:
    """The chat model's greedy reply to `messages` through the chat template, the prompt cut
    from the left to leave room for the reply; the text as it would be shown."""
    ids = encode_chat(tokenizer, messages, add_generation_prompt=True).ids
    ids = ids[-(model.cfg.max_seq_len - max_new_tokens):]
    stop = [tokenizer.end_of_turn_id, tokenizer.eos_id]
    return decode_reply(tokenizer, _answer(model, ids, stop, max_new_tokens))


def chat_answer(model, tokenizer, item: TaskItem, max_new_tokens: int = 24) -> str:
    return extract_answer(chat_reply(model, tokenizer, [{"role": "user", "content": item.prompt}], max_new_tokens))


def task_accuracy(answer_fn: Callable[[TaskItem], str], items: list[TaskItem], *, progress: bool = True,
                  desc: str = "tasks") -> tuple[dict[str, float], list[dict]]:
    """Mean score per task (exact match, or chrF for translation) and the predictions."""
    per_task: dict[str, list[float]] = defaultdict(list)
    rows = []
    for item in tqdm(items, desc=desc, unit="item", disable=not progress, dynamic_ncols=True):
        pred = answer_fn(item)
        s = score(item, pred)
        per_task[item.task].append(s)
        rows.append({"id": item.id, "task": item.task, "lang": item.lang, "prompt": item.prompt,
                     "answer": item.answer, "prediction": pred, "score": s})
    acc = {t: float(np.mean(v)) for t, v in sorted(per_task.items())}
    acc["macro"] = float(np.mean(list(acc.values()))) if acc else 0.0
    return acc, rows


def few_shot_fn(model, tokenizer, pool: list[TaskItem], k: int, seed: int = 0):
    return lambda item: base_answer(model, tokenizer, item, select_shots(pool, item, k, seed) if k else [])


def task_table(base, chat, tokenizer, heldout: list[TaskItem], pool: list[TaskItem], shots: Sequence[int], *,
               progress: bool = True) -> tuple[dict[str, dict[str, float]], list[dict]]:
    """Accuracy per task of the base model at each k in `shots` (shots drawn from
    `pool`) and of the chat model 0-shot: ({"base_<k>shot": {task: acc, "macro": ...},
    ..., "chat_0shot": {...}}, the predictions, each row with its "model")."""
    table, rows = {}, []
    for k in shots:
        acc, preds = task_accuracy(few_shot_fn(base, tokenizer, pool, k), heldout, progress=progress,
                                   desc=f"tasks: base {k}-shot")
        table[f"base_{k}shot"] = acc
        rows += [{**r, "model": f"base_{k}shot"} for r in preds]
    acc, preds = task_accuracy(lambda item: chat_answer(chat, tokenizer, item), heldout, progress=progress,
                               desc="tasks: chat 0-shot")
    table["chat_0shot"] = acc
    rows += [{**r, "model": "chat_0shot"} for r in preds]
    return table, rows
