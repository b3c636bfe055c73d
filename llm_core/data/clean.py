"""The clean step: filters that turn collected shards into training text.

Per document, in this order (each named filter counts what it dropped,
changed and removed, with a few examples):

  normalize    Unicode NFC, control characters, line ends, trailing spaces,
               runs of blank lines
  boilerplate  licence/copyright headers and footers, page-number lines,
               verse numbers at line starts
  scrub_pii    e-mail addresses and phone numbers -> <email>, <phone> (off by default);
               its stats count them ("replaced": {"emails": n, "phones": m})
  length       too short / too long
  quality      Gopher-style heuristics (Rae et al. 2021, "Scaling Language
               Models", appendix A), with thresholds loosened for short texts
  language     py3langid among the kept languages and their confusers

then, globally, exact and near-duplicate removal (see dedup.py):

  pass 1  clean_shard(in, out, cfg)        per shard, in parallel; also writes the dedup sidecar
  pass 2  find_duplicates(sidecars, cfg)   once, over all sidecars
  pass 3  apply_drops(out, final, result)  per shard, in parallel

Accounting: documents_in = documents_out + the documents every filter
dropped (dedup included), and likewise for characters, where a filter's
chars_removed is the length it took off the documents it changed or dropped.
`check_identity` verifies both.
"""
from __future__ import annotations

import copy
import json
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from ..atomic import AtomicFile

from ..config import ConfigError
from ..ledger import Ledger
from . import langid
from .dedup import DedupResult, Duplicate, SidecarWriter, excerpt, find_duplicates, sidecar_path
from .documents import SCHEMA, Document, read_shard

__all__ = [
    "CleanConfig", "FilterStats", "ShardStats", "FILTERS", "clean_document", "clean_shard", "find_duplicates",
    "apply_drops", "merge_stats", "check_identity", "normalize_text", "strip_boilerplate", "scrub_pii",
    "quality_issue", "sidecar_path", "DedupResult", "Duplicate",
]

FILTERS = ("normalize", "boilerplate", "scrub_pii", "length", "quality", "language", "dedup")
REPLACED = {"scrub_pii": ("emails", "phones")}  # filters that count what they replaced, and the kinds


