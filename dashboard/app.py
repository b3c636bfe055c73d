"""forja's dashboard: `make dashboard` (or `streamlit run dashboard/app.py` from the project folder).

This entry script sets up the page, the language switch and the navigation;
each page is one short script in dashboard/views/. Page URLs come from the file
names, so translated titles never change a link.
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run dashboard/app.py` runs this file as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import outputs  # noqa: E402
from dashboard.i18n import LANG_KEY, LANGS, lang, t  # noqa: E402
from dashboard.learn import ICONS, LESSONS  # noqa: E402

VIEWS = Path(__file__).resolve().parent / "views"
PAGES = [("home", ":material/home:"), ("training", ":material/monitoring:"), ("data", ":material/database:"),
         ("playground", ":material/edit_note:"), ("chat", ":material/chat:")]

st.set_page_config(page_title="forja", page_icon=":material/local_fire_department:", layout="wide")
lang()  # the session's language, before anything is drawn
with st.sidebar:
    names = {code: t(f"lang_{code}") for code in LANGS}
    st.radio(t("lang_label"), LANGS, key=LANG_KEY, format_func=names.__getitem__, horizontal=True)
    st.caption(t("sidebar_project", path=outputs.project_root().name))

pages = [st.Page(VIEWS / f"{name}.py", title=t(f"nav_{name}"), icon=icon, default=name == "home")
         for name, icon in PAGES]
lessons = [st.Page(VIEWS / f"learn_{name}.py", title=f"{i}. {t(f'learn_{name}_title')}", icon=ICONS[name])
           for i, name in enumerate(LESSONS, start=1)]
st.navigation({"": pages, t("nav_learn"): lessons}, expanded=True).run()  # every lesson listed
