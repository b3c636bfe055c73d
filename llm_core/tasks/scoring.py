"""Scoring a prediction against a task item's answer.

Every task but translate is scored by exact match after `normalize` (NFC, case
folded, single spaces, surrounding quotes and final punctuation removed); translate
is scored with chrF (Popović 2015): with P_n and R_n the precision and recall of
character n-grams of order n (whitespace removed, case kept),

    P = mean_n P_n,  R = mean_n R_n  (n = 1..6),   chrF = (1 + β²) P R / (β² P + R),  β = 2

so recall weighs twice as much as precision. `extract_answer` is what a model's
generation is taken to answer: its first line.
"""
from __future__ import annotations

import unicodedata
from collections import Counter

from .items import CHRF_TASKS, TaskItem

_FINAL_PUNCT = ".,;:!?…¡¿"
_QUOTES = "\"'“”‘’«»"


def normalize(text: str) -> str:
    """What exact match compares: NFC, lower case, single spaces, no surrounding
    quotes and no final punctuation ("  Spanish. " == "spanish")."""
    s = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    prev = None
    while s != prev:
        prev = s
        s = s.strip().strip(_QUOTES).rstrip(_FINAL_PUNCT).strip()
    return s


def _char_ngrams(text: str, n: int) -> Counter:
    return Counter(text[i:i + n] for i in range(len(text) - n + 1))


def chrf(hypothesis: str, reference: str, max_n: int = 6, beta: float = 2.0) -> float:
    """chrF (Popović 2015) in [0, 1]: character n-grams (n = 1..max_n, whitespace
    removed, case kept), precision and recall averaged over the orders, then
    F_beta = (1 + beta²) P R / (beta² P + R); beta = 2 weighs recall twice as much.

    Orders that neither string is long enough to have are left out of the averages
    (so identical short strings score 1.0); an order only one side has counts as 0
    for both precision and recall. Two empty strings score 1.0, one empty 0.0."""
    hyp = "".join(unicodedata.normalize("NFC", hypothesis).split())
    ref = "".join(unicodedata.normalize("NFC", reference).split())
    if not hyp or not ref:
        return 1.0 if hyp == ref else 0.0
    precisions, recalls = [], []
    for n in range(1, max_n + 1):
        h, r = _char_ngrams(hyp, n), _char_ngrams(ref, n)
        n_h, n_r = sum(h.values()), sum(r.values())
        if n_h == 0 and n_r == 0:
            continue
        match = sum((h & r).values())
        precisions.append(match / n_h if n_h else 0.0)
        recalls.append(match / n_r if n_r else 0.0)
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    b2 = beta * beta
    return 0.0 if p == 0 and r == 0 else (1 + b2) * p * r / (b2 * p + r)


def score(item: TaskItem, prediction: str) -> float:
    """1.0 or 0.0 for exact-match tasks (after `normalize`); chrF in [0, 1] for translate."""
    if item.task in CHRF_TASKS:
        return chrf(prediction.strip(), item.answer)
    return 1.0 if normalize(prediction) == normalize(item.answer) else 0.0


def extract_answer(generated_text: str) -> str:
    """The answer in a generation: its first line, stripped (leading blank lines skipped)."""
    return generated_text.strip().split("\n", 1)[0].strip()