@dataclass(frozen=True)
class CleanConfig:
    """Every threshold of the clean step. Defaults are tuned on the default
    corpus (Bibles, novels, the Debian handbook and ~10,700 one-line Spanish
    proverbs), so they keep short, clean texts that Gopher's rules (made for
    web pages of 50+ words) would throw away. Document-level ratio rules only
    apply once a text is long enough for the ratio to mean something."""

    # normalize / boilerplate / scrub_pii
    normalize: bool = True
    boilerplate: bool = True
    scrub_emails: bool = False
    scrub_phones: bool = False
    # length, in characters after the edits above. 12 keeps whole proverbs
    # such as "Tal para cual." (Gopher's 50-word minimum would drop them all).
    min_chars: int = 12
    max_chars: int = 1_000_000
    # quality (Gopher's values unless said otherwise)
    quality: bool = True
    min_words: int = 2  # Gopher: 50
    max_words: int = 200_000  # Gopher: 100,000
    word_rules_min_words: int = 30  # mean word length, symbol ratio, alphabetic words: only from 30 words
    min_mean_word_len: float = 3.0
    max_mean_word_len: float = 10.0
    max_symbol_ratio: float = 0.1  # ("#" + "..." + "…") per word
    min_alpha_words: float = 0.8  # share of words with at least one letter
    line_rules_min_lines: int = 5  # line and paragraph rules: only from 5 lines (paragraphs)
    max_bullet_lines: float = 0.9  # share of lines starting with a bullet
    max_ellipsis_lines: float = 0.3  # share of lines ending in "..." or "…"
    max_dup_lines: float = 0.3  # share of lines that repeat an earlier line
    max_dup_line_chars: float = 0.2  # share of characters in such lines
    max_dup_paragraphs: float = 0.3
    max_dup_paragraph_chars: float = 0.2
    ngram_rules_min_words: int = 100  # top n-gram rules: only from 100 words
    max_top_2gram: float = 0.2  # share of word characters covered by the most frequent 2-gram
    max_top_3gram: float = 0.18
    max_top_4gram: float = 0.16
    # language; an empty list keeps every language (documents are still labelled)
    languages: tuple[str, ...] = ("es", "en")
    lang_confusers: tuple[str, ...] = langid.CONFUSERS
    min_lang_score: float = 0.5  # a kept language the classifier finds with at least this probability is kept
    min_hint_score: float = 0.1  # else a kept meta "lang" hint is kept if the classifier gives it at least this
    lang_hint_max_chars: int = 40  # below this many chars a kept hint is trusted without asking the classifier
    lang_sample_chars: int = 3000  # longer texts are classified on 3 windows (start, middle, end) of 1000 chars
    # dedup
    exact_dedup: bool = True
    near_dedup: bool = True
    num_perm: int = 128
    near_threshold: float = 0.8
    shingle_words: int = 5
    # reports
    examples_per_filter: int = 3
    batch_docs: int = 500  # documents held in memory at a time

    def __post_init__(self) -> None:
        minimums = {"min_chars": 0, "max_chars": 1, "min_words": 0, "max_words": 1, "num_perm": 2,
                    "shingle_words": 1, "batch_docs": 1, "examples_per_filter": 0, "lang_sample_chars": 30}
        for name, low in minimums.items():
            if getattr(self, name) < low:
                raise ConfigError(f"clean.{name} must be at least {low}, got {getattr(self, name)}")
        for name in ("max_symbol_ratio", "min_alpha_words", "max_bullet_lines", "max_ellipsis_lines", "max_dup_lines",
                     "max_dup_line_chars", "max_dup_paragraphs", "max_dup_paragraph_chars", "max_top_2gram",
                     "max_top_3gram", "max_top_4gram", "min_lang_score", "min_hint_score", "near_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"clean.{name} must be between 0 and 1, got {getattr(self, name)}")
        if self.min_chars > self.max_chars or self.min_words > self.max_words:
            raise ConfigError("clean: a minimum exceeds its maximum (min_chars/max_chars or min_words/max_words)")
        if self.min_mean_word_len > self.max_mean_word_len:
            raise ConfigError("clean.min_mean_word_len exceeds clean.max_mean_word_len")

    @property
    def lang_candidates(self) -> tuple[str, ...]:
        return langid.candidate_set(self.languages, self.lang_confusers) if self.languages else ()


# ---------------------------------------------------------------------------
# text functions (pure; the filters below wrap them)
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")  # C0/C1 controls except \t \n, and stray BOMs
_TRAILING_WS = re.compile(r"[ \t]+$", re.M)
_BLANK_RUN = re.compile(r"\n{4,}")  # 3+ blank lines


def normalize_text(text: str) -> tuple[str, list[str]]:
    """The normalised text and the names of the steps that changed it."""
    steps = []

    def step(name: str, new: str) -> str:
        if new != cur:
            steps.append(name)
        return new

    cur = text
    cur = step("line ends", cur.replace("\r\n", "\n").replace("\r", "\n"))
    cur = step("NFC", unicodedata.normalize("NFC", cur))
    cur = step("control chars", _CONTROL.sub("", cur))
    cur = step("trailing spaces", _TRAILING_WS.sub("", cur))
    # Two blank lines can mark a section break; more is padding.
    cur = step("blank lines", _BLANK_RUN.sub("\n\n\n", cur).strip("\n"))
    return cur, steps


# Phrases that only occur in licence texts (checked on a whole block, lower-cased).
_LICENCE = re.compile(
    r"is free software|without any warranty|permission is hereby granted|licensed under the apache license"
    r"|spdx-license-identifier|all rights reserved|you should have received a copy of the gnu"
    r"|provided by the copyright holders|provided [\"'“]?as is|es software libre|sin ninguna garantía"
    r"|todos los derechos reservados"
)
# A notice, not a heading: "Copyright (C) 2003 Jane Doe", "© 1998-2004 ACME", with a year.
_COPYRIGHT_LINE = re.compile(r"^\W{0,4}(?:copyright\b|\(c\)|©)(?=.{0,80}\b(?:1[89]|20)\d\d\b).{0,120}$", re.I)
_DECORATION = re.compile(r"^[\s#*/=\-_~<>!;%]*$")  # comment frames: "/*", " */", "#####"
_PAGE_NUMBER = re.compile(r"^\s*(?:[-–—]\s*\d{1,4}\s*[-–—]|(?:page|p[áa]g(?:ina|\.)?)\s*\d{1,4}(?:\s*(?:of|de|/)\s*\d{1,4})?)\s*$", re.I)
_VERSE = re.compile(r"^(?:(\d{1,3}):)?(\d{1,3})[ \t]+(?=\S)")
_BLOCK_SPLIT = re.compile(r"\n[ \t]*\n")


def strip_boilerplate(text: str) -> tuple[str, Counter]:
    """Remove packaging boilerplate; returns the text and {kind: lines removed}.

    Conservative by construction: licence blocks only at the start or end of
    a document; page numbers only as whole lines in page-number shapes; verse
    numbers only when most lines start with a number and those numbers count
    up by one, as verses do (prose that starts lines with years or counts does
    not)."""
    removed: Counter = Counter()
    new = _strip_licence(text, removed)
    lines = new.split("\n")
    kept = [ln for ln in lines if not _PAGE_NUMBER.match(ln)]
    removed["page numbers"] += len(lines) - len(kept)
    kept, n = _strip_verse_numbers(kept)
    removed["verse numbers"] += n
    removed = +removed
    return ("\n".join(kept).strip("\n") if removed else text), removed


def _is_licence_block(block: str) -> bool:
    lines = [ln for ln in block.split("\n") if ln.strip()]
    if not lines:
        return True
    if all(_COPYRIGHT_LINE.match(ln) or _DECORATION.match(ln) for ln in lines):
        return True
    # A short block with a licence phrase is a header; a long one is prose about licences.
    return len(lines) <= 20 and len(block) <= 2000 and bool(_LICENCE.search(" ".join(block.lower().split())))


def _strip_licence(text: str, removed: Counter) -> str:
    """Drop licence blocks at either end, then notice lines glued to the first
    or last line (documents without blank lines). Cuts the original text, so
    the separators between the blocks that stay are untouched."""
    spans, pos = [], 0
    for m in _BLOCK_SPLIT.finditer(text):
        spans.append((pos, m.start()))
        pos = m.end()
    spans.append((pos, len(text)))
    lo, hi = 0, len(spans)
    while lo < hi and _is_licence_block(text[spans[lo][0] : spans[lo][1]]):
        removed["licence lines"] += _count_lines(text[spans[lo][0] : spans[lo][1]])
        lo += 1
    while hi > lo and _is_licence_block(text[spans[hi - 1][0] : spans[hi - 1][1]]):
        removed["licence lines"] += _count_lines(text[spans[hi - 1][0] : spans[hi - 1][1]])
        hi -= 1
    if lo == hi:
        return ""
    lines = text[spans[lo][0] : spans[hi - 1][1]].split("\n")
    while len(lines) > 1 and _COPYRIGHT_LINE.match(lines[0]):
        lines.pop(0)
        removed["licence lines"] += 1
    while len(lines) > 1 and _COPYRIGHT_LINE.match(lines[-1]):
        lines.pop()
        removed["licence lines"] += 1
    return "\n".join(lines)


def _count_lines(block: str) -> int:
    return sum(1 for ln in block.split("\n") if ln.strip())


def _strip_verse_numbers(lines: list[str]) -> tuple[list[str], int]:
    content = [i for i, ln in enumerate(lines) if ln.strip()]
    hits = {i: m for i in content if (m := _VERSE.match(lines[i]))}
    if len(hits) < 3 or len(hits) < 0.6 * len(content):
        return lines, 0
    verses = [int(m.group(2)) for _, m in sorted(hits.items())]
    # Verses count up by one (back to 1 at a new chapter); quantities, years
    # and program line numbers (10, 20, ...) do not.
    steps_ok = sum(b == a + 1 or (b == 1 and a > 1) for a, b in zip(verses, verses[1:]))
    if steps_ok < 0.8 * (len(verses) - 1):
        return lines, 0
    out = [ln[hits[i].end():] if i in hits else ln for i, ln in enumerate(lines)]
    return out, len(hits)


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# Digit groups, not inside a longer token (a dotted version number, a word).
_PHONE = re.compile(r"(?<![\w+])(?<!\d\.)(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){2,4}(?!\w|\.\d)")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def scrub_pii(text: str, emails: bool = True, phones: bool = True) -> tuple[str, Counter]:
    """Replace e-mail addresses by <email> and phone numbers (9 to 15 digits in
    groups, optionally +country code) by <phone>. Heuristic: dates and years
    have too few digits to match; IPv4 addresses are left alone."""
    found: Counter = Counter()
    if emails:
        text, found["emails"] = _EMAIL.subn("<email>", text)
    if phones:
        def phone(m: re.Match) -> str:
            s = m.group(0)
            if 9 <= sum(c.isdigit() for c in s) <= 15 and not _IPV4.match(s):
                found["phones"] += 1
                return "<phone>"
            return s
        text = _PHONE.sub(phone, text)
    return text, +found


# Not "-" or "—": Spanish dialogue starts every line with a dash.
_BULLETS = ("•", "●", "○", "◦", "▪", "■", "□", "‣", "⁃", "➢", "►", "✓", "* ", "· ")
_SYMBOLS = re.compile(r"#|\.\.\.|…")  # Gopher's symbols: hash and ellipsis
_NGRAM_WORD = re.compile(r"\w+")
_NO_LETTER_WORD = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")  # a whitespace-delimited word without a letter
_URL = re.compile(r"(?<!\S)(?:https?://|www\.)\S+")


def quality_issue(text: str, cfg: CleanConfig) -> tuple[str, str] | None:
    """The first Gopher-style rule the text breaks, as (rule, why), or None."""
    words = text.split()
    n = len(words)
    if n < cfg.min_words:
        return "too_few_words", f"{n} words < {cfg.min_words}"
    if n > cfg.max_words:
        return "too_many_words", f"{n} words > {cfg.max_words}"
    for check in (_word_rules, _line_rules, _ngram_rules):
        issue = check(text, words, cfg)
        if issue:
            return issue
    return None


def _word_rules(text: str, words: list[str], cfg: CleanConfig) -> tuple[str, str] | None:
    n = len(words)
    if n < cfg.word_rules_min_words:
        return None
    # URLs are not words: a page citing three links is not gibberish.
    urls = _URL.findall(text)
    mean = (sum(map(len, words)) - sum(map(len, urls))) / max(1, n - len(urls))
    if not cfg.min_mean_word_len <= mean <= cfg.max_mean_word_len:
        return "mean_word_length", f"mean word length {mean:.1f} outside [{cfg.min_mean_word_len}, {cfg.max_mean_word_len}]"
    ratio = len(_SYMBOLS.findall(text)) / n
    if ratio > cfg.max_symbol_ratio:
        return "symbol_ratio", f"{ratio:.2f} '#'/ellipses per word > {cfg.max_symbol_ratio}"
    alpha = 1 - len(_NO_LETTER_WORD.findall(text)) / n
    if alpha < cfg.min_alpha_words:
        return "alpha_words", f"{alpha:.2f} of words have a letter < {cfg.min_alpha_words}"
    return None


def _line_rules(text: str, words: list[str], cfg: CleanConfig) -> tuple[str, str] | None:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) >= cfg.line_rules_min_lines:
        bullets = sum(ln.startswith(_BULLETS) or ln in ("*", "•") for ln in lines) / len(lines)
        if bullets > cfg.max_bullet_lines:
            return "bullet_lines", f"{bullets:.2f} of lines start with a bullet > {cfg.max_bullet_lines}"
        ellipsis = sum(ln.endswith(("...", "…")) for ln in lines) / len(lines)
        if ellipsis > cfg.max_ellipsis_lines:
            return "ellipsis_lines", f"{ellipsis:.2f} of lines end in an ellipsis > {cfg.max_ellipsis_lines}"
        issue = _dup_rule("dup_lines", lines, cfg.max_dup_lines, cfg.max_dup_line_chars)
        if issue:
            return issue
    paragraphs = [p.strip() for p in _BLOCK_SPLIT.split(text) if p.strip()]
    if len(paragraphs) >= cfg.line_rules_min_lines:
        return _dup_rule("dup_paragraphs", paragraphs, cfg.max_dup_paragraphs, cfg.max_dup_paragraph_chars)
    return None


