"""Plain readers and sums for the Data and Training pages (no Streamlit here, so it is testable).

Every function takes what a stage wrote (a summary or metrics dict, possibly
None, half-written or from an older version) and returns rows ready for a
table or a chart. A missing or odd field gives a missing value (None), never
an exception: the page still shows the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from llm_core.data.clean import FILTERS, REPLACED


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _n(x: Any) -> float | None:
    """A number, or None for anything else (a string, a list, a bool)."""
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def share(part: float | None, whole: float | None) -> float | None:
    return part / whole if part is not None and whole else None


# --------------------------------------------------------------------------- what the model read


def sources(collect: dict | None, clean: dict | None) -> list[dict]:
    """Per source: its language, what was collected (documents, characters, bytes) and what
    cleaning kept (documents, characters), with its share of all kept characters."""
    got, kept = _dict(_dict(collect).get("sources")), _dict(_dict(clean).get("sources"))
    rows = []
    for name in sorted(set(got) | set(kept)):
        g, k = _dict(got.get(name)), _dict(kept.get(name))
        rows.append({"source": name, "lang": g.get("lang") if isinstance(g.get("lang"), str) else None,
                     "documents": _n(g.get("documents")), "chars": _n(g.get("chars")), "bytes": _n(g.get("bytes")),
                     "documents_kept": _n(k.get("documents_out")), "chars_kept": _n(k.get("chars_out"))})
    return _shares(rows, "chars_kept", "chars")


def _shares(rows: list[dict], kept: str, collected: str) -> list[dict]:
    """Each row's share of the kept amount, or of the collected one before cleaning has run."""
    key = kept if any(r[kept] for r in rows) else collected
    total = sum(r[key] or 0 for r in rows)
    return [r | {"share": share(r[key], total)} for r in rows]


def languages(collect: dict | None, clean: dict | None) -> list[dict]:
    """Per language: documents and bytes collected and kept, and its share of the kept bytes
    (what the model reads most is what it will be best at)."""
    got, kept = _dict(_dict(collect).get("languages")), _dict(_dict(clean).get("languages"))
    rows = []
    for lang in sorted(set(got) | set(kept)):
        g, k = _dict(got.get(lang)), _dict(kept.get(lang))
        rows.append({"lang": lang, "documents": _n(g.get("documents")), "bytes": _n(g.get("bytes")),
                     "documents_kept": _n(k.get("documents")), "chars_kept": _n(k.get("chars")),
                     "bytes_kept": _n(k.get("bytes"))})
    return sorted(_shares(rows, "bytes_kept", "bytes"), key=lambda r: -(r["share"] or 0))


def skipped(collect: dict | None) -> list[dict]:
    """What the collect stage left out, per source and reason (pieces and characters)."""
    rows = []
    for name, src in sorted(_dict(_dict(collect).get("sources")).items()):
        for reason, what in sorted(_dict(_dict(src).get("skipped")).items()):
            what = _dict(what)
            rows.append({"source": name, "reason": str(reason), "units": _n(what.get("units")),
                         "chars": _n(what.get("chars"))})
    return rows


# --------------------------------------------------------------------------- the cleaning funnel


@dataclass(frozen=True)
class Step:
    """One filter of the clean stage: documents before and after, and what it did."""

    name: str
    before: int | None
    dropped: int | None
    after: int | None
    changed: int | None
    chars_removed: int | None
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)  # {"id", "why", "excerpt"} as strings


def funnel(clean: dict | None) -> list[Step]:
    """The filters in the order they ran (normalize ... dedup; any unknown one after),
    each with the documents left after it, starting from documents_in."""
    filters = _dict(_dict(clean).get("filters"))
    names = [f for f in FILTERS if f in filters] + sorted(f for f in filters if f not in FILTERS)
    left = _n(_dict(clean).get("documents_in"))
    steps = []
    for name in names:
        f = _dict(filters[name])
        dropped = _n(f.get("docs_dropped"))
        after = left - dropped if left is not None and dropped is not None else None
        reasons = {str(r): n for r, n in _dict(f.get("reasons")).items() if _n(n) is not None}
        steps.append(Step(name, left, dropped, after, _n(f.get("docs_changed")), _n(f.get("chars_removed")),
                          dict(sorted(reasons.items(), key=lambda x: -x[1])), _examples(f.get("examples"))))
        left = after
    return steps


def _examples(raw: Any) -> list[dict]:
    out = []
    for e in raw if isinstance(raw, list) else []:
        e = _dict(e)
        out.append({k: "" if e.get(k) is None else str(e.get(k)) for k in ("id", "why", "excerpt")})
    return out


def reason_parts(reason: str) -> tuple[str, str]:
    """'language:it' -> ('language', 'it'), 'dedup:near' -> ('dedup', 'near'): a filter's reason
    code split into its filter and its detail, for a page to put into words."""
    head, _, tail = reason.partition(":")
    return (head, tail) if tail else ("", head)


# --------------------------------------------------------------------------- e-mails and phones


@dataclass(frozen=True)
class Scrub:
    emails_on: bool  # params.yaml's setting now
    phones_on: bool
    emails: int | None  # what the last clean run replaced; None for a run older than the count
    phones: int | None
    changed: int | None  # documents changed

    @property
    def on(self) -> bool:
        return self.emails_on or self.phones_on


