"""The one ledger of skipped records (llm_core.ledger) and the reports built on it."""
from __future__ import annotations

import json

import pytest

from llm_core.data.chat_files import ChatFormatError, ChatReadReport
from llm_core.data.clean import FilterStats
from llm_core.data.default_corpus import CollectReport
from llm_core.data.sources import SourceError, Tally
from llm_core.ledger import Ledger, LedgerError


def test_counts_by_reason_and_by_name_in_first_seen_order():
    led = Ledger()
    led.skip("b")
    led.skip("a", 2, size=10)
    led.skip("b", size=5)
    assert list(led.counts.items()) == [("b", 2), ("a", 2)] and led.total == 4
    assert led.reasons() == {"b": 2, "a": 2} and dict(led.sizes) == {"a": 10, "b": 5}

    named = Ledger()
    named.skip("not JSON", name="books")
    named.skip("empty", name="notes")
    named.skip("not JSON", name="books")
    assert named.counts == {("books", "not JSON"): 2, ("notes", "empty"): 1}
    assert named.reasons() == {"books": {"not JSON": 2}, "notes": {"empty": 1}}


def test_examples_are_bounded_per_reason_and_in_all():
    led = Ledger(per_reason=2, max_examples=3)
    for i in range(4):
        led.skip("x", example=f"x{i}")
    led.skip("y", name="s", example="y0")  # the bound is per reason, whatever the name
    led.skip("z", example="z0")  # over max_examples: counted, not shown
    assert led.examples == ["x0", "x1", "y0"]
    assert led.examples_by_reason() == {"x": ["x0", "x1"], "y": ["y0"], "z": []}
    assert led.total == 6
    unbounded = Ledger(per_reason=None)
    for i in range(5):
        unbounded.skip("x", example=i)
    assert unbounded.examples == [0, 1, 2, 3, 4]
    assert Ledger(per_reason=0).example("x", "shown?") is False


def test_example_without_a_reason_counts_toward_max_examples_only():
    led = Ledger(per_reason=1, max_examples=2)
    assert led.example(None, "changed 1") and led.example(None, "changed 2")
    assert not led.example(None, "changed 3") and led.total == 0


def test_on_error_raises_the_named_error_before_counting():
    led = Ledger(on_error="error")
    with pytest.raises(LedgerError, match="^f.txt:3: not JSON$"):
        led.skip("not JSON", message="f.txt:3: not JSON")
    with pytest.raises(LedgerError, match="^bare reason$"):
        led.skip("bare reason")
    assert led.total == 0 and not led.examples
    led.skip("noted", on_error="skip")  # a skip that is never an error
    assert led.counts == {"noted": 1}
    with pytest.raises(KeyError):
        Ledger(error=KeyError).skip("r", on_error="error")
    with pytest.raises(ValueError, match="on_error must be 'skip' or 'error'; got 'maybe'"):
        Ledger(on_error="maybe")
    with pytest.raises(ValueError, match="got 'never'"):
        Ledger().skip("r", on_error="never")
    assert issubclass(LedgerError, ValueError)


def test_to_dict_from_dict_and_merge():
    led = Ledger(per_reason=2)
    led.skip("a", name="s1", size=3, example={"where": "1"})
    led.skip("a", name="s2", example={"where": "2"})
    led.skip("a", name="s2", example={"where": "3"})
    d = led.to_dict()
    assert d == {"skipped": 3, "reasons": {"s1": {"a": 1}, "s2": {"a": 2}}, "sizes": {"s1": {"a": 3}},
                 "examples": [{"where": "1"}, {"where": "2"}]}
    assert json.loads(json.dumps(d)) == d
    back = Ledger.from_dict(d, per_reason=2)
    assert back.to_dict() == d and back.counts == led.counts
    grouped = Ledger.from_dict(led.to_dict(examples_by_reason=True), per_reason=2)
    assert grouped.to_dict(examples_by_reason=True) == {**d, "examples": {"a": [{"where": "1"}, {"where": "2"}]}}
    assert not grouped.example("a", "third")  # reasons came back with the grouped examples

    total = Ledger(per_reason=None, max_examples=3)
    for part in (["p0", "p1"], ["q0", "q1"]):
        one = Ledger(per_reason=None)
        for ex in part:
            one.skip("r", example=ex)
        total.merge(one)
    assert total.counts == {"r": 4} and total.examples == ["p0", "p1", "q0"]


def test_the_four_reports_keep_their_skips_in_a_ledger():
    tally = Tally()
    assert isinstance(tally, Ledger) and tally.per_reason == 3 and tally.max_examples == 20
    for i in range(5):
        tally.problem("src", f"f:{i}", "not UTF-8", "x" * 300)
    assert tally.skipped == {("src", "not UTF-8"): 5} and len(tally.examples) == 3
    assert tally.examples[0] == {"source": "src", "where": "f:0", "reason": "not UTF-8", "detail": "x" * 200}
    strict = Tally(on_error="error")
    with pytest.raises(SourceError, match="^f:9: binary file: NUL bytes$"):
        strict.problem("src", "f:9", "binary file", "NUL bytes")
    strict.note("src", "f:9", "binary file")
    assert strict.skipped == {("src", "binary file"): 1}

    report = CollectReport()
    report.skip("web", "book DanGr", chars=12)
    report.skip("web", "book DanGr", 2)
    stats = report.sources["web"]
    assert isinstance(stats.ledger, Ledger) and stats.skipped == {"book DanGr": 3} and stats.skipped_chars["book DanGr"] == 12
    assert report.summary()["sources"]["web"]["skipped"] == {"book DanGr": {"units": 3, "chars": 12}}

    chat = ChatReadReport(max_examples=1)
    chat.skip("not_json", "a:1: not JSON")
    chat.skip("not_json", "a:2: not JSON")
    assert chat.as_dict() == {"records": 0, "kept": 0, "skipped": {"not_json": 2},
                              "examples": {"not_json": ["a:1: not JSON"]}, "formats": {}}
    with pytest.raises(ChatFormatError, match="^a:3: not JSON$"):
        chat.skip("not_json", "a:3: not JSON", on_error="error")
    assert chat.n_skipped == 2

    fs = FilterStats()
    assert isinstance(fs.ledger, Ledger)
    assert FilterStats.from_dict(fs.to_dict()) == fs