def _dup_rule(name: str, items: list[str], max_share: float, max_chars: float) -> tuple[str, str] | None:
    """Share of items (and of their characters) that repeat an earlier item."""
    seen: set[str] = set()
    dup_n = dup_chars = 0
    for it in items:
        if it in seen:
            dup_n += 1
            dup_chars += len(it)
        seen.add(it)
    share, chars = dup_n / len(items), dup_chars / max(1, sum(map(len, items)))
    if share > max_share or chars > max_chars:
        return name, f"{share:.2f} of {name.split('_')[1]} repeat (limit {max_share}), {chars:.2f} of chars (limit {max_chars})"
    return None


def _ngram_rules(text: str, words: list[str], cfg: CleanConfig) -> tuple[str, str] | None:
    if len(words) < cfg.ngram_rules_min_words:
        return None
    toks = _NGRAM_WORD.findall(text.lower())
    total = sum(map(len, toks))
    for n, limit in ((2, cfg.max_top_2gram), (3, cfg.max_top_3gram), (4, cfg.max_top_4gram)):
        if len(toks) < n or not total:
            continue
        gram, count = Counter(zip(*(toks[i:] for i in range(n)))).most_common(1)[0]
        share = count * sum(map(len, gram)) / total
        if count > 1 and share > limit:
            return f"top_{n}gram", f"'{' '.join(gram)}' x{count} covers {share:.2f} of chars > {limit}"
    return None


