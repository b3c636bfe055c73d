"""The dashboard's pages under Streamlit's AppTest, in both languages, with a tiny
finished project, with no outputs at all, and with damaged inputs."""
from __future__ import annotations

import re
import shutil
import string

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import outputs
from dashboard.i18n import LANGS, TABLE
from dashboard_project import REPO, make_project, tiny_checkpoint, tiny_tokenizer

APP = str(REPO / "dashboard" / "app.py")
PAGES = ("home", "training", "data", "playground", "chat", "learn_tokens", "learn_embeddings", "learn_parameters",
         "learn_attention", "learn_softmax", "learn_context", "learn_fewshot", "learn_stages", "learn_limits")
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "code", "exception")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("dash") / "proj")


@pytest.fixture
def at_project(project, monkeypatch):
    monkeypatch.setenv("FORJA_PROJECT", str(project))
    return project


def open_page(page: str, lang: str = "es") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.session_state["lang"] = lang
    at.run()
    if page != "home":
        at.switch_page(f"views/{page}.py")
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def visible_text(at: AppTest) -> list[str]:
    """Every string a visitor can read: text elements, widget labels, metrics, table headers."""
    out = []
    for name in TEXT_ELEMENTS:
        out += [str(e.value) for e in getattr(at, name)]
    for name in ("button", "selectbox", "slider", "number_input", "text_area", "toggle", "radio", "expander",
                 "chat_input", "checkbox", "tabs"):
        for w in getattr(at, name, []):
            out += [getattr(w, attr) for attr in ("label", "placeholder") if isinstance(getattr(w, attr, None), str)]
    for m in at.metric:
        out += [m.label, str(m.value)]
    for d in at.dataframe:
        out += [str(c) for c in d.value.columns]
    return [s for s in out if s]


def fragments(template: str) -> list[str]:
    """The literal parts of a format string, without its {fields} (and markdown marks)."""
    parts = [lit for lit, *_ in string.Formatter().parse(template)]
    return [p.strip(" *`.,:;()") for p in parts if len(p.strip(" *`.,:;()")) >= 12]


ENGLISH_ONLY = [f for texts in TABLE.values() if texts["es"] != texts["en"] for f in fragments(texts["en"])
                if not any(f in texts_es["es"] for texts_es in TABLE.values())]


