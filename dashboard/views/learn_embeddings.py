"""Aprende 2, Embeddings: a token's vector, a PCA map of frequent words coloured by language,
and a word's nearest neighbours, all from the model's real embedding matrix."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, ui
from dashboard.i18n import num, pct, t
from llm_core import explain

loaded = learn.start("embeddings")
model, tok = loaded.model, loaded.tokenizer
dim, vocab = model.cfg.dim, model.cfg.vocab_size
st.markdown(t("learn_embeddings_size", dim=num(dim), vocab=num(vocab), cells=num(dim * vocab)))


def word_of(token_id: int) -> str:
    return tok.id_to_piece(token_id).lstrip("\u2581")


learn.default_text("learn_emb_word", "learn_embeddings_word_default")
word = st.text_input(t("learn_embeddings_word"), key="learn_emb_word", max_chars=60).strip()
ids, vector = explain.word_vector(model, tok, word) if word else ([], None)
if ids:
    pieces = " ".join(tok.id_to_piece(i) for i in ids)
    st.caption(t("learn_embeddings_vector", dim=num(dim), piece=pieces, id=", ".join(str(i) for i in ids)))
    bars = alt.Chart(alt.Data(values=[{"i": i, "v": v} for i, v in enumerate(vector.tolist())])).mark_bar().encode(
        x=alt.X("i:O", title=t("learn_embeddings_col_index"), axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("v:Q", title=t("learn_embeddings_col_value")),
        color=alt.condition("datum.v > 0", alt.value("#2563eb"), alt.value("#dc2626")),
        tooltip=[alt.Tooltip("i:O", title=t("learn_embeddings_col_index")),
                 alt.Tooltip("v:Q", title=t("learn_embeddings_col_value"), format=".3f")]).properties(height=140)
    st.altair_chart(ui.locale(bars), width="stretch")
    if len(ids) > 1:
        st.caption(t("learn_embeddings_several", word=word, n=num(len(ids))))

st.subheader(t("learn_embeddings_map_title"))
st.write(t("learn_embeddings_map_intro", dim=num(dim)))
candidates = explain.word_tokens(tok, vocab)
if len(candidates) < 50:  # a tiny vocabulary holds few whole words: draw word pieces instead
    candidates = explain.word_tokens(tok, vocab, whole=False)
    st.caption(t("learn_embeddings_pieces", n=num(len(candidates))))
if len(candidates) < 3:
    st.info(t("learn_embeddings_too_few", n=num(len(candidates))))
    learn.finish("embeddings")
    st.stop()
low = min(len(candidates), 20)
high = max(low + 1, min(1000, len(candidates)))
ui.bounded("learn_emb_n", min(300, len(candidates)), low, high)
n = st.slider(t("learn_embeddings_how_many"), low, high, key="learn_emb_n")
shown = candidates[:n]
coords, share = explain.embedding_map(model, tok, shown)
counts = loaders.token_languages(tok)
names = {code: t(f"learn_embeddings_lang_{code}") for code in ("es", "en", "both", "none")}
points = [{"x": float(x), "y": float(y), "word": word_of(i),
           "lang": names[explain.word_language(counts, i) or "none"] if counts else names["none"]}
          for i, (x, y) in zip(shown, coords.tolist())]
scale = alt.Scale(domain=list(names.values()), range=["#dc2626", "#2563eb", "#9333ea", "#9ca3af"])
chart = alt.Chart(alt.Data(values=points)).mark_circle(size=60, opacity=0.75).encode(
    x=alt.X("x:Q", title=t("learn_embeddings_axis", n=1)), y=alt.Y("y:Q", title=t("learn_embeddings_axis", n=2)),
    color=alt.Color("lang:N", title=t("learn_embeddings_lang"), scale=scale),
    tooltip=[alt.Tooltip("word:N", title=t("learn_embeddings_word_col")),
             alt.Tooltip("lang:N", title=t("learn_embeddings_lang"))])
labels = chart.mark_text(dy=-9, fontSize=10, opacity=0.8).encode(text="word:N").transform_window(
    rank="rank()", sort=[alt.SortField("x")]).transform_filter("datum.rank % 6 == 0")
st.altair_chart(ui.locale((chart + labels).properties(height=520).interactive()), width="stretch")
st.caption(t("learn_embeddings_axes", a=pct(float(share[0]), 1), b=pct(float(share[1]), 1)) + " "
           + (t("learn_embeddings_lang_note") if counts else t("learn_embeddings_no_lang")))

if word and ids:
    st.subheader(t("learn_embeddings_near_title"))
    st.write(t("learn_embeddings_near_intro", word=word))
    _, near = explain.nearest(model, tok, word, k=10, candidates=candidates)
    st.dataframe([{t("learn_embeddings_col_near"): word_of(i), t("learn_embeddings_col_sim"): num(s, 3)}
                  for i, s in near], hide_index=True)
learn.finish("embeddings")
