"""The "Aprende / Learn" path: its lessons in order, the model chosen once for all of them,
and what every lesson page starts and ends with (title, place in the path, next lesson).

A lesson is `dashboard/views/learn_<name>.py` with its strings in
`dashboard/strings/learn_<name>.py` (keys `learn_<name>_title`, `learn_<name>_intro`).
"""
from __future__ import annotations

import streamlit as st

from . import loaders, render, ui
from .i18n import TABLE, lang, num, pct, t

LESSONS = ("tokens", "embeddings", "parameters", "attention", "softmax", "context", "fewshot", "stages",
           "limits")
ICONS = {"tokens": ":material/text_fields:", "embeddings": ":material/scatter_plot:",
         "parameters": ":material/tune:", "attention": ":material/visibility:",
         "softmax": ":material/bar_chart:", "context": ":material/straighten:",
         "fewshot": ":material/school:", "stages": ":material/stairs:", "limits": ":material/warning:"}
_KEEP = "learn_model_kept"  # the path's choice, in a plain key that outlives every page


def picker_key(name: str) -> str:
    """Each lesson, in each language, has its own picker widget, started from the path's
    choice: a widget shared by several pages comes back at its first option after a page
    switch, and one kept across a language switch keeps showing the old language's label
    (Streamlit 1.67)."""
    return f"learn_model_{name}_{lang()}"


def page(name: str) -> str:
    return f"views/learn_{name}.py"


def start(name: str, needs_model: bool = True) -> loaders.Loaded | None:
    """Draw a lesson's title, place in the path and explanation; then the path's model
    picker (in the sidebar, the same choice on every lesson). Without a model, a lesson that
    needs one says what is missing, offers the next lesson and stops there (st.stop)."""
    n = LESSONS.index(name) + 1
    st.caption(t("learn_progress", n=n, total=len(LESSONS)))
    st.title(t(f"learn_{name}_title"))
    st.markdown(t(f"learn_{name}_intro"))
    key = picker_key(name)
    if key not in st.session_state and _KEEP in st.session_state:
        st.session_state[key] = st.session_state[_KEEP]
    with st.sidebar:
        st.caption(t("learn_model_note"))
        loaded = ui.model_picker(key, prefer="base")
    if key in st.session_state:
        st.session_state[_KEEP] = st.session_state[key]
    if loaded is None and needs_model:
        st.info(t("learn_no_model"), icon=":material/model_training:")
        finish(name)
        st.stop()
    return loaded


def default_text(key: str, string_key: str) -> None:
    """Start the text widget `key` at this language's example (the string `string_key`), and
    swap an untouched example for the new language's when the reader switches: what the
    reader typed is kept as it is."""
    examples = TABLE[string_key]
    if st.session_state.get(key) in (None, *examples.values()):
        st.session_state[key] = examples[lang()]


def token_label(tok, token_id: int) -> str:
    """A token as a chart label: its text with spaces as "·" and line breaks as "⏎"; a
    special token by its name."""
    if tok.processor.is_control(token_id):
        return tok.id_to_piece(token_id)
    text = tok.token_bytes(token_id).decode("utf-8", "replace")
    return text.replace(" ", "·").replace("\n", "⏎") or "·"


def chips(toks, spaces: bool = False, trained: list[bool] | None = None) -> str:
    """explain.Token pieces as coloured chips (render.token_chips): raw bytes and special
    tokens by their piece, spaces shown on demand, the part fine-tuning does not learn faded."""
    shown = []
    for i, tk in enumerate(toks):
        text = tk.piece if tk.is_special or tk.is_byte else tk.text
        shown.append({"text": text.replace(" ", "·") if spaces else text,
                      "tip": t("learn_tokens_tip", id=tk.id, piece=tk.piece),
                      "kind": "special" if tk.is_special else "byte" if tk.is_byte else None,
                      "faded": trained is not None and not trained[i]})
    return render.token_chips(shown)


def chance(p: float) -> str:
    """A probability as a reader takes it in: "12.5%", or "1 in 3,400" once it is under 1%."""
    if p >= 0.01 or p <= 0:
        return pct(p, 1)
    n = 1 / p
    digits = max(0, len(str(int(n))) - 2)  # two significant figures: 1 in 3,400, not 1 in 3,417
    return t("learn_one_in", n=num(round(n, -digits)))


def finish(name: str) -> None:
    """The link to the next lesson (or back to the first at the end of the path)."""
    i = LESSONS.index(name)
    st.divider()
    if i + 1 < len(LESSONS):
        nxt = LESSONS[i + 1]
        st.page_link(page(nxt), label=t("learn_next", title=t(f"learn_{nxt}_title")), icon=":material/arrow_forward:")
    else:
        st.page_link(page(LESSONS[0]), label=t("learn_again"), icon=":material/replay:")
