"""Sentences of a document, and which of them are plain prose.

`split_sentences` cuts a document into sentences: lines are joined when the next
starts in lower case (hard-wrapped text), and a unit is cut after . ! or ? when
the next word starts in upper case, except after abbreviations ("Mrs.", "Sra.")
and initials ("J. Smith"). `is_clean_sentence` keeps plain prose: letters and
ordinary punctuation only, capital first, a final . ! or ?, balanced quotes, no
shouted words. `bare_word` tells a word with no punctuation attached.
The task suite (llm_core.tasks) makes its sentence tasks from these.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

_ABBREV = {"mr", "mrs", "ms", "dr", "st", "sr", "sra", "srta", "dña", "vs", "vol", "núm", "ej", "ud", "uds", "prof",
           "e.g", "i.e"}
_SENT_END = re.compile(r"[.!?]+[\"'”’»)]*\s+(?=[\"'“‘«(¿¡]*[^\W\d_])")
_BAD_CHARS = re.compile(r"[^\w\s.,;:!?¿¡'’\"“”«»()\-—–]|[\d_]")
_BARE_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")
_OPENERS, _CLOSERS = "\"'“‘«(¿¡", "\"'”’»)"


def split_sentences(text: str) -> Iterator[str]:
    """Sentences of a document, whitespace collapsed. A line break joins two lines
    when the next starts in lower case (hard-wrapped text), else it ends a unit
    (headings, verse lists, quote attributions)."""
    units: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            units.append("")
        elif units and units[-1] and line[0].islower() and units[-1][-1] not in ".!?":
            units[-1] += " " + line
        else:
            units.append(line)
    for unit in units:
        unit = " ".join(unit.split())
        start = 0
        for m in _SENT_END.finditer(unit):
            if not unit[m.end():].lstrip(_OPENERS)[:1].isupper():
                continue  # "Who is it? said he."
            before = unit[start:m.start()].rsplit(" ", 1)[-1].strip(_OPENERS)
            if before.lower() in _ABBREV or (len(before) == 1 and before.isupper() and before != "I"):
                continue  # "Mrs. Jennings", "J. Smith"
            yield unit[start:m.end()].strip()
            start = m.end()
        if unit[start:].strip():
            yield unit[start:].strip()


def is_clean_sentence(s: str, min_words: int = 3, max_words: int = 25, max_chars: int = 160) -> bool:
    """A plain prose sentence: letters and ordinary punctuation only (no digits, code,
    URLs), capital first, final . ! or ?, balanced quotes, no shouted words."""
    if not s or len(s) > max_chars or _BAD_CHARS.search(s):
        return False
    words = s.split()
    if not min_words <= len(words) <= max_words:
        return False
    core = s.lstrip(_OPENERS)
    if not core or not core[0].isupper() or s.rstrip(_CLOSERS)[-1:] not in (".", "!", "?"):
        return False
    if s.count("“") != s.count("”") or s.count("«") != s.count("»") or s.count('"') % 2 or \
            s.count("(") != s.count(")"):
        return False
    return not any(w.isupper() and sum(c.isalpha() for c in w) >= 3 for w in words)


@lru_cache(maxsize=1 << 16)
def bare_word(token: str) -> bool:
    """A word with no punctuation attached (inner ' or - allowed): "tierra", "don't"."""
    return bool(_BARE_WORD.match(token))