def scrub(clean: dict | None, params: dict | None) -> Scrub:
    """How many e-mail addresses and phone numbers the clean stage replaced, and whether
    params.yaml asks for it (clean: scrub_emails / scrub_phones, off by default)."""
    f = _dict(_dict(_dict(clean).get("filters")).get("scrub_pii"))
    replaced = f.get("replaced")
    counts = {k: (_n(_dict(replaced).get(k)) or 0) if isinstance(replaced, dict) else None
              for k in REPLACED["scrub_pii"]}
    settings = _dict(_dict(params).get("clean"))
    return Scrub(settings.get("scrub_emails") is True, settings.get("scrub_phones") is True,
                 counts["emails"], counts["phones"], _n(f.get("docs_changed")))


# --------------------------------------------------------------------------- tokens


def token_splits(tokenize: dict | None, langs: tuple[str, ...] = ("es", "en")) -> list[dict]:
    """Per split (train, val) and language: tokens, bytes and bytes per token; a row per split's
    total first."""
    m = _dict(tokenize)
    rows = []
    for split in ("train", "val"):
        for lang in (None, *langs):
            pre = f"{split}_{lang}_" if lang else f"{split}_"
            tokens, size = _n(m.get(pre + "tokens")), _n(m.get(pre + "bytes"))
            if tokens is None and size is None:
                continue
            rows.append({"split": split, "lang": lang, "tokens": tokens, "bytes": size,
                         "bytes_per_token": share(size, tokens)})
    return rows


def bytes_per_token(tokenizer: dict | None, tokenize: dict | None) -> dict[str, float]:
    """Per language, bytes per token: the tokenizer's own held-out figure, else the train split's."""
    out = {}
    for lang in ("es", "en"):
        held = _n(_dict(tokenizer).get(f"bytes_per_token_{lang}"))
        train = share(_n(_dict(tokenize).get(f"train_{lang}_bytes")), _n(_dict(tokenize).get(f"train_{lang}_tokens")))
        if (held or train) is not None:
            out[lang] = held or train
    return out


# --------------------------------------------------------------------------- training curves


def numeric_rows(rows: list) -> list[dict]:
    """A training log's rows with only their numbers (a hand-edited or foreign line can hold
    anything), and only rows that say their step: what a curve can place."""
    out = []
    for r in rows if isinstance(rows, list) else []:
        row = {k: v for k, v in _dict(r).items() if _n(v) is not None}
        if "step" in row:
            out.append(row)
    return out


def x_axis(rows: list[dict]) -> str:
    """'tokens' when every row says how many tokens were seen (the fairest x: runs with other
    batch sizes line up), else 'step' (older fine-tuning CSVs have no tokens column)."""
    return "tokens" if rows and all(_n(r.get("tokens")) is not None for r in rows) else "step"


def loss_points(rows: list[dict], x: str, series: dict[str, str]) -> list[dict]:
    """Long rows {x, value, series} for the columns in `series` (column -> label), skipping
    rows where a column is missing (validation loss is only measured now and then)."""
    out = []
    for r in rows:
        at = _n(r.get(x))
        for column, label in series.items():
            value = _n(r.get(column))
            if at is not None and value is not None:
                out.append({"x": at, "value": value, "series": label})
    return out


def scale(largest: float | None) -> tuple[float, str]:
    """(divisor, unit) to show a count in thousands or millions: 'k', 'M' or ''."""
    if largest and largest >= 1e6:
        return 1e6, "M"
    if largest and largest >= 1e4:
        return 1e3, "k"
    return 1.0, ""


def bits_per_byte(evaluate: dict | None) -> list[dict]:
    """The models' bits per byte beside the compressors' (what a page puts side by side)."""
    m = _dict(evaluate)
    rows = []
    for name, kind in (("base", "model"), ("chat", "model"), ("gzip", "compressor"), ("bz2", "compressor"),
                       ("xz", "compressor")):
        value = _n(m.get(f"{name}_bits_per_byte"))
        if value is not None:
            rows.append({"name": name, "kind": kind, "bits_per_byte": value})
    return rows


def task_accuracy(rows: list[dict], columns: tuple[str, ...] = ("base_0shot", "chat_0shot")) -> list[dict]:
    """plots/evaluate/tasks.csv as long rows {task, model, accuracy} (the macro average last)."""
    out = []
    ordered = [r for r in rows if r.get("task") != "macro"] + [r for r in rows if r.get("task") == "macro"]
    for r in ordered:
        if not isinstance(r.get("task"), str):
            continue
        for c in columns:
            if _n(r.get(c)) is not None:
                out.append({"task": r["task"], "model": c, "accuracy": r[c]})
    return out


def reply_scores(rows: list[dict]) -> dict[str, dict]:
    """plots/evaluate/replies.csv as {lang: {prompts, language, sentence, chrf}} ("all" too);
    rows with a non-numeric figure (a file being written) are left out."""
    out = {}
    for r in rows:
        figures = {k: _n(r.get(k)) for k in ("prompts", "language", "sentence", "chrf")}
        if isinstance(r.get("lang"), str) and all(v is not None for v in figures.values()):
            out[r["lang"]] = figures | {"known_words": _n(r.get("known_words"))}  # None in an older file
    return out


def turn_scores(rows: list[dict]) -> dict[str, dict]:
    """plots/evaluate/turns.csv as {"turn_1": {items, accuracy}, ..., "follow_up": ...}; rows
    with a non-numeric figure are left out."""
    out = {}
    for r in rows:
        figures = {k: _n(r.get(k)) for k in ("items", "accuracy")}
        if isinstance(r.get("turn"), str) and all(v is not None for v in figures.values()):
            out[r["turn"]] = figures
    return out
