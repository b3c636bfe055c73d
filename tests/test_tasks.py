"""The built-in task suite (llm_core.tasks): coverage, determinism, train/held-out
separation, answers recomputed independently, chrF, scoring, formats, progress, and
which stage depends on which of its modules."""
from __future__ import annotations

import itertools
import json
import logging
import re
from collections import Counter, defaultdict

import pytest

from llm_core.data.documents import Document
from llm_core.tasks.items import TASKS, TaskItem, as_messages, load_items, save_items
from llm_core.tasks.makers import SENTENCE_TASKS, arithmetic_problems
from llm_core.tasks.prompts import few_shot_prompt, select_shots
from llm_core.tasks.scoring import chrf, extract_answer, normalize, score
from llm_core.tasks.suite import build_suite

# A small bilingual corpus: every combination of four parts is a sentence; the two
# languages' lists are translations of each other, which also gives aligned "verses".
ES = (["El perro", "La niña", "Mi hermano", "El viejo pescador", "La maestra", "Nuestro vecino"],
      ["come", "mira", "busca", "encuentra", "lleva", "pinta"],
      ["una manzana roja", "el libro azul", "la casa grande", "un barco pequeño", "las flores", "pan caliente"],
      ["en el jardín.", "por la mañana.", "con mucho cuidado.", "cerca del río.", "todos los días.",
       "sin decir nada."])
EN = (["The dog", "The girl", "My brother", "The old fisherman", "The teacher", "Our neighbour"],
      ["eats", "looks at", "looks for", "finds", "carries", "paints"],
      ["a red apple", "the blue book", "the big house", "a small boat", "the flowers", "warm bread"],
      ["in the garden.", "in the morning.", "very carefully.", "near the river.", "every day.", "without a word."])


def _sentences(parts):
    return [" ".join(c) for c in itertools.product(*parts)]


ES_SENTS, EN_SENTS = _sentences(ES), _sentences(EN)
SENT_LANG = {**{s: "es" for s in ES_SENTS}, **{s: "en" for s in EN_SENTS}}


def _docs(per_doc: int = 8) -> list[Document]:
    docs = []
    for lang, sents in (("es", ES_SENTS), ("en", EN_SENTS)):
        for i in range(0, len(sents), per_doc):
            text = "Título\n" + " ".join(sents[i:i + per_doc]) if lang == "es" else " ".join(sents[i:i + per_doc])
            docs.append(Document(f"{lang}-{i}", f"fake-{lang}", text, {"lang": lang}))
    return docs


def _verses() -> list[tuple[str, str, str]]:
    out = []
    for i, (a, b, c) in enumerate(itertools.product(range(6), range(6), range(6))):
        es = f"{ES[0][a]} {ES[1][b]} {ES[2][c]}."
        en = f"{EN[0][a]} {EN[1][b]} {EN[2][c]}."
        out.append((f"Fake.{i // 20 + 1}.{i % 20 + 1}", es, en))
    out.append(("Fake.long.1", "Y " + " y ".join(["el perro come"] * 5) + ".",
                "And " + " and ".join(["the dog eats"] * 5) + "."))
    return out


VERSES = _verses()
VERSE_BY_REF = {ref: (es, en) for ref, es, en in VERSES}


def build(seed=3, n_train=60, n_heldout=16, docs=None, verses=VERSES, **kw):
    kw.setdefault("heldout_fraction", 0.3)
    kw.setdefault("check_lang", False)
    kw.setdefault("progress", False)
    return build_suite(_docs() if docs is None else docs, verses, seed, n_train, n_heldout, **kw)


@pytest.fixture(scope="module")
def suite():
    return build()


# ----------------------------------------------------------------------- coverage

def test_at_least_six_tasks_in_both_languages(suite):
    for items in (suite.train, suite.heldout):
        langs = defaultdict(set)
        for it in items:
            langs[it.task].add(it.lang)
        assert len(langs) >= 6
        assert set(langs) == set(TASKS)
        assert all(v == {"es", "en"} for v in langs.values()), langs


def test_counts_per_task(suite):
    train = defaultdict(int)
    for it in suite.train:
        train[it.task] += 1
    assert all(train[t] == 60 for t in TASKS), train
    assert all(sum(1 for it in suite.heldout if it.task == t) == 16 for t in TASKS)
    c = suite.counts()
    assert sum(c["train"].values()) == len(suite.train) and c["heldout"]["count_words/es"] == 8


def test_no_translate_without_verses():
    s = build(verses=None, n_train=10, n_heldout=4)
    assert {it.task for it in s.train} == set(TASKS) - {"translate"}


