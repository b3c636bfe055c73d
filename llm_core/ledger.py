"""Ledger: count skipped records by reason, keep a few examples, or raise.

Whatever reads what a person gave it (source files, chat files, documents
through the clean filters) meets records it cannot use, and nothing the user
gave may be lost silently (DESIGN.md). A `Ledger` is where such a record goes:

* counted under its reason, or under ``(name, reason)`` when the caller says
  which source or filter met it, with an optional amount (characters, bytes)
  summed beside the count;
* shown by a few examples: at most ``per_reason`` for each reason and
  ``max_examples`` in all (None: no bound), kept in the order they came;
* or, with ``on_error="error"``, raised at once as ``error(message)`` (a
  `LedgerError` unless the caller names its own type), before anything is
  counted. A call may override the mode: ``on_error="skip"`` for a skip that
  is never an error.

    ledger = Ledger(on_error="skip", per_reason=3)
    ledger.skip("not JSON", name="books", message="books.jsonl:7: not JSON",
                example={"where": "books.jsonl:7"})
    ledger.counts       # Counter({("books", "not JSON"): 1})
    ledger.to_dict()    # {"skipped": 1, "reasons": {"books": {"not JSON": 1}},
                        #  "sizes": {}, "examples": [{"where": "books.jsonl:7"}]}

Counts and examples keep first-seen order, so equal input gives equal
summaries. Domain reports (`sources.Tally`, `default_corpus.CollectReport`,
`chat_files.ChatReadReport`, `clean.FilterStats`) wrap one and add only their
own figures (documents kept, characters removed, formats read).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

ON_ERROR = ("skip", "error")

Key = Union[str, tuple[str, str]]  # reason, or (name, reason)


class LedgerError(ValueError):
    """A record met under ``on_error="error"``; the message says where and why."""


@dataclass
class Ledger:
    """Skipped records: counts (and amounts) by reason, a few examples each."""

    on_error: str = "skip"  # skip: count it; error: raise `error`
    per_reason: int | None = 3  # examples kept per reason (None: no bound)
    max_examples: int | None = None  # examples kept in all (None: no bound)
    error: type[Exception] = LedgerError
    counts: Counter = field(default_factory=Counter)  # key -> records
    sizes: Counter = field(default_factory=Counter)  # key -> amount in them (only keys given one)
    _examples: list[tuple[str | None, Any]] = field(default_factory=list, repr=False)  # (reason, example)
    _shown: Counter = field(default_factory=Counter, repr=False)  # reason -> examples kept

    def __post_init__(self) -> None:
        check_on_error(self.on_error)

    # --- recording -----------------------------------------------------------------

    def skip(self, reason: str, n: int = 1, *, name: str | None = None, size: int = 0, example: Any = None,
             message: str | None = None, on_error: str | None = None) -> None:
        """Count `n` records skipped for `reason` (under `name` if given), add `size`
        to their amount and keep `example` if the bounds allow; under on_error
        "error" (this ledger's, or this call's), raise ``error(message or reason)``
        instead and count nothing."""
        mode = self.on_error if on_error is None else check_on_error(on_error)
        if mode == "error":
            raise self.error(message if message is not None else reason)
        key: Key = reason if name is None else (name, reason)
        self.counts[key] += n
        if size:
            self.sizes[key] += size
        if example is not None:
            self.example(reason, example)

    def example(self, reason: str | None, example: Any) -> bool:
        """Keep `example` under `reason` (None: no reason, only `max_examples` bounds
        it) unless a bound is reached; whether it was kept."""
        if self.max_examples is not None and len(self._examples) >= self.max_examples:
            return False
        if self.per_reason is not None and reason is not None and self._shown[reason] >= self.per_reason:
            return False
        self._examples.append((reason, example))
        if reason is not None:
            self._shown[reason] += 1
        return True

    def merge(self, other: Ledger) -> None:
        """Add `other`'s counts and amounts, and its examples within this ledger's bounds."""
        for key, n in other.counts.items():
            self.counts[key] += n
        for key, n in other.sizes.items():
            self.sizes[key] += n
        for reason, ex in other._examples:
            self.example(reason, ex)

    # --- reading -------------------------------------------------------------------

    @property
    def total(self) -> int:
        """Records skipped, over every reason and name."""
        return sum(self.counts.values())

    @property
    def examples(self) -> list[Any]:
        """The examples kept, in the order they came."""
        return [ex for _, ex in self._examples]

    def examples_by_reason(self) -> dict[str, list[Any]]:
        """reason -> its examples, for every reason counted (first-seen order), an
        empty list where none was kept."""
        out: dict[str, list[Any]] = {_reason(key): [] for key in self.counts}
        for reason, ex in self._examples:
            if reason is not None:
                out.setdefault(reason, []).append(ex)
        return out

    def reasons(self) -> dict[str, Any]:
        """reason -> count, or name -> {reason -> count} for named keys."""
        return _nest(self.counts)

    def to_dict(self, examples_by_reason: bool = False) -> dict[str, Any]:
        """``{"skipped": total, "reasons": ..., "sizes": ..., "examples": ...}``:
        reasons and sizes as `reasons()` nests them, examples as a list (or, with
        `examples_by_reason`, a reason -> list mapping). JSON-ready when the examples are."""
        return {"skipped": self.total, "reasons": self.reasons(), "sizes": _nest(self.sizes),
                "examples": self.examples_by_reason() if examples_by_reason else self.examples}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], **settings: Any) -> Ledger:
        """A ledger holding what `to_dict` wrote (`settings`: on_error, bounds, error).
        Examples given as a list come back without their reasons, so only
        `max_examples` bounds what is added to them."""
        ledger = cls(**settings)
        for key, value in (d.get("reasons") or {}).items():
            if isinstance(value, Mapping):
                ledger.counts.update({(key, r): n for r, n in value.items()})
            else:
                ledger.counts[key] = value
        for key, value in (d.get("sizes") or {}).items():
            if isinstance(value, Mapping):
                ledger.sizes.update({(key, r): n for r, n in value.items()})
            else:
                ledger.sizes[key] = value
        examples = d.get("examples") or []
        if isinstance(examples, Mapping):
            for reason, exs in examples.items():
                ledger._examples += [(reason, ex) for ex in exs]
                ledger._shown[reason] += len(exs)
        else:
            ledger._examples += [(None, ex) for ex in examples]
        return ledger


def check_on_error(on_error: str) -> str:
    """`on_error` itself, if it is 'skip' or 'error'; else a ValueError saying so."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'skip' or 'error'; got {on_error!r}")
    return on_error


def _reason(key: Key) -> str:
    return key[1] if isinstance(key, tuple) else key


def _nest(counter: Counter) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, n in counter.items():
        if isinstance(key, tuple):
            out.setdefault(key[0], {})[key[1]] = n
        else:
            out[key] = n
    return out
