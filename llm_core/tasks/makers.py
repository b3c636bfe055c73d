"""Item makers: one source unit (a sentence, a pair of numbers) -> one task item.

Each sentence maker turns one clean sentence of a document in language `lang`
into (prompt, answer, prompt language), or None when the sentence does not suit
the task; it is pure, and its `rng` (keys.Rng) is seeded from (seed, task, unit),
so an item depends on its unit only. The prompts of every task, in both
languages, are in PROMPTS; `arithmetic_problems` lists the sums and differences
the arithmetic task asks.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator

from ..data.sentences import bare_word
from .items import LANGS
from .keys import Rng

SENTENCE_TASKS: tuple[str, ...] = ("lang_id", "next_words", "count_words", "repeat", "reverse_words",
                                   "which_is_longer")

LANG_NAMES = {"en": {"en": "English", "es": "Spanish"}, "es": {"en": "inglés", "es": "español"}}

PROMPTS: dict[str, dict[str, str]] = {
    "lang_id": {"en": "Which language is this sentence in? {text}", "es": "¿En qué idioma está esta frase? {text}"},
    "next_word": {"en": "Next word: {text}", "es": "Siguiente palabra: {text}"},
    "next_words": {"en": "Next {k} words: {text}", "es": "Siguientes {k} palabras: {text}"},
    "count_words": {"en": "Count the words: {text}", "es": "Cuenta las palabras: {text}"},
    "plus": {"en": "What is {a} plus {b}?", "es": "¿Cuánto es {a} más {b}?"},
    "minus": {"en": "What is {a} minus {b}?", "es": "¿Cuánto es {a} menos {b}?"},
    "repeat": {"en": "Repeat: {text}", "es": "Repite: {text}"},
    "reverse_words": {"en": "Reverse the word order: {text}", "es": "Invierte el orden de las palabras: {text}"},
    "which_is_longer": {"en": 'Which word is longer: "{a}" or "{b}"?',
                        "es": '¿Qué palabra es más larga: "{a}" {o} "{b}"?'},  # {o}: "o", or "u" before an o
    "translate": {"en": "Translate to Spanish: {text}", "es": "Traduce al inglés: {text}"},
}

Made = tuple[str, str, str]


def _make_lang_id(sentence: str, lang: str, rng: Rng) -> Made | None:
    if len(sentence.split()) > 16:
        return None
    plang = rng.choice(LANGS)
    return PROMPTS["lang_id"][plang].format(text=sentence), LANG_NAMES[plang][lang], plang


def _make_next_words(sentence: str, lang: str, rng: Rng) -> Made | None:
    words = sentence.split()
    bare = [bare_word(w) for w in words]
    k = rng.choice((1, 2, 3))
    cuts = [c for c in range(4, min(16, len(words) - k) + 1) if all(bare[c:c + k])]
    if not cuts:
        return None
    cut = rng.choice(cuts)
    text = " ".join(words[:cut])
    prompt = PROMPTS["next_word"][lang].format(text=text) if k == 1 else \
        PROMPTS["next_words"][lang].format(k=k, text=text)
    return prompt, " ".join(words[cut:cut + k]), lang


def _make_count_words(sentence: str, lang: str, rng: Rng) -> Made | None:
    words = sentence.split()
    if not 3 <= len(words) <= 10 or not all(any(c.isalpha() for c in w) for w in words):
        return None
    return PROMPTS["count_words"][lang].format(text=sentence), str(len(words)), lang


def _fragment(sentence: str, rng: Rng) -> list[str] | None:
    """3 to 5 consecutive bare words of the sentence (no punctuation attached)."""
    words = sentence.split()
    n = rng.choice((3, 4, 5))
    run, starts = 0, []  # run: how many bare words end at position i
    for i, w in enumerate(words):
        run = run + 1 if bare_word(w) else 0
        if run >= n:
            starts.append(i - n + 1)
    if not starts:
        return None
    i = rng.choice(starts)
    return words[i:i + n]


def _make_repeat(sentence: str, lang: str, rng: Rng) -> Made | None:
    frag = _fragment(sentence, rng)
    if frag is None:
        return None
    return PROMPTS["repeat"][lang].format(text=" ".join(frag)), " ".join(frag), lang


def _make_reverse_words(sentence: str, lang: str, rng: Rng) -> Made | None:
    frag = _fragment(sentence, rng)
    if frag is None or frag == frag[::-1]:
        return None
    return PROMPTS["reverse_words"][lang].format(text=" ".join(frag)), " ".join(frag[::-1]), lang


def _make_which_is_longer(sentence: str, lang: str, rng: Rng) -> Made | None:
    words = list(dict.fromkeys(w for w in sentence.split() if bare_word(w) and w.islower() and len(w) >= 2))
    pairs = [(a, b) for i, a in enumerate(words) for b in words[i + 1:] if abs(len(a) - len(b)) >= 2]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    if rng.random() < 0.5:
        a, b = b, a
    o = "u" if b.startswith(("o", "ho")) else "o"  # Spanish "o" becomes "u" before an o sound
    prompt = PROMPTS["which_is_longer"][lang].format(a=a, b=b, o=o)
    # Quoted as in the question: a word right after a quote is other tokens than
    # the same word after a space, and copying needs the very same tokens.
    # Exact match ignores the quotes (see `scoring.normalize`).
    return prompt, f'"{a if len(a) > len(b) else b}"', lang


SENTENCE_MAKERS: dict[str, Callable[[str, str, Rng], Made | None]] = {
    "lang_id": _make_lang_id, "next_words": _make_next_words, "count_words": _make_count_words,
    "repeat": _make_repeat, "reverse_words": _make_reverse_words, "which_is_longer": _make_which_is_longer,
}


def arithmetic_problems(max_number: int = 20) -> Iterator[tuple[tuple[int, int], str, int, int, int]]:
    """((a, b) with a <= b, op, x, y, result) for x op y: both orders of a + b and b - a
    (results never negative). The pair (a, b) is the unit train and held-out split on,
    so "3 plus 5", "5 plus 3" and "5 minus 3" always fall on the same side."""
    for a in range(max_number + 1):
        for b in range(a, max_number + 1):
            yield (a, b), "plus", a, b, a + b
            if a != b:
                yield (a, b), "plus", b, a, a + b
            yield (a, b), "minus", b, a, b - a