def test_unknown_task_is_an_error():
    with pytest.raises(ValueError, match="unknown task"):
        build(tasks=["lang_id", "poetry"])


# -------------------------------------------------------------------- determinism

def test_deterministic_and_independent_of_input_order(suite):
    again = build(docs=iter(_docs()), verses=iter(VERSES))  # one-pass streams
    assert again.train == suite.train and again.heldout == suite.heldout
    shuffled = build(docs=list(reversed(_docs(per_doc=5))), verses=list(reversed(VERSES)))
    assert shuffled.train == suite.train and shuffled.heldout == suite.heldout
    other = build(seed=4)
    assert other.train != suite.train


# ----------------------------------------------------------- train/held-out split

def _pair(item):
    a, b = map(int, re.findall(r"\d+", item.prompt))
    return (min(a, b), max(a, b))


def test_train_and_heldout_never_share_an_item_or_a_source(suite):
    for t in TASKS:
        tr = [it.prompt for it in suite.train if it.task == t]
        ho = [it.prompt for it in suite.heldout if it.task == t]
        assert len(set(tr)) == len(tr) and len(set(ho)) == len(ho)  # deduplicated
        assert not set(tr) & set(ho)
    ids = [it.id for it in suite.train + suite.heldout]
    assert len(set(ids)) == len(ids)
    # no source unit on both sides, across all tasks
    sent_tasks = set(SENTENCE_TASKS)
    tr_sents = {it.source for it in suite.train if it.task in sent_tasks}
    ho_sents = {it.source for it in suite.heldout if it.task in sent_tasks}
    assert tr_sents and ho_sents and not tr_sents & ho_sents
    assert tr_sents | ho_sents <= set(SENT_LANG)
    # ... checked on the prompts too, where the whole sentence is shown
    for it in suite.heldout:
        if it.task in ("lang_id", "count_words"):
            assert all(it.source not in o.prompt for o in suite.train if o.task in ("lang_id", "count_words"))
    tr_pairs = {_pair(it) for it in suite.train if it.task == "arithmetic"}
    ho_pairs = {_pair(it) for it in suite.heldout if it.task == "arithmetic"}
    assert tr_pairs and ho_pairs and not tr_pairs & ho_pairs
    tr_refs = {it.source for it in suite.train if it.task == "translate"}
    ho_refs = {it.source for it in suite.heldout if it.task == "translate"}
    assert tr_refs and ho_refs and not tr_refs & ho_refs
    ho_texts = {t for r in ho_refs for t in VERSE_BY_REF[r]}
    assert not ho_texts & {t for r in tr_refs for t in VERSE_BY_REF[r]}


# --------------------------------------------------------- answers, recomputed

def _after_colon(prompt):
    return prompt.split(": ", 1)[1]


def _check(it: TaskItem):
    if it.task == "lang_id":
        names = {"en": {"en": "English", "es": "Spanish"}, "es": {"en": "inglés", "es": "español"}}
        assert it.prompt.startswith("Which language" if it.lang == "en" else "¿En qué idioma")
        text = it.prompt.split("? ", 1)[1]
        assert text == it.source
        assert it.answer == names[it.lang][SENT_LANG[text]]
    elif it.task == "next_words":
        head, passage = it.prompt.split(": ", 1)
        m = re.search(r"(\d)", head)
        k = int(m.group(1)) if m else 1
        assert 1 <= k <= 3 and len(it.answer.split()) == k
        assert it.source.startswith(passage + " " + it.answer)
        assert SENT_LANG[it.source] == it.lang
    elif it.task == "count_words":
        text = _after_colon(it.prompt)
        assert text == it.source and it.answer == str(len(text.split()))
    elif it.task == "arithmetic":
        a, op, b = re.search(r"(\d+) (plus|minus|más|menos) (\d+)\?", it.prompt).groups()
        want = int(a) + int(b) if op in ("plus", "más") else int(a) - int(b)
        assert int(it.answer) == want and want >= 0 and max(int(a), int(b)) <= 20
        assert (op in ("plus", "minus")) == (it.lang == "en")
    elif it.task == "repeat":
        text = _after_colon(it.prompt)
        assert it.answer == text and 3 <= len(text.split()) <= 5 and text in it.source
    elif it.task == "reverse_words":
        text = _after_colon(it.prompt)
        assert it.answer.split() == text.split()[::-1] and 3 <= len(text.split()) <= 5 and text in it.source
    elif it.task == "which_is_longer":
        a, b = re.findall(r'"([^"]+)"', it.prompt)
        assert abs(len(a) - len(b)) >= 2 and it.answer == f'"{max(a, b, key=len)}"'
        assert score(it, max(a, b, key=len)) == 1.0  # the quotes are not needed to score
        assert a in it.source.split() and b in it.source.split()
    elif it.task == "translate":
        es, en = VERSE_BY_REF[it.source]
        if it.lang == "es":
            assert it.prompt == f"Traduce al inglés: {es}" and it.answer == en
        else:
            assert it.prompt == f"Translate to Spanish: {en}" and it.answer == es
        assert len(es.split()) <= 12
    else:
        raise AssertionError(f"unexpected task {it.task}")


