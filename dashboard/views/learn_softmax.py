"""Aprende 5, Softmax and temperature: the next-token distribution's top 15 as the temperature,
top-k and top-p move, a few draws at those settings, and the greedy continuation."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, ui
from dashboard.i18n import num, pct, t
from dashboard.loaders import MAX_PROMPT_CHARS
from llm_core import explain
from llm_core.config import SampleConfig
from llm_core.sample import generate

TOP = 15
DRAWS, DRAW_TOKENS = 5, 12

loaded = learn.start("softmax")
model, tok = loaded.model, loaded.tokenizer
learn.default_text("learn_sm_prompt", "learn_softmax_default")
prompt = st.text_input(t("learn_softmax_prompt"), key="learn_sm_prompt", max_chars=MAX_PROMPT_CHARS)
temperature = st.slider(t("learn_softmax_temperature"), 0.1, 10.0, 1.0, 0.1, format="%.1f", key="learn_sm_temperature")
left, right = st.columns(2)
top_k = left.slider(t("learn_softmax_top_k"), 0, 100, 0, key="learn_sm_top_k")
top_p = right.slider(t("learn_softmax_top_p"), 0.05, 1.0, 1.0, 0.05, key="learn_sm_top_p")
if not prompt.strip():
    st.info(t("learn_softmax_empty"))
    learn.finish("softmax")
    st.stop()
ids = tok.encode(prompt, bos=True)
loaders.use_threads()
dist = explain.next_token(model, ids, temperature, top_k, top_p)
at_one = dist.logits.softmax(-1)


top = dist.top(TOP)
texts = [learn.token_label(tok, i) for i, *_ in top]
rows = [{"token": text if texts.count(text) == 1 else f"{text} #{i}",  # raw bytes often look alike
         "p": p, "p1": float(at_one[i]), "state": t("learn_softmax_kept") if kept else t("learn_softmax_cut")}
        for text, (i, p, _, kept) in zip(texts, top)]
st.subheader(t("learn_softmax_chart_title", n=TOP))
order = [r["token"] for r in rows]
# the axis reaches the larger of the two tallest marks, so the temperature-1 ticks stay a
# fixed yardstick while the bars sharpen (low temperature) or flatten (high) against them
top_x = min(1.0, 1.1 * max(max(r["p"] for r in rows), max(r["p1"] for r in rows)))
base = alt.Chart(alt.Data(values=rows)).encode(y=alt.Y("token:N", sort=order, title=None))
bars = base.mark_bar().encode(
    x=alt.X("p:Q", title=t("learn_softmax_prob"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, top_x])),
    color=alt.Color("state:N", title=t("learn_softmax_state"),
                    scale=alt.Scale(domain=[t("learn_softmax_kept"), t("learn_softmax_cut")],
                                    range=["#2563eb", "#cbd5e1"])),
    tooltip=[alt.Tooltip("token:N", title=t("learn_softmax_token")),
             alt.Tooltip("p:Q", title=t("learn_softmax_prob"), format=".2%"),
             alt.Tooltip("p1:Q", title=t("learn_softmax_prob_t1"), format=".2%")])
ticks = base.mark_tick(color="#111", thickness=2, size=16).encode(x="p1:Q")
st.altair_chart(ui.locale((bars + ticks).properties(height=26 * len(rows) + 40)), width="stretch")
first = rows[0]
st.write(t("learn_softmax_reading", temp=num(temperature, 1), top=first["token"], p=pct(first["p"], 1),
           p1=pct(first["p1"], 1), mass=pct(sum(r["p"] for r in rows), 1), rest=num(model.cfg.vocab_size - len(rows))))
kept = int(dist.kept.sum())
if kept < model.cfg.vocab_size:
    st.markdown(t("learn_softmax_cut_note", kept=num(kept)))
st.caption(t("learn_softmax_how"))

st.subheader(t("learn_softmax_samples_title"))
st.write(t("learn_softmax_samples_intro", n=DRAW_TOKENS))
if st.button(t("learn_softmax_again"), key="learn_sm_again", icon=":material/casino:"):
    st.session_state["learn_sm_round"] = st.session_state.get("learn_sm_round", 0) + 1
round_no = st.session_state.get("learn_sm_round", 0)
stops = [i for i in (tok.eos_id, tok.end_of_turn_id) if i is not None and i >= 0]
for n in range(DRAWS):
    cfg = SampleConfig(max_new_tokens=DRAW_TOKENS, temperature=temperature, top_k=top_k, top_p=top_p,
                       seed=1000 * round_no + n, top_candidates=0)
    st.text(prompt + tok.decode(generate(model, ids, cfg, stops).ids))

st.subheader(t("learn_softmax_greedy_title"))
st.markdown(t("learn_softmax_greedy"))
greedy = SampleConfig(max_new_tokens=DRAW_TOKENS * 2, temperature=0.0, top_candidates=0)
st.text(prompt + tok.decode(generate(model, ids, greedy, stops).ids))
learn.finish("softmax")
