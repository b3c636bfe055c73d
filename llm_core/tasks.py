"""The built-in task suite: short bilingual (es/en) tasks with checkable answers.

A model of a few million parameters learns short, formulaic tasks, so every task
here has a one-line prompt and an answer of a few tokens:

| task            | prompt (en / es)                                        | answer            |
| --------------- | ------------------------------------------------------- | ----------------- |
| lang_id         | Which language is this sentence in? <s>                 | English / Spanish |
|                 | ¿En qué idioma está esta frase? <s>                     | inglés / español  |
| next_words      | Next 2 words: <start of a corpus sentence>              | its next 1-3 words|
| count_words     | Count the words: <s> / Cuenta las palabras: <s>         | a number          |
| arithmetic      | What is 7 plus 5? / ¿Cuánto es 7 más 5?                 | 12                |
| repeat          | Repeat: a b c / Repite: a b c                           | a b c             |
| reverse_words   | Reverse the word order: a b c / Invierte el orden ...   | c b a             |
| which_is_longer | Which word is longer: "casa" or "ventana"?              | "ventana"         |
| translate       | Translate to Spanish: <verse> / Traduce al inglés: ...  | the other verse   |

Every answer but translate's is scored by exact match after `normalize`
(case, whitespace, final punctuation); translate is scored with chrF.
An item's `lang` is the language of its prompt (for translate, the source side).

Items come from the cleaned corpus (sentences), the aligned Bible verses and the
numbers 0..20, and are chosen by hashes with the seed, never by the order of the
input: the same inputs and seed give the same items in the same order, whatever
order the documents arrive in. Train and held-out never share a source unit: each
sentence (by its text), verse (by its English text) and pair of numbers goes to one
side by a hash before any item is made from it, so a held-out item tests an input
the fine-tuned model never saw in a task. Documents are streamed: for each (task,
language, split) only a bounded sample is kept (the k smallest hashes), so memory
does not grow with the corpus.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import logging
import math
import os
import re
import struct
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from .data.documents import Document

log = logging.getLogger("llm_core.tasks")

LANGS: tuple[str, ...] = ("en", "es")
SENTENCE_TASKS: tuple[str, ...] = ("lang_id", "next_words", "count_words", "repeat", "reverse_words",
                                   "which_is_longer")
TASKS: tuple[str, ...] = ("lang_id", "next_words", "count_words", "arithmetic", "repeat", "reverse_words",
                          "which_is_longer", "translate")
CHRF_TASKS: frozenset[str] = frozenset({"translate"})

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


@dataclass(frozen=True)
class TaskItem:
    task: str
    lang: str  # language of the prompt
    prompt: str  # the user message; also the "Q:" line of a few-shot prompt
    answer: str
    id: str
    source: str = ""  # the unit it was made from: a sentence, a verse ref, "a,b" for numbers

    @property
    def metric(self) -> str:
        return "chrf" if self.task in CHRF_TASKS else "exact"


@dataclass
class TaskSuite:
    train: list[TaskItem]
    heldout: list[TaskItem]

    def counts(self) -> dict[str, dict[str, int]]:
        """{"train": {"lang_id/en": 12, ...}, "heldout": {...}}"""
        return {"train": count_items(self.train), "heldout": count_items(self.heldout)}


def count_items(items: Iterable[TaskItem]) -> dict[str, int]:
    c = Counter(f"{it.task}/{it.lang}" for it in items)
    return {k: c[k] for k in sorted(c)}


# --------------------------------------------------------------------------- scoring

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


# ----------------------------------------------------------------- prompts and formats

def few_shot_prompt(items_for_shots: Iterable[TaskItem], item: TaskItem) -> str:
    """Plain text a base model can continue: "Q: <prompt>\\nA: <answer>\\n\\n" per shot,
    then "Q: <prompt>\\nA:" (no shots: zero-shot). The answer is what the model writes
    next, up to the end of the line (see `extract_answer`)."""
    shots = "".join(f"Q: {s.prompt}\nA: {s.answer}\n\n" for s in items_for_shots)
    return f"{shots}Q: {item.prompt}\nA:"


def select_shots(pool: Iterable[TaskItem], item: TaskItem, k: int, seed: int = 0) -> list[TaskItem]:
    """k items of `pool` (normally the train split) with the task and language of
    `item` and another prompt, chosen by hash (deterministic, varies per item)."""
    if k <= 0:
        return []
    cands = [p for p in pool if p.task == item.task and p.lang == item.lang and p.prompt != item.prompt]
    return heapq.nsmallest(k, cands, key=lambda p: (_hash(seed, "shots", item.id, p.id), p.id))


def extract_answer(generated_text: str) -> str:
    """The answer in a generation: its first line, stripped (leading blank lines skipped)."""
    return generated_text.strip().split("\n", 1)[0].strip()


def as_messages(item: TaskItem) -> list[dict[str, str]]:
    """The item as a chat: the prompt as the user's message, the answer as the assistant's."""
    return [{"role": "user", "content": item.prompt}, {"role": "assistant", "content": item.answer}]


def save_items(path: str | Path, items: Iterable[TaskItem]) -> int:
    """Write items as JSONL (one object per line), atomically; returns how many."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for it in items:
            f.write(json.dumps(asdict(it), ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, path)
    return n


_REQUIRED = ("task", "lang", "prompt", "answer", "id")


def load_items(path: str | Path) -> list[TaskItem]:
    """Read items written by `save_items`; a bad line raises ValueError naming the line."""
    items = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{no}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{no}: expected a JSON object with keys {', '.join(_REQUIRED)}")
            missing = [k for k in _REQUIRED if not isinstance(obj.get(k), str)]
            if missing:
                raise ValueError(f"{path}:{no}: missing or non-string key(s) {missing}; "
                                 f"expected {', '.join(_REQUIRED)} (and optional source)")
            items.append(TaskItem(obj["task"], obj["lang"], obj["prompt"], obj["answer"], obj["id"],
                                  str(obj.get("source", ""))))
    return items


# ------------------------------------------------------------------------- sentences

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
def _bare(token: str) -> bool:
    """A word with no punctuation attached (inner ' or - allowed): "tierra", "don't"."""
    return bool(_BARE_WORD.match(token))


class _Rng:
    """splitmix64: a small, fast, fully specified generator, so an item's choices
    depend on its seed alone (random.Random is slow to seed, per unit)."""

    _M = (1 << 64) - 1

    def __init__(self, seed: int):
        self.state = seed & self._M

    def next64(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self._M
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._M
        return z ^ (z >> 31)

    def random(self) -> float:
        return (self.next64() >> 11) / float(1 << 53)

    def choice(self, seq: Sequence[Any]) -> Any:
        return seq[self.next64() % len(seq)]


# --------------------------------------------------------------- item makers (pure)
# Each maker turns one source unit into (prompt, answer, prompt language) or None when
# the unit does not suit the task. `rng` is seeded from (seed, task, unit), so an item
# depends on its unit only.

Made = tuple[str, str, str]


def _make_lang_id(sentence: str, lang: str, rng: _Rng) -> Made | None:
    if len(sentence.split()) > 16:
        return None
    plang = rng.choice(LANGS)
    return PROMPTS["lang_id"][plang].format(text=sentence), LANG_NAMES[plang][lang], plang


def _make_next_words(sentence: str, lang: str, rng: _Rng) -> Made | None:
    words = sentence.split()
    bare = [_bare(w) for w in words]
    k = rng.choice((1, 2, 3))
    cuts = [c for c in range(4, min(16, len(words) - k) + 1) if all(bare[c:c + k])]
    if not cuts:
        return None
    cut = rng.choice(cuts)
    text = " ".join(words[:cut])
    prompt = PROMPTS["next_word"][lang].format(text=text) if k == 1 else \
        PROMPTS["next_words"][lang].format(k=k, text=text)
    return prompt, " ".join(words[cut:cut + k]), lang


def _make_count_words(sentence: str, lang: str, rng: _Rng) -> Made | None:
    words = sentence.split()
    if not 3 <= len(words) <= 10 or not all(any(c.isalpha() for c in w) for w in words):
        return None
    return PROMPTS["count_words"][lang].format(text=sentence), str(len(words)), lang


def _fragment(sentence: str, rng: _Rng) -> list[str] | None:
    """3 to 5 consecutive bare words of the sentence (no punctuation attached)."""
    words = sentence.split()
    n = rng.choice((3, 4, 5))
    run, starts = 0, []  # run: how many bare words end at position i
    for i, w in enumerate(words):
        run = run + 1 if _bare(w) else 0
        if run >= n:
            starts.append(i - n + 1)
    if not starts:
        return None
    i = rng.choice(starts)
    return words[i:i + n]


def _make_repeat(sentence: str, lang: str, rng: _Rng) -> Made | None:
    frag = _fragment(sentence, rng)
    if frag is None:
        return None
    return PROMPTS["repeat"][lang].format(text=" ".join(frag)), " ".join(frag), lang


def _make_reverse_words(sentence: str, lang: str, rng: _Rng) -> Made | None:
    frag = _fragment(sentence, rng)
    if frag is None or frag == frag[::-1]:
        return None
    return PROMPTS["reverse_words"][lang].format(text=" ".join(frag)), " ".join(frag[::-1]), lang


def _make_which_is_longer(sentence: str, lang: str, rng: _Rng) -> Made | None:
    words = list(dict.fromkeys(w for w in sentence.split() if _bare(w) and w.islower() and len(w) >= 2))
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
    # Exact match ignores the quotes (see `normalize`).
    return prompt, f'"{a if len(a) > len(b) else b}"', lang


SENTENCE_MAKERS: dict[str, Callable[[str, str, _Rng], Made | None]] = {
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


# ---------------------------------------------------------------------- the builder

def _hash(*parts: Any) -> int:
    data = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def _sentence_keys(seed: int, sentence: str) -> tuple[int, ...]:
    """Eight 64-bit hashes of a sentence from one digest: [0] places it in train or
    held-out, [1 + i] orders it for SENTENCE_TASKS[i]."""
    d = hashlib.blake2b(f"{seed}\x1fsentence\x1f{sentence}".encode("utf-8"), digest_size=64).digest()
    return struct.unpack(">8Q", d)


def _is_heldout(seed: int, unit: str, fraction: float) -> bool:
    return _hash(seed, "split", unit) < fraction * 2.0 ** 64


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


def _item_id(task: str, lang: str, prompt: str) -> str:
    digest = hashlib.blake2b((task + "\x1f" + prompt).encode("utf-8"), digest_size=6).hexdigest()
    return f"{task}-{lang}-{digest}"


def _item(task: str, lang: str, prompt: str, answer: str, source: str) -> TaskItem:
    return TaskItem(task, lang, prompt, answer, _item_id(task, lang, prompt), source)


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
        from .data import langid

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
                tasks: Iterable[str] = TASKS) -> TaskSuite:
    """The task suite from a stream of cleaned documents (meta "lang" es/en) and of
    aligned (ref, spanish, english) verses (None: no translate task).

    Each source unit goes to held-out with probability `heldout_fraction` (by a hash
    with the seed), then each task takes up to n items per split, half per language
    where it can. `check_lang` drops sentences that py3langid places in another
    language than their document (quotes, commands, names). A task that runs out of
    units (arithmetic has about 1,300 problems in all) returns fewer items, with a warning.
    `n_train_per_task` is one number for every task or a {task: n} dict (a task
    left out of the dict gets no train items): skills a small model learns slowly,
    such as copying words, need many more distinct examples than lang_id."""
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
        for doc in docs:
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
                        made = SENTENCE_MAKERS[t](sent, lang, _Rng(key))
                        if made is not None:
                            pool.offer(key, sent, made)
        for (t, lang, split), pool in pools.items():
            for key, sent, (prompt, answer, plang) in pool.sorted():
                cands[(t, split)].append(_Cand(key, lang, _item(t, plang, prompt, answer, sent)))
        log.info("tasks: read %d documents, %d sentences, %d clean%s", stats["docs"], stats["sentences"],
                 stats["clean sentences"], "".join(f"; {k}: {v}" for k, v in sorted(stats.items())
                                                   if k not in ("docs", "sentences", "clean sentences")))

    if "arithmetic" in tasks:
        for (a, b), op, x, y, result in arithmetic_problems(max_number):
            split = "heldout" if _is_heldout(seed, f"pair:{a},{b}", heldout_fraction) else "train"
            for lang in LANGS:
                prompt = PROMPTS[op][lang].format(a=x, b=y)
                cands[("arithmetic", split)].append(_Cand(_hash(seed, "arithmetic", prompt), lang,
                                                          _item("arithmetic", lang, prompt, str(result), f"{a},{b}")))

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
                    vpools[(src, split)].offer(_hash(seed, "translate", src, ref), ref, (text, target))
            for (src, split), pool in vpools.items():
                for key, ref, (text, target) in pool.sorted():
                    prompt = PROMPTS["translate"][src].format(text=text)
                    cands[("translate", split)].append(_Cand(key, src, _item("translate", src, prompt, target, ref)))
            log.info("tasks: %d aligned verses, %d with both sides <= %d words", n_verses, n_short, max_verse_words)

    dropped: Counter = Counter()

    def lang_ok(c: _Cand) -> bool:  # the sentence is in the language of its document
        if _detected_lang(c.item.source) == c.group:
            return True
        dropped[c.item.source] += 1
        return False

    heldout: list[TaskItem] = []
    train: list[TaskItem] = []
    for t in tasks:
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