def test_answers_are_correct(suite):
    for it in suite.train + suite.heldout:
        _check(it)
        assert it.answer and "\n" not in it.answer and "\n" not in it.prompt
        assert score(it, it.answer) == 1.0


def test_arithmetic_problems_cover_small_numbers():
    probs = list(arithmetic_problems(20))
    assert all(r >= 0 and x <= 20 and y <= 20 for _, _, x, y, r in probs)
    assert len({(op, x, y) for _, op, x, y, _ in probs}) == len(probs)
    s = build(tasks=["arithmetic"], n_train=5000, n_heldout=5000)  # asks for more than there is
    assert len(s.train) + len(s.heldout) == 2 * len(probs)


def test_langid_check_drops_mislabelled_sentences():
    docs = _docs()[:40] + [Document("bad", "fake-es", "The old fisherman finds the blue book in the garden. "
                                    "The teacher paints the flowers every day.", {"lang": "es"})]
    checked = build_suite(docs, None, 1, 400, 400, heldout_fraction=0.5, tasks=["count_words"], check_lang=True)
    unchecked = build_suite(docs, None, 1, 400, 400, heldout_fraction=0.5, tasks=["count_words"],
                              check_lang=False)
    bad = {"The old fisherman finds the blue book in the garden.", "The teacher paints the flowers every day."}
    es_sources = lambda s: {it.source for it in s.train + s.heldout if it.lang == "es"}
    assert bad <= es_sources(unchecked)
    assert not bad & es_sources(checked)
    assert len(es_sources(checked)) == len(es_sources(unchecked)) - 2


def test_logs_counts_per_task_and_language(caplog):
    with caplog.at_level(logging.INFO, logger="llm_core.tasks"):
        build(n_train=10, n_heldout=4)
    text = caplog.text
    assert "lang_id/en=" in text and "translate/es=" in text and "heldout" in text


# ---------------------------------------------------------------------- chrF

def test_chrf_identical_and_disjoint():
    assert chrf("El perro come pan.", "El perro come pan.") == pytest.approx(1.0)
    assert chrf("ab", "ab") == pytest.approx(1.0)  # shorter than 6 characters
    assert chrf("abc", "xyz") == 0.0
    assert chrf("", "") == 1.0 and chrf("", "abc") == 0.0 and chrf("abc", "") == 0.0


def test_chrf_by_hand():
    # hyp "ab", ref "abc":
    #   n=1: P = 2/2, R = 2/3;  n=2: P = 1/1, R = 1/2;  n=3: hyp has none: P = 0, R = 0/1
    #   P = (1 + 1 + 0)/3 = 2/3, R = (2/3 + 1/2 + 0)/3 = 7/18
    #   F2 = 5 P R / (4 P + R) = (70/54) / (55/18) = 14/33
    assert chrf("ab", "abc") == pytest.approx(14 / 33)
    # hyp "ac", ref "ab": n=1 P = R = 1/2, n=2 P = R = 0 -> P = R = 1/4 -> F = 1/4
    assert chrf("ac", "ab") == pytest.approx(0.25)
    # whitespace is not part of the n-grams; case is
    assert chrf("a b", "ab") == pytest.approx(1.0)
    assert chrf("AB", "ab") == 0.0
    # recall weighs more than precision (beta = 2): a longer hypothesis beats a shorter one
    assert chrf("abcd", "abc") > chrf("ab", "abc")


# -------------------------------------------------------------- scoring, formats

def _item(task="lang_id", answer="Spanish", prompt="Which language is this sentence in? Hola.", lang="en"):
    return TaskItem(task, lang, prompt, answer, f"{task}-x")


def test_score_normalisation():
    it = _item()
    for pred in ("Spanish", "  spanish. ", "SPANISH!", '"Spanish"', "Spanish\n"):
        assert score(it, pred) == 1.0, pred
    for pred in ("English", "Spanish language", "", "Span ish"):
        assert score(it, pred) == 0.0, pred
    assert score(_item("count_words", "8"), "8.") == 1.0
    assert score(_item("reverse_words", "c b a"), "C  b a") == 1.0
    assert score(_item("lang_id", "inglés", lang="es"), "ingles") == 0.0  # accents count
    tr = _item("translate", "El perro come.", "Translate to Spanish: The dog eats.")
    assert score(tr, " El perro come. ") == pytest.approx(1.0)
    assert 0.0 < score(tr, "El perro") < 1.0
    assert normalize("  ¿Sí?  ") == "¿sí"