# ---------------------------------------------------------------------------
# the filters: each returns None (keep as is), Change or Drop
# ---------------------------------------------------------------------------


class Change(NamedTuple):
    text: str
    why: str
    excerpt: str
    counts: Mapping[str, int] | None = None  # what a filter replaced, by kind (scrub_pii: emails, phones)


class Drop(NamedTuple):
    reason: str
    why: str


Outcome = Change | Drop | None


def _f_normalize(doc: Document, cfg: CleanConfig) -> Outcome:
    if not cfg.normalize:
        return None
    new, steps = normalize_text(doc.text)
    return Change(new, ", ".join(steps), excerpt(doc.text)) if new != doc.text else None


def _f_boilerplate(doc: Document, cfg: CleanConfig) -> Outcome:
    if not cfg.boilerplate:
        return None
    new, removed = strip_boilerplate(doc.text)
    if new == doc.text:
        return None
    if not new.strip():
        return Drop("boilerplate:empty", "nothing left after removing boilerplate")
    left = set(new.split("\n"))
    first_gone = next((ln for ln in doc.text.split("\n") if ln.strip() and ln not in left), "")
    return Change(new, "removed " + ", ".join(f"{n} {k}" for k, n in removed.items()), excerpt(first_gone))


def _f_scrub_pii(doc: Document, cfg: CleanConfig) -> Outcome:
    if not (cfg.scrub_emails or cfg.scrub_phones):
        return None
    new, found = scrub_pii(doc.text, cfg.scrub_emails, cfg.scrub_phones)
    if new == doc.text:
        return None
    return Change(new, "replaced " + ", ".join(f"{n} {k}" for k, n in found.items()), excerpt(new), dict(found))


