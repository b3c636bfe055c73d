"""The Aprende lessons under AppTest on a tiny project: the figures each page prints are the
model's own (checked against a direct computation on the same checkpoint)."""
from __future__ import annotations

import re

import pytest
import torch
from streamlit.testing.v1 import AppTest

from dashboard.i18n import TABLE
from dashboard_project import REPO, make_project
from llm_core import explain
from llm_core.checkpoint import load_model
from llm_core.tokenizer import Tokenizer

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("learn") / "proj")


@pytest.fixture
def base(project, monkeypatch):
    monkeypatch.setenv("FORJA_PROJECT", str(project))
    model, ckpt = load_model(project / "models" / "base")
    return model.eval(), Tokenizer.load(ckpt.tokenizer_path)


def lesson(name: str, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(f"views/learn_{name}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key=f"learn_model_{name}_{lang}").value == "base"  # the path starts on the base model
    return at


def said(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "text") for e in getattr(at, kind))


def test_parameters_counts_the_real_model(base):
    model, _ = base
    at = lesson("parameters")
    assert at.metric[0].value == f"{model.num_params():,}"
    groups = explain.parameter_groups(model)
    assert sum(groups.values()) == model.num_params()
    assert f"{model.cfg.n_layers}" in said(at) and "GPT-3" in said(at)
    assert "dvc exp run -n smaller" in "\n".join(c.value for c in at.code)  # no sizes to compare yet


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_softmax_prints_the_models_probability_at_that_temperature(base, temperature):
    model, tok = base
    at = lesson("softmax")
    at.slider(key="learn_sm_temperature").set_value(temperature).run()
    assert not at.exception
    with torch.no_grad():
        logits = model(torch.tensor([tok.encode(TABLE["learn_softmax_default"]["en"], bos=True)]))[0][0, -1]
    p, p1 = (logits / temperature).softmax(-1).max(), logits.softmax(-1)[logits.argmax()]
    reading = next(m.value for m in at.markdown if m.value.startswith(f"At temperature {temperature:.1f}"))
    assert f"{100 * float(p):.1f}% probability (at temperature 1, {100 * float(p1):.1f}%)" in reading
    assert len(at.text) == 6  # five draws and the greedy line


def test_softmax_top_k_cuts_the_draw(base):
    at = lesson("softmax")
    at.slider(key="learn_sm_top_k").set_value(3).run()
    assert "only **3** tokens are in the draw" in said(at)
    draws = [x.value for x in at.text]
    at.button(key="learn_sm_again").click().run()
    assert [x.value for x in at.text][-1] == draws[-1]  # greedy does not change
    assert [x.value for x in at.text][:5] != draws[:5]  # new seeds, new draws


def test_attention_names_what_a_token_looks_at_most(base):
    model, tok = base
    at = lesson("attention", "es")
    at.selectbox(key="learn_att_token").set_value(3).run()
    ids = tok.encode(TABLE["learn_attention_default"]["es"], bos=True)[: model.cfg.max_seq_len]
    row = explain.attention(model, ids[:64])[0][0, 3, :4]
    assert abs(float(row.sum()) - 1) < 1e-5
    note = next(m.value for m in at.markdown if "reparte su atención" in m.value)
    share = re.search(r"\((\d+)\s%\)", note).group(1)
    assert int(share) == round(100 * float(row.max()))


def test_embeddings_lists_neighbours_of_the_typed_word(base):
    at = lesson("embeddings")
    at.text_input(key="learn_emb_word").set_value("perro").run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert 1 <= len(table) <= 10 and list(table.columns) == ["neighbour", "similarity"]
    sims = [float(s) for s in table["similarity"]]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)


def test_the_model_chosen_on_one_lesson_stays_on_the_next(base):
    at = lesson("tokens")
    at.selectbox(key="learn_model_tokens_en").set_value("chat").run()
    at.switch_page("views/learn_embeddings.py")
    at.run()
    assert at.selectbox(key="learn_model_embeddings_en").value == "chat"


def test_switching_language_keeps_the_model_and_swaps_only_untouched_examples(base):
    at = lesson("tokens", "es")
    assert at.text_area(key="learn_tokens_text").value == TABLE["learn_tokens_default"]["es"]
    at.selectbox(key="learn_model_tokens_es").set_value("chat").run()
    at.text_input(key="learn_tokens_chat").set_value("¿Qué hora es?").run()
    at.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.selectbox(key="learn_model_tokens_en").value == "chat"
    assert at.text_area(key="learn_tokens_text").value == TABLE["learn_tokens_default"]["en"]  # the example
    assert at.text_input(key="learn_tokens_chat").value == "¿Qué hora es?"  # what the reader typed
