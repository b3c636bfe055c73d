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
    assert "make sweep" in "\n".join(c.value for c in at.code)  # no sizes to compare yet


@pytest.mark.parametrize("lang", ["en", "es"])
def test_parameters_draws_the_size_sweep_when_make_sweep_wrote_it(base, project, lang):
    sweep = project / "plots" / "sweep" / "sizes.csv"
    sweep.parent.mkdir(parents=True, exist_ok=True)
    sweep.write_text("budget,size,experiment,parameters,steps,tokens,compute_flops,pretrain_seconds,val_loss,"
                     "bits_per_byte,chat_macro\n"
                     "tokens,d64-l2,sweep-tokens-d64-l2,354624,1440,2949120,6.27e+12,95.1,4.1,1.91,0.31\n"
                     "tokens,d128-l4,sweep-tokens-d128-l4,1262720,1440,2949120,2.23e+13,260.4,3.7,1.68,0.51\n"
                     "seconds,d64-l2,sweep-seconds-d64-l2,354624,3900,7987200,1.7e+13,259.8,3.9,1.80,0.40\n"
                     "seconds,d192-l6,,,,,,,,,\n")  # a size whose run failed: left out
    try:
        at = lesson("parameters", lang)
        assert "make sweep" in said(at) and not at.info  # the curve, not the invitation to make one
    finally:
        sweep.unlink()


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


def test_context_greys_what_falls_out_of_the_window_and_draws_the_curve(base):
    model, tok = base  # a 64-token window: the default story is several times longer
    at = lesson("context")
    ids = tok.encode(TABLE["learn_context_default"]["en"], bos=True)
    lost = len(ids) - model.cfg.max_seq_len
    assert lost > 0
    assert f"The text has **{len(ids)}** tokens; the window, {model.cfg.max_seq_len}." in said(at)
    assert f"not the first {lost} (in grey)" in said(at)
    faded = at.get("html")[0].value.count("opacity:0.45")
    assert faded == lost
    target = tok.encode(" Mora")[0]
    full = explain.context_curve(model, ids, target, [model.cfg.max_seq_len])[0][1]
    assert f"gives “Mora” {100 * full:.2f}%" in said(at)
    assert "only appears before the window" in said(at)  # "Mora" is at the start, out of view


def test_fewshot_asks_with_each_number_of_examples(base, project):
    model, tok = base
    at = lesson("fewshot")
    assert at.selectbox(key="learn_fs_task").value == "repeat"  # the first task the project has
    table = at.dataframe[0].value
    assert list(table["examples"]) == [0, 1, 2, 3, 4, 5]
    prompt = at.text[0].value
    assert prompt.startswith("Q: ") and prompt.endswith("\nA:") and prompt.count("Q: ") == 4  # 3 shots + the question
    from llm_core.tasks.items import load_items

    item = next(it for it in load_items(project / "data/finetune/tasks_heldout.jsonl")
                if it.task == "repeat" and it.lang == "en")
    p = explain.answer_probability(model, tok, prompt, item.answer)
    if p >= 0.01:
        assert table["probability"][3] == f"{100 * p:.1f}%"
    else:  # "1 in 3,400": two significant figures
        n = 1 / p
        assert table["probability"][3] == f"1 in {round(n, -max(0, len(str(int(n))) - 2)):,.0f}"
    assert "The chat model was trained on tasks like this one" in said(at)


def test_stages_shows_both_models_and_the_trained_part(base):
    at = lesson("stages", "es")
    assert not at.exception
    assert len(at.text) == 2  # the base continuation and the chat reply
    assert at.text[0].value.startswith(TABLE["learn_stages_default"]["es"])
    chips = "".join(h.value for h in at.get("html"))
    assert "&lt;|assistant|&gt;" in chips and "opacity:0.45" in chips  # template tokens, prompt greyed


def test_limits_lists_wrong_answers_by_confidence_and_masks_pii(base):
    at = lesson("limits")
    table = at.dataframe[0].value
    assert len(table) == 6 and set(table["the model said"]) == {"gato"}  # the 6 English items, all wrong
    assert "Of 6 test questions in English it got 6 wrong" in said(at)
    probs = [float(p.rstrip("%")) for p in table["confidence"]]
    assert probs == sorted(probs, reverse=True)
    assert "<email>" in at.text[-1].value and "<phone>" in at.text[-1].value and "2024" in at.text[-1].value


def test_context_says_whether_the_model_uses_a_word_in_view(base):
    model, tok = base
    at = lesson("context")
    text = "Mi gata: Mora. ¿Y mi gata? Se llama"  # byte-level pieces: short enough for a 64-token window
    at.text_area(key="learn_ctx_text").set_value(text).run()
    ids = tok.encode(text, bos=True)
    assert len(ids) <= model.cfg.max_seq_len and f"The text has **{len(ids)}** tokens and fits whole" in said(at)
    target = tok.encode(" Mora")
    last = max(k for k in range(len(ids) - len(target) + 1) if ids[k:k + len(target)] == target)
    sizes = sorted({max(1, round(len(ids) * (k + 1) / 24)) for k in range(24)})
    curve = explain.context_curve(model, ids, target[0], sizes)
    before = max(p for n, p in curve if n < len(ids) - last)
    key = "learn_context_used" if curve[-1][1] > 2 * before else "learn_context_unused"
    assert TABLE[key]["en"].format(word="Mora") in said(at)
