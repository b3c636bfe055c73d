"""What the evaluate stage measures beyond loss: compressors, task accuracy, word recognisability.

- A language model is a compressor: its bits per byte on validation text sit
  beside what gzip, bz2 and xz reach on the same bytes.
- Held-out task accuracy: the base model prompted with k examples (few-shot)
  against the chat model asked directly (0-shot, chat template).
- Recognisable text: the share of generated words that occur in the training
  corpus, a crude but honest test that a small model writes words, not noise.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import re
from collections import defaultdict
from typing import Iterable

import numpy as np

from .chat import decode_reply, encode_chat
from .config import SampleConfig
from .sample import generate
from .tasks import TaskItem, extract_answer, few_shot_prompt, score, select_shots

WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def compressor_bits_per_byte(text: bytes) -> dict[str, float]:
    """Bits per byte of the strongest setting of each standard compressor."""
    n = max(1, len(text))
    return {
        "gzip": 8 * len(gzip.compress(text, compresslevel=9)) / n,
        "bz2": 8 * len(bz2.compress(text, compresslevel=9)) / n,
        "xz": 8 * len(lzma.compress(text, preset=9 | lzma.PRESET_EXTREME)) / n,
    }


def documents_from_tokens(ids: np.ndarray, bos_id: int) -> list[np.ndarray]:
    """Split a token file back into its documents (each starts with begin-of-text)."""
    cuts = np.flatnonzero(ids == bos_id)
    return [ids[a + 1 : b] for a, b in zip(cuts, list(cuts[1:]) + [len(ids)])]


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def known_word_share(texts: Iterable[str], vocabulary: set[str]) -> tuple[float, int]:
    """Share of words (by count) found in `vocabulary`, and how many words were seen."""
    ws = [w for t in texts for w in words(t)]
    return (sum(w in vocabulary for w in ws) / len(ws) if ws else 0.0), len(ws)


def _answer(model, ids: list[int], stop: list[int], max_new_tokens: int) -> list[int]:
    cfg = SampleConfig(max_new_tokens=max_new_tokens, temperature=0.0, top_candidates=1)
    return generate(model, ids, cfg, stop_ids=stop).ids


def base_answer(model, tokenizer, item: TaskItem, shots: list[TaskItem], max_new_tokens: int = 24) -> str:
    prompt = few_shot_prompt(shots, item)
    ids = tokenizer.encode(prompt, bos=True)[-(model.cfg.max_seq_len - max_new_tokens):]
    stop = [tokenizer.eos_id, tokenizer.bos_id, *tokenizer.encode("\n")[-1:]]
    return extract_answer(tokenizer.decode(_answer(model, ids, stop, max_new_tokens)))


def chat_answer(model, tokenizer, item: TaskItem, max_new_tokens: int = 24) -> str:
    ids = encode_chat(tokenizer, [{"role": "user", "content": item.prompt}], add_generation_prompt=True).ids
    ids = ids[-(model.cfg.max_seq_len - max_new_tokens):]
    stop = [tokenizer.end_of_turn_id, tokenizer.eos_id]
    return extract_answer(decode_reply(tokenizer, _answer(model, ids, stop, max_new_tokens)))


def task_accuracy(answer_fn, items: list[TaskItem]) -> tuple[dict[str, float], list[dict]]:
    """Mean score per task (exact match, or chrF for translation) and the predictions."""
    per_task: dict[str, list[float]] = defaultdict(list)
    rows = []
    for item in items:
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
