"""Aprende 4, Attention: a sentence's attention weights per layer and head as a heatmap with the
causal mask drawn and labelled, what one chosen token looks at, and every head of a layer."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, ui
from dashboard.i18n import num, pct, t
from llm_core import explain

MAX_TOKENS = 64  # a 64 x 64 map is the most a reader (and a phone screen) can take in
MASKED = "#eceae6"  # warm grey: apart from the pale end of the blues

loaded = learn.start("attention")
model, tok = loaded.model, loaded.tokenizer
learn.default_text("learn_att_text", "learn_attention_default")
text = st.text_input(t("learn_attention_text"), key="learn_att_text", max_chars=1000)
ids = tok.encode(text, bos=True) if text.strip() else []
if len(ids) < 2:
    st.info(t("learn_attention_empty"))
    learn.finish("attention")
    st.stop()
limit = min(MAX_TOKENS, model.cfg.max_seq_len)
if len(ids) > limit:
    st.caption(t("learn_attention_cut", n=num(len(ids)), shown=num(limit)))
    ids = ids[:limit]


def label(k: int, token_id: int) -> str:
    """"3·gato": the position keeps two equal tokens apart on the axes."""
    text = tok.id_to_piece(token_id) if token_id == tok.bos_id else tok.token_bytes(token_id).decode("utf-8", "replace")
    return f"{k}·{text.strip() or '␣'}"


labels = [label(k, i) for k, i in enumerate(ids)]
loaders.use_threads()
maps = explain.attention(model, ids)
n_layers, n_heads = len(maps), maps[0].shape[0]

left, right = st.columns(2)
ui.bounded("learn_att_layer", 1, 1, n_layers)
layer = left.slider(t("learn_attention_layer"), 1, max(2, n_layers), key="learn_att_layer", disabled=n_layers == 1)
layer = min(layer, n_layers)
ui.bounded("learn_att_head", 1, 1, n_heads)
head = right.slider(t("learn_attention_head"), 1, max(2, n_heads), key="learn_att_head", disabled=n_heads == 1)
head = min(head, n_heads)


def cells(weights, head_no: int | None = None) -> list[dict]:
    rows = weights.tolist()
    out = []
    for i, row in enumerate(rows):
        for j, w in enumerate(row):
            cell = {"looker": labels[i], "looked": labels[j], "w": w if j <= i else None, "future": j > i}
            if head_no is not None:
                cell["head"] = head_no
            out.append(cell)
    return out


def heatmap(values: list[dict], size: int) -> alt.Chart:
    axis = alt.Axis(labelLimit=90, labelFontSize=10 if size > 300 else 8, labels=size > 300, ticks=False)
    base = alt.Chart().encode(
        x=alt.X("looked:N", sort=labels, title=t("learn_attention_looked") if size > 300 else None, axis=axis),
        y=alt.Y("looker:N", sort=labels, title=t("learn_attention_looker") if size > 300 else None, axis=axis))
    seen = base.mark_rect().encode(
        color=alt.Color("w:Q", title=t("learn_attention_weight"), scale=alt.Scale(scheme="blues", type="sqrt", domain=[0, 1]),
                        legend=alt.Legend(format=".0%") if size > 300 else None),
        tooltip=[alt.Tooltip("looker:N", title=t("learn_attention_looker")),
                 alt.Tooltip("looked:N", title=t("learn_attention_looked")),
                 alt.Tooltip("w:Q", title=t("learn_attention_weight"), format=".1%")]
    ).transform_filter("!datum.future")
    future = base.mark_rect(color=MASKED).encode(
        tooltip=[alt.Tooltip("looker:N", title=t("learn_attention_looker")),
                 alt.Tooltip("looked:N", title=t("learn_attention_future"))]).transform_filter("datum.future")
    return alt.layer(future, seen, data=alt.Data(values=values)).properties(width=size, height=size)


st.subheader(t("learn_attention_map_title"))
st.write(t("learn_attention_map_intro"))
weights = maps[layer - 1][head - 1]
chart = heatmap(cells(weights), 520)
if len(labels) >= 4:  # the label sits in the empty triangle, a quarter down and three quarters across
    spot = [{"looker": labels[len(labels) // 4], "looked": labels[(3 * len(labels)) // 4],
             "text": t("learn_attention_mask")}]
    chart = chart + alt.Chart(alt.Data(values=spot)).mark_text(fontSize=15, fontWeight="bold", color="#475569").encode(
        x=alt.X("looked:N", sort=labels), y=alt.Y("looker:N", sort=labels), text="text:N")
st.altair_chart(ui.locale(chart), width="content")
st.markdown(t("learn_attention_mask_note"))

st.subheader(t("learn_attention_pick_title"))
ui.bounded("learn_att_token", len(ids) - 1, 1, len(ids) - 1)
pick = st.selectbox(t("learn_attention_pick"), list(range(1, len(ids))), key="learn_att_token",
                    format_func=labels.__getitem__)
row = weights[pick, : pick + 1].tolist()
top = max(range(len(row)), key=row.__getitem__)
st.write(t("learn_attention_pick_note", token=labels[pick], n=num(pick), top=labels[top], share=pct(row[top], 0)))
bars = alt.Chart(alt.Data(values=[{"looked": labels[j], "w": w} for j, w in enumerate(row)])).mark_bar(
    color="#2563eb").encode(
    x=alt.X("looked:N", sort=labels[: pick + 1], title=t("learn_attention_looked"), axis=alt.Axis(labelAngle=-45)),
    y=alt.Y("w:Q", title=t("learn_attention_weight"), axis=alt.Axis(format="%")),
    tooltip=[alt.Tooltip("looked:N", title=t("learn_attention_looked")),
             alt.Tooltip("w:Q", title=t("learn_attention_weight"), format=".1%")]).properties(height=220)
st.altair_chart(ui.locale(bars), width="stretch")

st.subheader(t("learn_attention_heads_title", layer=num(layer)))
st.write(t("learn_attention_heads_intro"))
grid = [c for h in range(n_heads) for c in cells(maps[layer - 1][h], h + 1)]
small = heatmap(grid, 150).facet(column=alt.Column("head:O", title=t("learn_attention_head")))
st.altair_chart(ui.locale(small), width="content")
learn.finish("attention")
