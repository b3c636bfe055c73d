"""Building the task suite: documents and verses in, train and held-out items out.

Items come from the cleaned corpus (sentences), the aligned Bible verses and the
numbers 0..20, and are chosen by hashes with the seed, never by the order of the
input: the same inputs and seed give the same items in the same order, whatever
order the documents arrive in. Train and held-out never share a source unit: each
sentence (by its text), verse (by its English text) and pair of numbers goes to one
side by a hash before any item is made from it (held-out when
hash < heldout_fraction * 2^64), so a held-out item tests an input the fine-tuned
model never saw in a task. Documents are streamed: for each (task, language,
split) only a bounded sample is kept (the k smallest hashes), so memory does not
grow with the corpus. Selection then takes, per task and split, the smallest keys
round robin over the languages, one item per prompt.
"""
from __future__ import annotations

import hashlib
import heapq
import logging
import math
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from ..data.documents import Document
from ..data.sentences import is_clean_sentence, split_sentences
from .items import LANGS, TASKS, TaskItem, TaskSuite, count_items, make_item
from .keys import Rng, stable_hash
from .makers import PROMPTS, SENTENCE_MAKERS, SENTENCE_TASKS, arithmetic_problems

log = logging.getLogger("llm_core.tasks")


def _sentence_keys(seed: int, sentence: str) -> tuple[int, ...]:
    """Eight 64-bit hashes of a sentence from one digest: [0] places it in train or
    held-out, [1 + i] orders it for SENTENCE_TASKS[i]."""
    d = hashlib.blake2b(f"{seed}\x1fsentence\x1f{sentence}".encode(), digest_size=64).digest()
    return struct.unpack(">8Q", d)


def _is_heldout(seed: int, unit: str, fraction: float) -> bool:
    return stable_hash(seed, "split", unit) < fraction * 2.0 ** 64


@dataclass(order=True)
class _Cand:
    key: int
    group: str = field(compare=False)  # what selection balances: the language of the unit
    item: TaskItem = field(compare=False)


class _BottomK:
    """The `cap` entries with the smallest keys among those offered, one per unit:
    a uniform sample without replacement that does not depend on arrival order."""

    def __init__(self, cap: int):
        self.cap = cap
        self._heap: list[tuple[int, str, Any]] = []  # (-key, unit, payload): a max-heap on key
        self._units: set[str] = set()

    def wants(self, key: int) -> bool:
        return len(self._heap) < self.cap or key < -self._heap[0][0]

    def offer(self, key: int, unit: str, payload: Any) -> None:
        if unit in self._units or not self.wants(key):
            return
        if len(self._heap) >= self.cap:
            _, old, _ = heapq.heapreplace(self._heap, (-key, unit, payload))
            self._units.discard(old)
        else:
            heapq.heappush(self._heap, (-key, unit, payload))
        self._units.add(unit)

    def sorted(self) -> list[tuple[int, str, Any]]:
        return sorted((-k, u, p) for k, u, p in self._heap)


def _select(cands: list[_Cand], n: int, exclude: set[str],
            accept: Callable[[_Cand], bool] | None = None) -> list[TaskItem]:
    """Up to n items, balanced across groups (round robin, smallest keys first), one
    per prompt, none whose prompt is in `exclude`, only those `accept` takes (asked
    lazily, so candidates past what is needed are never checked)."""
    by_group: dict[str, list[_Cand]] = {}
    for c in cands:
        by_group.setdefault(c.group, []).append(c)
    queues = {g: iter(sorted(by_group[g])) for g in sorted(by_group)}
    seen = set(exclude)
    out: list[TaskItem] = []
    while len(out) < n and queues:
        for g in list(queues):
            if len(out) >= n:
                break
            for c in queues[g]:
                if c.item.prompt not in seen and (accept is None or accept(c)):
                    seen.add(c.item.prompt)
                    out.append(c.item)
                    break
            else:
                del queues[g]  # group exhausted
    return out


_lang_cache: dict[str, str] = {}  # during one build_suite: a sentence can serve several tasks