def _f_length(doc: Document, cfg: CleanConfig) -> Outcome:
    n = len(doc.text.strip())
    if n < cfg.min_chars:
        return Drop("length:too_short", f"{n} chars < {cfg.min_chars}")
    if n > cfg.max_chars:
        return Drop("length:too_long", f"{n:,} chars > {cfg.max_chars:,}")
    return None


def _f_quality(doc: Document, cfg: CleanConfig) -> Outcome:
    issue = quality_issue(doc.text, cfg) if cfg.quality else None
    return Drop(f"quality:{issue[0]}", issue[1]) if issue else None


def _f_language(doc: Document, cfg: CleanConfig) -> Outcome:
    """Label the document's language in meta (lang, lang_score, lang_by) and
    drop it unless it is in a kept language.

    Kept: (1) a text under lang_hint_max_chars whose meta "lang" hint is a kept
    language (langid guesses on a dozen characters; the source knows);
    (2) a text whose most likely language is kept, with p >= min_lang_score;
    (3) a text whose kept hint gets p >= min_hint_score: on one-line quotes the
    classifier spreads its mass over es/gl/pt/ca, and the hint breaks the tie,
    while a text really in another language gives the hint almost nothing."""
    keep = set(cfg.languages)
    hint = doc.meta.get("lang")
    hint = hint if isinstance(hint, str) and (hint in keep or not keep) else None
    if hint and len(doc.text.strip()) < cfg.lang_hint_max_chars:
        return _label(doc, hint, None, "hint")
    probs = langid.probabilities(_lang_sample(doc.text, cfg.lang_sample_chars), cfg.lang_candidates)
    top, p = next(iter(probs.items()))
    if not keep or (top in keep and p >= cfg.min_lang_score):
        return _label(doc, top, p, "langid")
    if hint and probs.get(hint, 0.0) >= cfg.min_hint_score:
        return _label(doc, hint, probs[hint], "langid+hint")
    _label(doc, top, p, "langid")
    if top not in keep:
        hint_note = f"; hint {hint} only p={probs.get(hint, 0.0):.2f}" if hint else ""
        return Drop(f"language:{top}", f"identified as {top} (p={p:.2f}{hint_note})")
    return Drop("language:low_confidence", f"{top} with p={p:.2f} < {cfg.min_lang_score}")


def _label(doc: Document, lang: str, score: float | None, by: str) -> None:
    if doc.meta.get("lang") not in (None, lang):
        doc.meta["lang_hint"] = doc.meta["lang"]
    doc.meta.update(lang=lang, lang_score=None if score is None else round(score, 4), lang_by=by)


def _lang_sample(text: str, limit: int) -> str:
    """The text, or for a long one three windows of it: langid's cost grows
    with length, its accuracy stops growing after a few hundred characters."""
    if len(text) <= limit:
        return text
    w = limit // 3
    mid = (len(text) - w) // 2
    return "\n".join((text[:w], text[mid : mid + w], text[-w:]))


_PIPELINE: tuple[tuple[str, Callable[[Document, CleanConfig], Outcome]], ...] = (
    ("normalize", _f_normalize),
    ("boilerplate", _f_boilerplate),
    ("scrub_pii", _f_scrub_pii),
    ("length", _f_length),
    ("quality", _f_quality),
    ("language", _f_language),
)


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------


