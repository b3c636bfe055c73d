"""Language identification: a thin wrapper around py3langid.

py3langid's model ships inside its PyPI package (about 1 s to load), so it is
loaded once per process, on first use. Classification is restricted to a
candidate set: a model free to pick among 140 languages calls short Spanish
Galician or Asturian-like, and a model restricted to {es, en} calls Portuguese
Spanish. A set with the kept languages plus their usual confusers avoids both.

Probabilities are py3langid's normalised ones (a softmax over the candidates,
calibrated by text length), so a score compares across texts of any size.

Thread safety: one identifier object is built per candidate set and never
mutated afterwards (py3langid's `set_languages` mutates, so a shared
identifier would race between threads using different sets); building is
done under a lock. Processes each load their own copy.
"""
from __future__ import annotations

import threading
from typing import Iterable

# Languages a Spanish/English corpus is most often confused with, or polluted by.
CONFUSERS: tuple[str, ...] = ("pt", "it", "fr", "ca", "gl", "de", "la", "nl", "ro", "oc", "eu")

_lock = threading.Lock()
_model = None  # the raw arrays, shared by every restricted identifier
_identifiers: dict[tuple[str, ...], object] = {}


def _load_model():
    global _model
    if _model is None:
        from py3langid.langid import MODEL_DIR, MODEL_FILE
        from py3langid.modelio import load_model

        _model = load_model(MODEL_DIR / MODEL_FILE)
    return _model


def labels() -> list[str]:
    """Every language code the model knows."""
    with _lock:
        return list(dict.fromkeys(_load_model()[2]))


def _identifier(candidates: tuple[str, ...]):
    ident = _identifiers.get(candidates)
    if ident is not None:
        return ident
    with _lock:
        if candidates not in _identifiers:
            from py3langid.langid import LanguageIdentifier

            ptc, pc, classes, nextmove, row, output = _load_model()
            unknown = sorted(set(candidates) - set(classes))
            if unknown:
                raise ValueError(f"language code(s) {unknown} unknown to py3langid; known: {sorted(set(classes))}")
            ident = LanguageIdentifier(ptc, pc, classes, nextmove, output, norm_probs=True, tk_row=row)
            if candidates:
                ident.set_languages(candidates)
            _identifiers[candidates] = ident
        return _identifiers[candidates]


def identify(text: str, candidates: Iterable[str] | None = None) -> tuple[str, float]:
    """The most likely language of `text` among `candidates` (all known languages
    when None or empty) and its probability in [0, 1]."""
    key = tuple(sorted(set(candidates or ())))
    lang, prob = _identifier(key).classify(text)
    return lang, float(prob)


def probabilities(text: str, candidates: Iterable[str] | None = None) -> dict[str, float]:
    """Probability of every candidate language, most likely first."""
    key = tuple(sorted(set(candidates or ())))
    return {lang: float(p) for lang, p in _identifier(key).rank(text)}


def candidate_set(keep: Iterable[str], extra: Iterable[str] = CONFUSERS) -> tuple[str, ...]:
    """The languages to classify among: the kept ones plus the confusers."""
    return tuple(sorted(set(keep) | set(extra)))