def _detected_lang(sentence: str) -> str:
    if sentence not in _lang_cache:
        from ..data import langid

        if len(_lang_cache) > 100_000:
            _lang_cache.clear()
        _lang_cache[sentence] = langid.identify(sentence, langid.candidate_set(LANGS))[0]
    return _lang_cache[sentence]


SPLITS = ("heldout", "train")


def _train_counts(n: int | dict[str, int], tasks: Sequence[str]) -> dict[str, int]:
    if isinstance(n, int):
        return {t: n for t in tasks}
    unknown = set(n) - set(TASKS)
    if unknown:
        raise ValueError(f"n_train_per_task names unknown task(s) {sorted(unknown)}; known: {', '.join(TASKS)}")
    bad = {t: v for t, v in n.items() if not isinstance(v, int) or isinstance(v, bool) or v < 0}
    if bad:
        raise ValueError(f"n_train_per_task: counts must be integers >= 0, got {bad}")
    return {t: n.get(t, 0) for t in tasks}


def build_suite(docs: Iterable[Document], verses: Iterable[tuple[str, str, str]] | None, seed: int,
                n_train_per_task: int | dict[str, int], n_heldout_per_task: int, *, heldout_fraction: float = 0.1,
                check_lang: bool = True, max_number: int = 20, max_verse_words: int = 12,
                tasks: Iterable[str] = TASKS, progress: bool = True) -> TaskSuite:
    """The task suite from a stream of cleaned documents (meta "lang" es/en) and of
    aligned (ref, spanish, english) verses (None: no translate task).

    Each source unit goes to held-out with probability `heldout_fraction` (by a hash
    with the seed), then each task takes up to n items per split, half per language
    where it can. `check_lang` drops sentences that py3langid places in another
    language than their document (quotes, commands, names). A task that runs out of
    units (arithmetic has about 1,300 problems in all) returns fewer items, with a warning.
    `n_train_per_task` is one number for every task or a {task: n} dict (a task
    left out of the dict gets no train items): skills a small model learns slowly,
    such as copying words, need many more distinct examples than lang_id.
    `progress` shows bars on stderr (documents read, tasks selected)."""
    wanted = set(tasks)
    unknown = wanted - set(TASKS)
    tasks = tuple(t for t in TASKS if t in wanted)
    if unknown:
        raise ValueError(f"unknown task(s) {sorted(unknown)}; known: {', '.join(TASKS)}")
    if not 0.0 < heldout_fraction < 1.0:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    started = time.perf_counter()
    n_train = _train_counts(n_train_per_task, tasks)
    need = {(t, split): n_train[t] if split == "train" else n_heldout_per_task for t in tasks for split in SPLITS}
    splits = SPLITS

    def cap(t: str, split: str) -> int:  # per (task, group, split): room for rejects and duplicates
        return int(math.ceil(need[(t, split)] / 2) * 1.3) + 20

    cands: dict[tuple[str, str], list[_Cand]] = {(t, s): [] for t in tasks for s in splits}

    # sentence tasks: one bounded sample per (task, language, split)
    sent_tasks = [t for t in tasks if t in SENTENCE_MAKERS]
    stats = Counter()
    if sent_tasks:
        pools = {(t, lang, s): _BottomK(cap(t, s)) for t in sent_tasks for lang in LANGS for s in splits}
        bar = tqdm(docs, desc="task suite: documents", unit="doc", disable=not progress, dynamic_ncols=True)
        for doc in bar:
            lang = doc.lang
            if lang not in LANGS:
                stats["docs skipped (language not es/en)"] += 1
                continue
            stats["docs"] += 1
            for sent in split_sentences(doc.text):
                stats["sentences"] += 1
                if not is_clean_sentence(sent):
                    continue
                stats["clean sentences"] += 1
                keys = _sentence_keys(seed, sent)
                split = "heldout" if keys[0] < heldout_fraction * 2.0 ** 64 else "train"
                for t in sent_tasks:
                    pool = pools[(t, lang, split)]
                    key = keys[1 + SENTENCE_TASKS.index(t)]
                    if pool.wants(key):
                        made = SENTENCE_MAKERS[t](sent, lang, Rng(key))
                        if made is not None:
                            pool.offer(key, sent, made)
            if stats["docs"] % 256 == 0:
                bar.set_postfix(sentences=stats["sentences"], clean=stats["clean sentences"], refresh=False)
        bar.close()
        for (t, lang, split), pool in pools.items():
            for key, sent, (prompt, answer, plang) in pool.sorted():
                cands[(t, split)].append(_Cand(key, lang, make_item(t, plang, prompt, answer, sent)))
        log.info("tasks: read %d documents, %d sentences, %d clean%s", stats["docs"], stats["sentences"],
                 stats["clean sentences"], "".join(f"; {k}: {v}" for k, v in sorted(stats.items())
                                                   if k not in ("docs", "sentences", "clean sentences")))

    if "arithmetic" in tasks:
        for (a, b), op, x, y, result in arithmetic_problems(max_number):
            split = "heldout" if _is_heldout(seed, f"pair:{a},{b}", heldout_fraction) else "train"
            for lang in LANGS:
                prompt = PROMPTS[op][lang].format(a=x, b=y)
                cands[("arithmetic", split)].append(_Cand(stable_hash(seed, "arithmetic", prompt), lang,
                                                          make_item("arithmetic", lang, prompt, str(result),
                                                                    f"{a},{b}")))

    if "translate" in tasks:
        if verses is None:
            log.info("tasks: no aligned verses given, no translate task")
            tasks = tuple(t for t in tasks if t != "translate")
        else:
            vpools = {(src, s): _BottomK(cap("translate", s)) for src in LANGS for s in splits}
            n_verses = n_short = 0
            for ref, spanish, english in verses:
                n_verses += 1
                es, en = " ".join(spanish.split()), " ".join(english.split())
                if not es or not en or len(es.split()) > max_verse_words or len(en.split()) > max_verse_words:
                    continue
                n_short += 1
                split = "heldout" if _is_heldout(seed, f"verse:{en}", heldout_fraction) else "train"
                for src, text, target in (("es", es, en), ("en", en, es)):
                    vpools[(src, split)].offer(stable_hash(seed, "translate", src, ref), ref, (text, target))
            for (src, split), pool in vpools.items():
                for key, ref, (text, target) in pool.sorted():
                    prompt = PROMPTS["translate"][src].format(text=text)
                    cands[("translate", split)].append(_Cand(key, src, make_item("translate", src, prompt, target,
                                                                                 ref)))
            log.info("tasks: %d aligned verses, %d with both sides <= %d words", n_verses, n_short, max_verse_words)

    dropped: Counter = Counter()

    def lang_ok(c: _Cand) -> bool:  # the sentence is in the language of its document
        if _detected_lang(c.item.source) == c.group:
            return True
        dropped[c.item.source] += 1
        return False

    heldout: list[TaskItem] = []
    train: list[TaskItem] = []
    for t in tqdm(tasks, desc="task suite: selecting", unit="task", disable=not progress, dynamic_ncols=True):
        accept = lang_ok if check_lang and t in SENTENCE_MAKERS else None
        h = _select(cands[(t, "heldout")], n_heldout_per_task, set(), accept)
        tr = _select(cands[(t, "train")], n_train[t], {it.prompt for it in h}, accept)
        for split, got in (("heldout", h), ("train", tr)):
            if len(got) < need[(t, split)]:
                log.warning("tasks: %s has %d %s items of the %d asked for (not enough source units)",
                            t, len(got), split, need[(t, split)])
        heldout += h
        train += tr
    _lang_cache.clear()
    if dropped:
        log.info("tasks: %d sentences left out: their language is not their document's (py3langid), e.g. %r",
                 len(dropped), min(dropped))
    suite = TaskSuite(train, heldout)
    for split, items in (("train", train), ("heldout", heldout)):
        log.info("tasks %s: %d items: %s", split, len(items),
                 ", ".join(f"{k}={v}" for k, v in count_items(items).items()))
    log.info("tasks: built in %.1f s", time.perf_counter() - started)
    return suite