@dataclass
class FilterStats:
    """What one filter did: the documents it dropped, a `Ledger` of them by reason,
    plus the documents it changed and the characters it took off both. Its
    examples (dropped and changed) are bounded in all by the `limit` each call
    passes (`CleanConfig.examples_per_filter`), not per reason."""

    docs_changed: int = 0
    chars_removed: int = 0  # may be negative for a filter that lengthens text (<email> for a@b.cd)
    ledger: Ledger = field(default_factory=lambda: Ledger(per_reason=None))
    # What the filter replaced, by kind, over every document it changed (even one a later
    # filter drops); None for filters that replace nothing, so their summary has no key.
    replaced: dict[str, int] | None = None

    @classmethod
    def new(cls, name: str) -> FilterStats:
        """Empty stats for filter `name`: scrub_pii counts its replacements from zero, so a
        summary says "0 e-mails" rather than nothing when scrubbing found none."""
        return cls(replaced=dict.fromkeys(REPLACED[name], 0) if name in REPLACED else None)

    @property
    def docs_dropped(self) -> int:
        return self.ledger.total

    @property
    def reasons(self) -> dict[str, int]:
        return self.ledger.reasons()

    @property
    def examples(self) -> list[dict[str, Any]]:
        return self.ledger.examples

    def dropped(self, doc: Document, reason: str, why: str, limit: int) -> None:
        self.chars_removed += len(doc.text)
        self.ledger.max_examples = limit
        self.ledger.skip(reason, example={"id": doc.id, "excerpt": excerpt(doc.text), "why": f"{reason}: {why}"})

    def changed(self, doc: Document, new_text: str, why: str, excerpt_: str, limit: int,
                counts: Mapping[str, int] | None = None) -> None:
        self.docs_changed += 1
        self.chars_removed += len(doc.text) - len(new_text)
        self._add_replaced(counts)
        self.ledger.max_examples = limit
        self.ledger.example(None, {"id": doc.id, "excerpt": excerpt_, "why": why})

    def merge(self, other: FilterStats, limit: int) -> None:
        """Add `other`'s figures; examples in order, `limit` in all."""
        self.docs_changed += other.docs_changed
        self.chars_removed += other.chars_removed
        self._add_replaced(other.replaced)
        self.ledger.max_examples = limit
        self.ledger.merge(other.ledger)

    def _add_replaced(self, counts: Mapping[str, int] | None) -> None:
        if counts is None:
            return
        self.replaced = dict(self.replaced or {})
        for kind, n in counts.items():
            self.replaced[kind] = self.replaced.get(kind, 0) + n

    def to_dict(self) -> dict[str, Any]:
        led = self.ledger.to_dict()
        out = {"docs_dropped": led["skipped"], "docs_changed": self.docs_changed,
               "chars_removed": self.chars_removed, "reasons": led["reasons"], "examples": led["examples"]}
        if self.replaced is not None:
            out["replaced"] = dict(self.replaced)
        return out

    @classmethod
    def from_dict(cls, fd: Mapping[str, Any]) -> FilterStats:
        """What `to_dict` wrote (docs_dropped is the sum of the reasons)."""
        replaced = fd.get("replaced")
        return cls(fd.get("docs_changed", 0), fd.get("chars_removed", 0),
                   Ledger.from_dict(fd, per_reason=None), dict(replaced) if replaced is not None else None)


@dataclass
class ShardStats:
    """What cleaning did to one shard (or, merged, to many)."""

    shard: str = ""
    documents_in: int = 0
    documents_out: int = 0
    chars_in: int = 0
    chars_out: int = 0
    filters: dict[str, FilterStats] = field(default_factory=lambda: {n: FilterStats.new(n) for n in FILTERS})
    languages: dict[str, dict[str, int]] = field(default_factory=dict)  # kept: lang -> documents, chars, bytes
    sources: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> documents_in/out, chars_in/out
    sidecar: str | None = None
    seconds: float = 0.0

    def count_in(self, doc: Document) -> None:
        self.documents_in += 1
        self.chars_in += len(doc.text)
        s = self._source(doc.source)
        s["documents_in"] += 1
        s["chars_in"] += len(doc.text)

    def count_out(self, doc: Document) -> None:
        self.documents_out += 1
        self.chars_out += len(doc.text)
        s = self._source(doc.source)
        s["documents_out"] += 1
        s["chars_out"] += len(doc.text)
        lang = self.languages.setdefault(str(doc.meta.get("lang") or "?"), {"documents": 0, "chars": 0, "bytes": 0})
        lang["documents"] += 1
        lang["chars"] += len(doc.text)
        lang["bytes"] += len(doc.text.encode("utf-8"))

    def _source(self, name: str) -> dict[str, int]:
        return self.sources.setdefault(name, {"documents_in": 0, "documents_out": 0, "chars_in": 0, "chars_out": 0})

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self) if f.name != "filters"}
        out["filters"] = {k: v.to_dict() for k, v in self.filters.items()}
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ShardStats":
        known = {f.name for f in fields(cls)}
        d = copy.deepcopy(dict(d))
        s = cls(**{k: v for k, v in d.items() if k in known and k != "filters"})
        for name, fd in (d.get("filters") or {}).items():
            s.filters[name] = FilterStats.from_dict(fd)
        return s


