"""One translations table (Spanish and English) and `t()`, the only way a page shows words.

Each page keeps its strings in `dashboard/strings/<page>.py` as
``STRINGS = {key: {"es": ..., "en": ...}}``; they are merged here into one
``TABLE`` (a key defined twice is an error at import), so a test can check
that every key has both languages and a page cannot show a key by mistake.

The language lives in ``st.session_state["lang"]``: Spanish by default, or the
browser's language when it is English (``st.context.locale``). The sidebar
switch writes the same key, and every widget has a stable ``key=``, so
switching keeps what the user typed and chose.
"""
from __future__ import annotations

import importlib
import pkgutil

import streamlit as st

from . import strings as _strings

LANGS = ("es", "en")
DEFAULT = "es"
LANG_KEY = "lang"


def _build() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(_strings.__path__), key=lambda m: m.name):
        part = importlib.import_module(f"{_strings.__name__}.{info.name}").STRINGS
        for key, texts in part.items():
            if key in table:
                raise KeyError(f"dashboard/strings/{info.name}.py: key {key!r} is already defined in another file")
            if set(texts) != set(LANGS):
                raise KeyError(f"dashboard/strings/{info.name}.py: key {key!r} needs exactly {LANGS}, has {sorted(texts)}")
            table[key] = texts
    return table


TABLE: dict[str, dict[str, str]] = _build()


def browser_language() -> str:
    try:
        locale = (st.context.locale or "").lower()
    except Exception:  # no browser (AppTest, bare mode)
        locale = ""
    return "en" if locale.startswith("en") else DEFAULT


def lang() -> str:
    if st.session_state.get(LANG_KEY) not in LANGS:
        st.session_state[LANG_KEY] = browser_language()
    return st.session_state[LANG_KEY]


def t(key: str, **values) -> str:
    """The string for `key` in the current language, with `{name}` fields filled from `values`."""
    text = TABLE[key][lang()]
    return text.format(**values) if values else text


def num(x: float | int | None, decimals: int = 0) -> str:
    """A number as a reader of this language writes it: 15 334 583 and 2,19 in Spanish
    (a space between thousands, decimal comma), 15,334,583 and 2.19 in English."""
    if x is None:
        return "–"
    text = f"{x:,.{decimals}f}"
    if lang() == "es":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def pct(x: float | None, decimals: int = 0) -> str:
    return "–" if x is None else num(100 * x, decimals) + ("\u00a0%" if lang() == "es" else "%")
