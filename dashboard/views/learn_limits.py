"""Aprende 9, limits: held-out questions the chat model got wrong with the probability it gave
its answer, the sources and languages the model read, and the clean stage's PII filter live."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, ui
from dashboard.i18n import lang, num, pct, t
from llm_core import explain
from llm_core.data.clean import scrub_pii

SCORED = 60  # wrong answers whose probability is computed (the page stays under a second)
SHOWN = 6

learn.start("limits", needs_model=False)

st.subheader(t("learn_limits_wrong_title"))
st.write(t("learn_limits_wrong_intro"))
asked = loaders.predictions("chat_0shot", lang())
wrong = [r for r in asked if r["score"] < 0.5 and str(r["prediction"]).strip()]
chat_entry = next((e for e in loaders.models() if e.kind == "chat" and e.loadable), None)
if not asked:
    ui.missing(t("learn_limits_no_predictions"))
elif chat_entry is None:
    st.info(t("learn_no_model"), icon=":material/model_training:")
else:
    chat = loaders.load(chat_entry)
    loaders.use_threads()
    scored = sorted(((explain.reply_probability(chat.model, chat.tokenizer, r["prompt"], r["prediction"],
                                                with_end=False), r) for r in wrong[:SCORED]),
                    key=lambda pair: -pair[0])[:SHOWN]
    st.caption(t("learn_limits_wrong_count", asked=num(len(asked)), wrong=num(len(wrong)), shown=num(len(scored))))
    st.dataframe([{t("learn_limits_col_question"): r["prompt"], t("learn_limits_col_right"): r["answer"],
                   t("learn_limits_col_said"): r["prediction"], t("learn_limits_col_prob"): pct(p, 1)}
                  for p, r in scored], hide_index=True)

st.subheader(t("learn_limits_data_title"))
st.write(t("learn_limits_data_intro"))
summary = loaders.json_file("data/clean/summary.json") or {}
sources = {name: s.get("chars_out", 0) for name, s in (summary.get("sources") or {}).items() if isinstance(s, dict)}
total = sum(sources.values())
if total:
    rows = [{"source": name, "chars": n, "share": n / total} for name, n in sources.items()]
    bars = alt.Chart(alt.Data(values=rows)).mark_bar(color="#2563eb").encode(
        y=alt.Y("source:N", sort="-x", title=t("learn_limits_source"), axis=alt.Axis(labelOverlap=False)),
        x=alt.X("share:Q", title=t("learn_limits_share"), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("source:N", title=t("learn_limits_source")),
                 alt.Tooltip("chars:Q", title=t("learn_limits_chars"), format=","),
                 alt.Tooltip("share:Q", title=t("learn_limits_share"), format=".1%")]).properties(height=36 * len(rows))
    st.altair_chart(ui.locale(bars), width="stretch")
    langs = {k: v.get("chars", 0) for k, v in (summary.get("languages") or {}).items() if isinstance(v, dict)}
    if sum(langs.values()):
        st.caption(t("learn_limits_langs", es=pct(langs.get("es", 0) / sum(langs.values())),
                     en=pct(langs.get("en", 0) / sum(langs.values()))))
else:
    ui.missing(t("learn_limits_no_summary"))

st.subheader(t("learn_limits_privacy_title"))
clean = loaders.metrics("clean") or {}
st.write(t("learn_limits_privacy_intro", emails=num(clean.get("scrubbed_emails")), phones=num(clean.get("scrubbed_phones"))))
learn.default_text("learn_lim_text", "learn_limits_privacy_default")
text = st.text_input(t("learn_limits_privacy_text"), key="learn_lim_text", max_chars=1000)
if text:
    masked, found = scrub_pii(text)
    st.text(masked)
    st.caption(t("learn_limits_privacy_found", emails=num(found.get("emails", 0)), phones=num(found.get("phones", 0))))
learn.finish("limits")
