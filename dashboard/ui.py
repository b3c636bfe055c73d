"""Small pieces several pages share: 'this is missing', a file that cannot be read, numbers on
chart axes in the reader's language, the model picker."""
from __future__ import annotations

import altair as alt
import streamlit as st

from . import loaders
from .i18n import lang, num, t


def missing(what: str, command: str = "make run") -> None:
    """Say what is not there yet and which command makes it."""
    st.info(t("missing_run", what=what, command=command), icon=":material/hourglass_empty:")


def unreadable_or_missing(relative: str, what: str) -> None:
    """A file that is there but cannot be read is being written (or broken); otherwise not made yet."""
    if (loaders.root() / relative).exists():
        st.warning(t("file_unreadable", path=relative), icon=":material/sync_problem:")
    else:
        missing(what)


def locale(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Axis numbers written as the reader's language writes them (2,5 and 1 000 in Spanish)."""
    if lang() != "es":
        return chart
    return chart.configure(locale={"number": {"decimal": ",", "thousands": "\u202f", "grouping": [3],
                                              "currency": ["", "\u00a0€"]}})


def model_picker(key: str, prefer: str = "chat") -> loaders.Loaded | None:
    """A select box of the project's checkpoints; the chosen one loaded, or None with a message."""
    entries = loaders.models()
    if not entries:
        st.warning(t("no_models"), icon=":material/model_training:")
        return None
    names = [e.name for e in entries]
    if st.session_state.get(key) not in names:  # first visit, or the chosen model is gone
        st.session_state[key] = next((e.name for e in entries if e.kind == prefer and e.loadable), names[0])
    labels = {e.name: f"{e.name} · {t('model_kind_' + e.kind)}" for e in entries}  # made now, in this language
    name = st.selectbox(t("model_label"), names, key=key, format_func=labels.__getitem__)
    entry = next(e for e in entries if e.name == name)
    if entry.problem:
        st.error(t("model_broken", why=entry.problem), icon=":material/error:")
        return None
    try:
        with st.spinner(t("loading_model")):
            loaded = loaders.load(entry)
    except loaders.ModelLoadError as err:
        st.error(t("model_broken", why=str(err)), icon=":material/error:")
        return None
    st.caption(t("model_size", params=num((entry.parameters or 0) / 1e6, 2), context=num(loaded.window),
                 step=num(entry.step)))
    return loaded


def bounded(key: str, default, low, high) -> None:
    """Start a widget's value at `default` and keep a remembered one inside the range the
    current model allows (another model may have a smaller window or vocabulary). Call it
    before drawing the widget, and draw the widget without a `value` (its key holds it)."""
    value = st.session_state.get(key, default)
    value = min(max(value, low), high)
    if st.session_state.get(key) != value:
        st.session_state[key] = value
