"""Multi-turn conversations from task items: two or three tasks in one conversation, and
follow-ups that refer to the answer just given.

    tasks:      user p1, assistant a1, user p2, assistant a2 [, user p3, assistant a3]
    follow-up:  ..., user p, assistant a, user F, assistant f(a)

All turns of a dialogue are in one language (the items' prompt language). A follow-up F
is one of FOLLOW_UPS' phrasings and its answer is computed from the previous answer a:

    again    "Say that again"                         f(a) = a
    count    "How many words is your answer?"          f(a) = number of words of a
    reverse  "Now say it backwards"                    f(a) = a's words in reverse order
    plus_one "And plus one?"                           f(a) = a + 1 (a a whole number)

A follow-up is a TaskItem of task "follow_up" (scored by exact match like the others), so
its answer can be checked. Dialogues are made from one split's items only: the held-out
dialogues from held-out items, which never share a source unit with training
(llm_core.tasks.suite), so no held-out turn was ever trained on, alone or in a dialogue.
Choices come from a seeded splitmix64 (keys.Rng): the same items and seed give the same
dialogues.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..atomic import write_jsonl
from .items import TaskItem, item_from_dict, make_item
from .keys import Rng, stable_hash

FOLLOW_UP = "follow_up"
MAX_ANSWER_WORDS = 8  # a follow-up on a longer answer asks more than the default model can keep

FOLLOW_UPS: dict[str, dict[str, tuple[str, ...]]] = {
    "again": {"es": ("Repítelo, por favor.", "¿Puedes repetirlo?", "Dilo otra vez.", "Otra vez, por favor."),
              "en": ("Say that again, please.", "Can you repeat that?", "Once more, please.", "Repeat your answer.")},
    "count": {"es": ("¿Cuántas palabras tiene tu respuesta?", "¿Y cuántas palabras son?"),
              "en": ("How many words is your answer?", "And how many words is that?")},
    "reverse": {"es": ("Ahora dilo al revés.", "Invierte el orden de tu respuesta."),
                "en": ("Now say it backwards.", "Reverse the order of your answer.")},
    "plus_one": {"es": ("¿Y si le sumas uno?", "Súmale uno."),
                 "en": ("And plus one?", "Add one to that.")},
}


def _words(answer: str) -> list[str] | None:
    """The answer's words when it is a short run of words (what count/reverse act on)."""
    ws = answer.split()
    return ws if 2 <= len(ws) <= MAX_ANSWER_WORDS and all(any(c.isalpha() for c in w) for w in ws) else None


def _count(a: str) -> str | None:
    ws = _words(a)
    return str(len(ws)) if ws else None


def _reverse(a: str) -> str | None:
    ws = _words(a)
    return " ".join(ws[::-1]) if ws and ws != ws[::-1] else None


def _plus_one(a: str) -> str | None:
    return str(int(a) + 1) if a.strip().lstrip("-").isdigit() else None


ANSWER_OF: dict[str, Callable[[str], str | None]] = {
    "again": lambda a: a if len(a.split()) <= MAX_ANSWER_WORDS else None,
    "count": _count, "reverse": _reverse, "plus_one": _plus_one,
}


@dataclass(frozen=True)
class Dialogue:
    id: str
    lang: str
    turns: tuple[TaskItem, ...]  # task items, the last one possibly a follow-up

    def messages(self) -> list[dict[str, str]]:
        """The whole dialogue with the right answers, as chat messages."""
        out = []
        for t in self.turns:
            out += [{"role": "user", "content": t.prompt}, {"role": "assistant", "content": t.answer}]
        return out


def follow_up(previous: str, lang: str, rng: Rng, kinds: Sequence[str] = tuple(FOLLOW_UPS)) -> TaskItem | None:
    """A follow-up on the answer `previous` (one of the kinds that apply to it), or None."""
    fitting = [(k, ans) for k in kinds if (ans := ANSWER_OF[k](previous)) is not None]
    if not fitting:
        return None
    kind, answer = rng.choice(fitting)
    prompt = rng.choice(FOLLOW_UPS[kind][lang])
    return make_item(FOLLOW_UP, lang, prompt, answer, source=f"{kind}:{previous}")


def _draw_tasks(rng: Rng, tasks: list[str], turns: Sequence[int]) -> list[str]:
    """k different tasks in the order drawn (k from `turns`, at most the tasks there are)."""
    k = min(rng.choice(turns), len(tasks))
    chosen: list[str] = []
    while len(chosen) < k:
        t = rng.choice(tasks)
        if t not in chosen:
            chosen.append(t)
    return chosen


def build_dialogues(items: Sequence[TaskItem], n: int, seed: int, *, turns: tuple[int, ...] = (2, 3),
                    follow_up_share: float = 0.5, rotate: bool = False) -> list[Dialogue]:
    """`n` dialogues, each of k task turns (k drawn from `turns`) of k different tasks in one
    language, the next item of each task taken in turn so that an item is used once while
    there are unused ones (with `rotate`, in k dialogues); with probability `follow_up_share` a
    follow-up ends it.

    With `rotate`, each language's dialogues come in runs of k that share their items, rotated
    (a b c, b c a, c a b), so every item of a run is asked once at every turn: a turn-2 score
    against a turn-1 score then compares the same questions, not whichever the draw happened to
    put at each turn (what the held-out dialogues need to measure what a conversation costs)."""
    by_lang: dict[str, dict[str, list[TaskItem]]] = defaultdict(lambda: defaultdict(list))
    for it in items:
        by_lang[it.lang][it.task].append(it)
    langs = sorted(by_lang)
    if n and (not langs or max(len(t) for t in by_lang.values()) < min(turns)):
        raise ValueError(f"dialogues of {min(turns)} tasks need items of at least {min(turns)} tasks in one language")
    rng = Rng(stable_hash(seed, "dialogues"))
    cursor: dict[tuple[str, str], int] = defaultdict(int)
    run: dict[str, tuple[list[TaskItem], int]] = {}  # lang -> (the run's items, dialogues of it made)
    out = []
    for i in range(n):
        lang = langs[i % len(langs)]
        base, made = run.get(lang, ([], 0))
        if not rotate or made == len(base):
            base, made = [], 0
            for t in _draw_tasks(rng, sorted(by_lang[lang]), turns):
                pool = by_lang[lang][t]
                base.append(pool[cursor[lang, t] % len(pool)])
                cursor[lang, t] += 1
        run[lang] = (base, made + 1)
        picked = base[made:] + base[:made]
        if rng.random() < follow_up_share and (f := follow_up(picked[-1].answer, lang, rng)) is not None:
            picked.append(f)
        out.append(Dialogue(f"dialogue-{lang}-{seed}-{i}", lang, tuple(picked)))
    return out


def save_dialogues(path: str | Path, dialogues: Sequence[Dialogue]) -> int:
    return write_jsonl(path, ({"id": d.id, "lang": d.lang, "turns": [asdict(t) for t in d.turns]} for d in dialogues))


def load_dialogues(path: str | Path) -> list[Dialogue]:
    """Read what `save_dialogues` wrote; a bad line raises ValueError naming it."""
    out = []
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("turns"), list) or not obj["turns"]:
                raise ValueError(f"{where}: expected a JSON object with id, lang and a non-empty list of turns")
            turns = tuple(item_from_dict(t, f"{where}: turn {i + 1}") for i, t in enumerate(obj["turns"]))
            out.append(Dialogue(str(obj.get("id", "")), str(obj.get("lang", turns[0].lang)), turns))
    return out
