"""Aprende 6, the context window: which part of a long text the model sees, the probability of a
word from the text's beginning as the model sees more or less of it, and why a chat forgets."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, render, ui
from dashboard.i18n import num, pct, t
from dashboard.loaders import MAX_PROMPT_CHARS
from llm_core import explain
from llm_core.chat import CONTENT_PREFIX

POINTS = 24  # how many window sizes the curve is drawn at

loaded = learn.start("context")
model, tok = loaded.model, loaded.tokenizer
window = model.cfg.max_seq_len
st.markdown(t("learn_context_window", window=num(window)))
learn.default_text("learn_ctx_text", "learn_context_default")
text = st.text_area(t("learn_context_text"), key="learn_ctx_text", height=180, max_chars=MAX_PROMPT_CHARS)
ids = tok.encode(text, bos=True) if text.strip() else []
if len(ids) < 2:
    st.info(t("learn_context_empty"))
    learn.finish("context")
    st.stop()
lost = max(0, len(ids) - window)
chips = [{"text": tok.id_to_piece(i) if i == tok.bos_id else tok.token_bytes(i).decode("utf-8", "replace"),
          "tip": f"{k}", "kind": "special" if i == tok.bos_id else None, "faded": k < lost}
         for k, i in enumerate(ids)]
with st.container(height=260):
    st.html(render.token_chips(chips))
if lost:
    st.markdown(t("learn_context_counts", total=num(len(ids)), window=num(window), seen=num(window), lost=num(lost)))
else:
    st.markdown(t("learn_context_fits", total=num(len(ids)), window=num(window)))

st.subheader(t("learn_context_curve_title"))
st.write(t("learn_context_curve_intro"))
learn.default_text("learn_ctx_word", "learn_context_word_default")
word = st.text_input(t("learn_context_word"), key="learn_ctx_word", max_chars=40).strip()
target = tok.encode(CONTENT_PREFIX + word) if word else []
if target:
    most = min(len(ids), window)
    sizes = sorted({max(1, round(most * (k + 1) / POINTS)) for k in range(POINTS)})
    loaders.use_threads()
    curve = explain.context_curve(model, ids, target[0], sizes)
    # the word's last occurrence is the first to come into view as the model sees more
    last = next((k for k in range(len(ids) - len(target), -1, -1) if ids[k:k + len(target)] == target), None)
    enters = len(ids) - last if last is not None else None
    label = t("learn_context_prob", word=word)
    line = alt.Chart(alt.Data(values=[{"n": n, "p": p} for n, p in curve])).mark_line(point=True).encode(
        x=alt.X("n:Q", title=t("learn_context_seen"), scale=alt.Scale(domain=[0, most])),
        y=alt.Y("p:Q", title=label, axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("n:Q", title=t("learn_context_seen")), alt.Tooltip("p:Q", title=label, format=".2%")])
    chart = line
    if enters is not None and enters <= most:
        mark = alt.Chart(alt.Data(values=[{"n": enters, "text": t("learn_context_enters", word=word)}]))
        chart = line + mark.mark_rule(color="#dc2626", strokeDash=[4, 4]).encode(x="n:Q") + mark.mark_text(
            align="left", dx=4, dy=-6, color="#dc2626").encode(x="n:Q", y=alt.value(8), text="text:N")
    st.altair_chart(ui.locale(chart.properties(height=260)), width="stretch")
    st.write(t("learn_context_reading", word=word, full=pct(curve[-1][1], 2), few=num(curve[0][0]),
               short=pct(curve[0][1], 2)))
    if last is None:
        st.caption(t("learn_context_absent", word=word))
    elif enters > most:
        st.caption(t("learn_context_outside", word=word))
    else:  # in view: did seeing it change the model's mind?
        before = max((p for n, p in curve if n < enters), default=curve[0][1])
        used = curve[-1][1] > 2 * before
        st.caption(t("learn_context_used" if used else "learn_context_unused", word=word))

st.subheader(t("learn_context_chat_title"))
stats = loaders.metrics("tokenizer") or {}
per = stats.get("bytes_per_token_es") or stats.get("bytes_per_token_en") or 3.0
st.write(t("learn_context_chat", window=num(window), bytes=num(per, 1), chars=num(round(window * per, -1))))
st.page_link("views/chat.py", label=t("nav_chat"), icon=":material/chat:")
learn.finish("context")