def test_few_shot_prompt_and_extract_answer():
    shots = [_item("arithmetic", "5", "What is 2 plus 3?"), _item("arithmetic", "1", "What is 4 minus 3?")]
    target = _item("arithmetic", "9", "What is 4 plus 5?")
    assert few_shot_prompt(shots, target) == (
        "Q: What is 2 plus 3?\nA: 5\n\nQ: What is 4 minus 3?\nA: 1\n\nQ: What is 4 plus 5?\nA:")
    assert few_shot_prompt([], target) == "Q: What is 4 plus 5?\nA:"
    assert extract_answer(" 9\n\nQ: What is 1 plus 1?\nA: 2") == "9"
    assert extract_answer("\n  nueve  \nmás") == "nueve"
    assert extract_answer("") == ""


def test_select_shots(suite):
    target = next(it for it in suite.heldout if it.task == "count_words" and it.lang == "es")
    shots = select_shots(suite.train, target, 3, seed=1)
    assert len(shots) == 3 and all(s.task == target.task and s.lang == "es" for s in shots)
    assert shots == select_shots(list(reversed(suite.train)), target, 3, seed=1)
    assert select_shots(suite.train, target, 0) == []
    text = few_shot_prompt(shots, target)
    assert text.count("Q: Cuenta las palabras:") == 4 and text.endswith("\nA:")


def test_as_messages():
    it = _item()
    assert as_messages(it) == [{"role": "user", "content": it.prompt}, {"role": "assistant", "content": "Spanish"}]


def test_save_and_load_round_trip(suite, tmp_path):
    path = tmp_path / "tasks" / "heldout.jsonl"
    assert save_items(path, suite.heldout) == len(suite.heldout)
    assert load_items(path) == suite.heldout
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first) == {"task", "lang", "prompt", "answer", "id", "source"}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text(encoding="utf-8").splitlines()[0] + '\n{"task": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: missing"):
        load_items(bad)
    bad.write_text("not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not valid JSON"):
        load_items(bad)


def test_train_counts_per_task_and_heldout_unchanged(suite):
    counts = {"repeat": 90, "lang_id": 10}
    weighted = build(n_train=counts)
    got = Counter(i.task for i in weighted.train)
    assert got["repeat"] == 90 and got["lang_id"] == 10
    assert set(got) == {"repeat", "lang_id"}  # a task left out of the dict gets no train items
    # Held-out items do not depend on how many train items were asked for.
    assert [i.id for i in weighted.heldout] == [i.id for i in suite.heldout]
    # A larger count only adds items: the first ones stay.
    small = [i.id for i in suite.train if i.task == "repeat"]
    assert set(small) <= {i.id for i in weighted.train if i.task == "repeat"}
    with pytest.raises(ValueError, match="unknown task"):
        build(n_train={"repet": 5})
    with pytest.raises(ValueError, match="integers >= 0"):
        build(n_train={"repeat": -1})


# ------------------------------------------------------------ progress, layout

def test_progress_goes_to_stderr_and_changes_nothing(suite, capsys):
    shown = build(progress=True)
    err = capsys.readouterr().err
    assert "task suite: documents" in err and "task suite: selecting" in err
    assert shown.train == suite.train and shown.heldout == suite.heldout


def test_finetune_does_not_depend_on_scoring_nor_evaluate_on_the_makers():
    """A stage's DVC deps are its import closure: a change to scoring must not rerun
    fine-tuning, and a change to how items are made must not rerun evaluation
    directly (it reruns fine-tuning, whose task files evaluation reads)."""
    from test_dvc_deps import import_closure

    def closure(module):
        return {str(f).split("/llm_core/", 1)[-1] for f in import_closure(module) if "/llm_core/" in str(f)}

    finetune, evaluate = closure("flows.finetune"), closure("flows.evaluate")
    assert {"tasks/__init__.py", "tasks/items.py", "tasks/suite.py", "tasks/makers.py", "data/sentences.py"} <= finetune
    assert not {"tasks/scoring.py", "tasks/prompts.py"} & finetune
    assert {"tasks/items.py", "tasks/scoring.py", "tasks/prompts.py"} <= evaluate
    assert not {"tasks/suite.py", "tasks/makers.py", "data/sentences.py"} & evaluate