def merge_stats(stats: Iterable[ShardStats | Mapping[str, Any]], examples_per_filter: int = 3) -> dict[str, Any]:
    """Sum per-shard stats into one dict of the same shape (plus "shards": the
    shard names). Examples are kept in input order, `examples_per_filter` each."""
    total = {"shards": [], "documents_in": 0, "documents_out": 0, "chars_in": 0, "chars_out": 0,
             "filters": {n: FilterStats.new(n).to_dict() for n in FILTERS}, "languages": {}, "sources": {}, "seconds": 0.0}
    for s in stats:
        d = s.to_dict() if isinstance(s, ShardStats) else s
        if d.get("shards"):
            total["shards"] += list(d["shards"])
        elif d.get("shard"):
            total["shards"].append(d["shard"])
        for k in ("documents_in", "documents_out", "chars_in", "chars_out", "seconds"):
            total[k] += d.get(k, 0)
        for name, fd in d.get("filters", {}).items():
            _merge_filter(total["filters"].setdefault(name, FilterStats.new(name).to_dict()), fd, examples_per_filter)
        for key in ("languages", "sources"):
            for name, counts in d.get(key, {}).items():
                slot = total[key].setdefault(name, {})
                for k, v in counts.items():
                    slot[k] = slot.get(k, 0) + v
    total["seconds"] = round(total["seconds"], 3)
    total["languages"] = dict(sorted(total["languages"].items()))
    total["sources"] = dict(sorted(total["sources"].items()))
    return total


def _merge_filter(into: dict[str, Any], fd: Mapping[str, Any], limit: int) -> None:
    total = FilterStats.from_dict(into)
    total.merge(FilterStats.from_dict(fd), limit)
    into.update(total.to_dict())


def check_identity(stats: ShardStats | Mapping[str, Any]) -> None:
    """Raise ValueError unless every document and character that came in is
    either out or accounted for by a filter."""
    d = stats.to_dict() if isinstance(stats, ShardStats) else stats
    filters = d["filters"].values()
    dropped = sum(f["docs_dropped"] for f in filters)
    removed = sum(f["chars_removed"] for f in filters)
    if d["documents_in"] != d["documents_out"] + dropped:
        raise ValueError(f"clean accounting: documents_in {d['documents_in']} != documents_out {d['documents_out']}"
                         f" + dropped {dropped} ({ {k: f['docs_dropped'] for k, f in d['filters'].items()} })")
    if d["chars_in"] != d["chars_out"] + removed:
        raise ValueError(f"clean accounting: chars_in {d['chars_in']} != chars_out {d['chars_out']} + removed {removed}")


# ---------------------------------------------------------------------------
# documents and shards
# ---------------------------------------------------------------------------


def clean_document(doc: Document, cfg: CleanConfig, stats: ShardStats | None = None) -> Document | None:
    """Run the filters on one document: the cleaned copy, or None if dropped.
    Counts into `stats` when given (the caller counts the document in/out)."""
    doc = Document(doc.id, doc.source, doc.text, dict(doc.meta))
    for name, f in _PIPELINE:
        outcome = f(doc, cfg)
        fs = stats.filters[name] if stats is not None else None
        if isinstance(outcome, Drop):
            if fs is not None:
                fs.dropped(doc, outcome.reason, outcome.why, cfg.examples_per_filter)
            return None
        if isinstance(outcome, Change):
            if fs is not None:
                fs.changed(doc, outcome.text, outcome.why, outcome.excerpt, cfg.examples_per_filter, outcome.counts)
            doc.text = outcome.text
    return doc


class _ShardOut:
    """Writes documents to one Parquet file in `batch` sized row groups; the
    file appears under its name only when complete (empty shards too)."""

    def __init__(self, path: Path, batch: int):
        self.path, self.batch = path, batch
        self.out = AtomicFile(path)
        self.writer = pq.ParquetWriter(self.out.file, SCHEMA, compression="zstd")
        self.rows: list[Document] = []

    def write(self, doc: Document) -> None:
        self.rows.append(doc)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.writer.write_table(_table(self.rows))
            self.rows = []

    def close(self) -> None:
        self.flush()
        self.writer.close()
        self.out.commit()

    def abort(self) -> None:
        self.writer.close()
        self.out.discard()


