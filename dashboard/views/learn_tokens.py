"""Aprende 1, Tokens: any text cut into the model's own tokens, two languages side by side,
a chat message in its template with the trained part, and byte fallback."""
from __future__ import annotations

import streamlit as st

from dashboard import learn, loaders
from dashboard.i18n import num, t
from dashboard.loaders import MAX_PROMPT_CHARS
from llm_core import explain

loaded = learn.start("tokens")
tok = loaded.tokenizer


def words(text: str) -> int:
    return len(text.split())


learn.default_text("learn_tokens_text", "learn_tokens_default")
text = st.text_area(t("learn_tokens_text"), key="learn_tokens_text", height=90, max_chars=MAX_PROMPT_CHARS)
spaces = st.toggle(t("learn_tokens_spaces"), key="learn_tokens_spaces")
if not text:
    st.info(t("learn_tokens_empty"))
else:
    toks = explain.tokens(tok, text)
    n_bytes = len(text.encode("utf-8"))
    st.html(learn.chips(toks, spaces))
    st.markdown(t("learn_tokens_count", tokens=num(len(toks)), chars=num(len(text)), bytes=num(n_bytes),
                  per=num(n_bytes / max(1, len(toks)), 2)))
    with st.expander(t("learn_tokens_ids")):
        st.dataframe([{t("learn_tokens_col_id"): tk.id, t("learn_tokens_col_piece"): tk.piece,
                       t("learn_tokens_col_text"): repr(tk.text)} for tk in toks], hide_index=True)

st.subheader(t("learn_tokens_langs_title"))
st.write(t("learn_tokens_langs_intro"))
left, right = st.columns(2)
for col, lang in ((left, "es"), (right, "en")):
    key = f"learn_tokens_pair_{lang}"
    if key not in st.session_state:
        st.session_state[key] = t(key)
    sentence = col.text_input(t(f"learn_tokens_{lang}_label"), key=key, max_chars=500)
    if sentence.strip():
        toks = explain.tokens(tok, sentence)
        col.html(learn.chips(toks))
        col.caption(t("learn_tokens_per_word", tokens=num(len(toks)), words=num(words(sentence)),
                      per=num(len(toks) / max(1, words(sentence)), 2)))
stats = loaders.metrics("tokenizer") or {}
if stats.get("bytes_per_token_es") and stats.get("bytes_per_token_en"):
    st.caption(t("learn_tokens_corpus", es=num(stats["bytes_per_token_es"], 2), en=num(stats["bytes_per_token_en"], 2)))

st.subheader(t("learn_tokens_chat_title"))
st.write(t("learn_tokens_chat_intro"))
learn.default_text("learn_tokens_chat", "learn_tokens_chat_user_default")
message = st.text_input(t("learn_tokens_chat_user"), key="learn_tokens_chat", max_chars=500)
conv = [{"role": "user", "content": message}, {"role": "assistant", "content": t("learn_tokens_chat_reply")}]
toks, trained = explain.chat_tokens(tok, conv)
st.html(learn.chips(toks, trained=trained))
st.caption(t("learn_tokens_chat_count", total=num(len(toks)), trained=num(sum(trained))))

st.subheader(t("learn_tokens_bytes_title"))
st.write(t("learn_tokens_bytes_intro"))
learn.default_text("learn_tokens_bytes", "learn_tokens_bytes_default")
rare = st.text_input(t("learn_tokens_bytes_label"), key="learn_tokens_bytes", max_chars=500)
if rare:
    toks = explain.tokens(tok, rare)
    st.html(learn.chips(toks))
    st.caption(t("learn_tokens_bytes_count", bytes=num(sum(tk.is_byte for tk in toks)), tokens=num(len(toks))))
learn.finish("tokens")