def assert_language_clean(at: AppTest, lang: str) -> None:
    shown = "\n".join(visible_text(at))
    keys = [k for k in TABLE if re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", shown) and "_" in k]
    assert not keys, f"translation keys shown as text: {keys}"
    if lang == "es":
        leaked = [f for f in ENGLISH_ONLY if f in shown]
        assert not leaked, f"English on the Spanish page: {leaked}"


# --------------------------------------------------------------------------- the table


def test_every_key_has_both_languages_and_the_same_fields():
    for key, texts in TABLE.items():
        assert set(texts) == set(LANGS), key
        fields = [{f for _, f, *_ in string.Formatter().parse(texts[lang]) if f} for lang in LANGS]
        assert fields[0] == fields[1], f"{key}: the languages fill different fields {fields}"
        assert all(texts[lang].strip() for lang in LANGS), key


# --------------------------------------------------------------------------- every page


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_with_outputs(at_project, page, lang):
    at = open_page(page, lang)
    assert_language_clean(at, lang)
    assert at.title, "every page has a title"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_opens_before_any_run(tmp_path, monkeypatch, page, lang):
    monkeypatch.setenv("FORJA_PROJECT", str(tmp_path))
    at = open_page(page, lang)
    assert_language_clean(at, lang)
    said = "\n".join(visible_text(at))
    assert "make run" in said, f"{page}: says which command makes what is missing"


def test_switching_the_language_keeps_what_was_typed(at_project):
    at = open_page("playground", "es")
    at.text_area(key="pg_prompt").set_value("Había una vez un gato").run()
    at.slider(key="pg_temperature").set_value(1.7).run()
    at.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == TABLE["pg_title"]["en"]
    assert at.text_area(key="pg_prompt").value == "Había una vez un gato"
    assert at.slider(key="pg_temperature").value == 1.7


# --------------------------------------------------------------------------- home


def test_home_shows_each_stage_with_its_figure(at_project):
    at = open_page("home", "en")
    table = next(m.value for m in at.markdown if m.value.startswith("| Step |"))
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    assert [r[0].strip("`") for r in rows] == outputs.stage_names(at_project)
    clean = next(r for r in rows if r[0] == "`clean`")
    assert clean[4:] == ["2.0 s", "110 documents kept"]
    assert at.metric[0].value == "2.30"  # base bits per byte


def test_stage_states_from_dvc_status(project):
    status = {"clean": [{"changed deps": {"flows/clean.py": "modified"}}], "pretrain": [{"changed outs": {"models/base": "deleted"}}]}
    states = {s.name: s for s in outputs.stage_states(project, status)}
    assert states["clean"].state == "outdated" and "flows/clean.py modified" in states["clean"].why
    assert states["pretrain"].state == "never"
    assert states["tokenize"].state == "done" and states["tokenize"].seconds == 0.4
    assert {s.state for s in outputs.stage_states(project, None)} >= {"unknown"}


def test_prefect_link_only_with_an_api_url(at_project, monkeypatch):
    assert not open_page("home").get("link_button")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert outputs.prefect_ui() == "http://127.0.0.1:4200"
    assert open_page("home").get("link_button")


# --------------------------------------------------------------------------- playground


def test_playground_generates_and_explains_each_token(at_project):
    at = open_page("playground", "en")
    at.slider(key="pg_max_new").set_value(12).run()
    at.button(key="pg_generate").click().run()
    assert not at.exception
    stats = [c.value for c in at.caption if "tokens/s" in c.value]
    assert stats and re.match(r"(1[0-2]|[1-9]) tokens in [\d.]+ s", stats[0])  # at most 12: it may end the text
    assert at.get("html"), "the coloured tokens"
    assert len(at.dataframe[0].value) == 5  # the 5 alternatives of the inspected step
    first = at.text[0].value
    at.button(key="pg_generate").click().run()  # same seed: the same text
    assert at.text[0].value == first


@pytest.mark.parametrize("prompt,key", [("   ", "pg_empty"), ("palabra " * 2500, "pg_too_long")])
def test_playground_refuses_an_empty_or_huge_prompt(at_project, prompt, key):
    at = open_page("playground", "es")
    at.text_area(key="pg_prompt").set_value(prompt).run()
    at.button(key="pg_generate").click().run()
    assert not at.exception
    shown = "\n".join(visible_text(at))
    assert TABLE[key]["es"].split("{")[0][:20] in shown
    assert not [c for c in at.caption if "tokens/s" in c.value]


def test_playground_says_when_the_prompt_is_longer_than_the_window(at_project):
    at = open_page("playground", "en")
    at.text_area(key="pg_prompt").set_value("Hola, ¿qué tal? " * 40).run()  # far more than 64 tokens
    at.slider(key="pg_max_new").set_value(4).run()
    at.button(key="pg_generate").click().run()
    assert not at.exception
    # the warning is drawn while generating; the finished page keeps the figures
    assert [c for c in at.caption if c.value.startswith("4 tokens in")]


# --------------------------------------------------------------------------- chat


def test_chat_two_turns_regenerate_and_clear(at_project):
    at = open_page("chat", "en")
    at.slider(key="chat_max_new").set_value(8).run()
    at.chat_input(key="chat_input").set_value("Hola").run()
    at.chat_input(key="chat_input").set_value("Repite: el perro").run()
    assert not at.exception
    log = at.get("chat_message")
    assert [m.name for m in log] == ["user", "assistant", "user", "assistant"]
    assert log[0].text[0].value == "Hola" and log[2].text[0].value == "Repite: el perro"
    first_meter = at.get("progress")[0].value
    assert first_meter > 0
    answer = log[3].text[0].value
    at.button(key="chat_regenerate").click().run()
    log = at.get("chat_message")
    assert len(log) == 4 and log[3].text[0].value != answer  # a new seed: another answer
    at.button(key="chat_clear").click().run()
    assert not at.get("chat_message")


def test_chat_shows_what_the_window_dropped(at_project):
    at = open_page("chat", "es")
    at.slider(key="chat_max_new").set_value(8).run()
    for i in range(6):
        at.chat_input(key="chat_input").set_value(f"Mensaje {i}: hola, ¿qué tal? muy bien, gracias").run()
    assert not at.exception
    expander = [e for e in at.expander if e.label.startswith("El modelo ya no ve")]
    assert expander, "the dropped messages are shown"
    assert "Mensaje 0" in "\n".join(t.value for t in expander[0].text)


def test_model_output_is_never_markdown(at_project):
    at = open_page("chat", "en")
    at.chat_input(key="chat_input").set_value("$x$ **bold** <b>html</b>").run()
    user = at.get("chat_message")[0]
    assert user.text[0].value == "$x$ **bold** <b>html</b>" and not user.markdown


# --------------------------------------------------------------------------- damaged checkpoints


def test_a_half_written_or_foreign_checkpoint_is_a_message(tmp_path, monkeypatch):
    root = make_project(tmp_path / "proj", models=False)
    tok = tiny_tokenizer(tmp_path)
    chat = tiny_checkpoint(root / "models" / "chat", tok, "finetune")
    (chat / "forja_config.json").write_text('{"format": "forja-check')  # cut mid-write
    other = tiny_checkpoint(root / "models" / "base", tok, "pretrain")
    shutil.copy(REPO / "tests" / "dashboard_project.py", root / "x")  # unrelated file: harmless
    spm = other / "tokenizer.model"
    spm.write_bytes(spm.read_bytes()[:200])  # a tokenizer sentencepiece cannot read
    monkeypatch.setenv("FORJA_PROJECT", str(root))
    at = open_page("chat", "en")
    assert at.error and "models/chat/forja_config.json" in at.error[0].value
    at.selectbox(key="chat_model").set_value("base").run()
    assert not at.exception and at.error and "models/base" in at.error[0].value