def _table(docs: list[Document]) -> pa.Table:
    # Same layout as documents.ShardWriter: meta as sorted-key JSON, so equal input gives equal bytes.
    return pa.table({"id": [d.id for d in docs], "source": [d.source for d in docs], "text": [d.text for d in docs],
                     "meta": [json.dumps(d.meta, ensure_ascii=False, sort_keys=True) for d in docs]}, schema=SCHEMA)


def _check_paths(in_path: Path, out_path: Path) -> None:
    if not in_path.is_file():
        raise FileNotFoundError(f"{in_path}: shard not found")
    if in_path.resolve() == out_path.resolve():
        raise ValueError(f"{in_path}: output must be a different file from the input")
    out_path.parent.mkdir(parents=True, exist_ok=True)


def clean_shard(in_path: str | Path, out_path: str | Path, cfg: CleanConfig) -> ShardStats:
    """Pass 1: filter one shard into `out_path` and write its dedup sidecar
    (`sidecar_path(out_path)`). Streams `cfg.batch_docs` documents at a time;
    the output keeps the input order, so it is byte-identical across runs."""
    in_path, out_path = Path(in_path), Path(out_path)
    _check_paths(in_path, out_path)
    start = time.perf_counter()
    stats = ShardStats(shard=out_path.name, sidecar=str(sidecar_path(out_path)))
    out = _ShardOut(out_path, cfg.batch_docs)
    side = SidecarWriter(sidecar_path(out_path), out_path.name, cfg.num_perm, cfg.shingle_words,
                         near=cfg.near_dedup, batch=cfg.batch_docs)
    try:
        for doc in read_shard(in_path, batch_size=cfg.batch_docs):
            stats.count_in(doc)
            kept = clean_document(doc, cfg, stats)
            if kept is not None:
                stats.count_out(kept)
                out.write(kept)
                side.add(kept.id, kept.text)
    except BaseException:
        out.abort()
        side.abort()
        raise
    out.close()
    side.close()
    stats.seconds = round(time.perf_counter() - start, 3)
    return stats


def apply_drops(shard_path: str | Path, out_path: str | Path,
                drops: DedupResult | Mapping[str, Duplicate | str] | Collection[str],
                base: ShardStats | Mapping[str, Any] | None = None, examples_per_filter: int = 3) -> ShardStats:
    """Pass 3: copy a cleaned shard to `out_path` without the duplicates.

    `drops` is pass 2's DedupResult (matched by shard name and row, exact even
    when ids repeat), or ids: a mapping id -> Duplicate/reason, or a set.
    With `base` (this shard's pass-1 stats) the result covers both passes:
    documents_in is the raw count and the dedup drops are added to its
    filters; without it, the cleaned shard is the input.
    """
    shard_path, out_path = Path(shard_path), Path(out_path)
    _check_paths(shard_path, out_path)
    start = time.perf_counter()
    stats = _stats_for_apply(shard_path, out_path, base)
    by_row = drops.by_shard.get(shard_path.name, {}) if isinstance(drops, DedupResult) else None
    fs = stats.filters.setdefault("dedup", FilterStats())
    out = _ShardOut(out_path, 500)
    try:
        for row, doc in enumerate(read_shard(shard_path, batch_size=500)):
            if base is None:
                stats.count_in(doc)
            dup = by_row.get(row) if by_row is not None else _lookup(drops, doc.id)
            if dup is None:
                stats.count_out(doc)
                out.write(doc)
            else:
                reason, why = (dup.reason, f"{'copy' if dup.reason == 'dedup:exact' else 'near copy'} of {dup.dup_of}") \
                    if isinstance(dup, Duplicate) else (str(dup), str(dup))
                fs.dropped(doc, reason, why, examples_per_filter)
    except BaseException:
        out.abort()
        raise
    out.close()
    stats.seconds = round(stats.seconds + time.perf_counter() - start, 3)
    return stats


def _lookup(drops: Mapping[str, Any] | Collection[str], doc_id: str) -> Duplicate | str | None:
    if isinstance(drops, Mapping):
        return drops.get(doc_id)
    return "dedup" if doc_id in drops else None


def _stats_for_apply(shard_path: Path, out_path: Path, base: ShardStats | Mapping[str, Any] | None) -> ShardStats:
    """The stats apply_drops starts from: a copy of `base` with the output
    side zeroed (it is recounted), or fresh stats."""
    if base is None:
        return ShardStats(shard=out_path.name)
    s = ShardStats.from_dict(base.to_dict() if isinstance(base, ShardStats) else base)
    s.shard, s.sidecar = out_path.name, None
    s.documents_out = s.chars_out = 0
    s.languages = {}
    for src in s.sources.values():
        src["documents_out"] = src["chars_out"] = 0
    return s
