"""Generar texto / Playground: a prompt, the sampling knobs, text streamed as it is made,
each token coloured by its probability and, on demand, the 5 alternatives at that step."""
from __future__ import annotations

import streamlit as st

from dashboard import render, ui
from dashboard.generation import Clock, Throttle, pieces
from dashboard.i18n import num, pct, t
from dashboard.loaders import MAX_NEW_TOKENS, MAX_PROMPT_CHARS
from llm_core.config import SampleConfig

st.title(t("pg_title"))
st.write(t("pg_intro"))
loaded = ui.model_picker("pg_model", prefer="base")
if loaded is None:
    st.stop()
model, tok = loaded.model, loaded.tokenizer
window = loaded.window

if "pg_prompt" not in st.session_state:
    st.session_state["pg_prompt"] = t("pg_prompt_default")
prompt = st.text_area(t("pg_prompt"), key="pg_prompt", height=110)
most = max(1, min(MAX_NEW_TOKENS, window - 8))
ui.bounded("pg_top_k", 40, 0, tok.vocab_size)
ui.bounded("pg_max_new", min(80, most), 1, most)
a, b, c, d, e = st.columns(5)
temperature = a.slider(t("pg_temperature"), 0.0, 10.0, 0.8, 0.1, key="pg_temperature", help=t("pg_temperature_help"))
top_k = b.number_input(t("pg_top_k"), 0, tok.vocab_size, key="pg_top_k", help=t("pg_top_k_help"))
top_p = c.slider(t("pg_top_p"), 0.05, 1.0, 1.0, 0.05, key="pg_top_p", help=t("pg_top_p_help"))
max_new = d.slider(t("pg_max_new"), 1, most, key="pg_max_new")
seed = e.number_input(t("pg_seed"), 0, 2**31 - 1, 0, key="pg_seed", help=t("pg_seed_help"))
colour = st.toggle(t("pg_colour"), value=True, key="pg_colour")
buttons = st.container(horizontal=True)  # each button as wide as its label, in either language
go = buttons.button(t("pg_generate"), key="pg_generate", type="primary", icon=":material/play_arrow:")
buttons.button(t("pg_stop"), key="pg_stop", icon=":material/stop:")  # any click reruns: that stops a stream


def label(token_id: int) -> str:
    """A token as a reader sees it (byte pieces of an unfinished character by their name)."""
    text = tok.decode([token_id])
    return tok.id_to_piece(token_id) if not text or "\ufffd" in text else text


def alternatives(step: dict) -> str:
    return "\n".join(f"{label(i)!r}: {pct(p, 1)}" for i, p in step["candidates"])


def generate() -> None:
    ids = tok.encode(prompt, bos=True)
    keep = max(1, window - max(1, window // 4))  # llm_core.sample's default crop
    if len(ids) > window:
        st.warning(t("pg_cropped", n=num(len(ids)), window=num(window), keep=num(keep)))
    elif len(ids) + max_new > window:
        st.caption(t("pg_will_slide", window=num(window)))
    cfg = SampleConfig(max_new_tokens=max_new, temperature=temperature, top_k=int(top_k), top_p=top_p,
                       seed=int(seed), top_candidates=5)
    result = {"prompt": prompt, "tokens": [], "text": "", "end": "pg_end_stopped", "clock": Clock()}
    st.session_state["pg_result"] = result  # grows in place: a click on Stop keeps what was made
    out = st.container(key="pg_output").empty()
    held = []  # steps whose text TextStream holds back (bytes of one character)
    redraw = Throttle()
    for piece, step in pieces(model, tok, ids, cfg, [tok.eos_id, tok.bos_id], result["clock"]):
        result["text"] += piece
        if step is not None:
            held.append(step)
        if piece and held:  # the text is final: it belongs to the newest held step
            result["tokens"].append({"text": piece, "prob": held[-1].prob, "candidates": held[-1].candidates})
            held.clear()
        if redraw.due():
            out.text(prompt + result["text"])
    out.text(prompt + result["text"])
    result["end"] = "pg_end_limit" if result["clock"].tokens >= max_new else "pg_end_stop_token"


def show(result: dict) -> None:
    clock = result["clock"]
    if clock.ended is None:  # stopped mid-stream before the generator was closed
        clock.stop()
    st.container(key="pg_output").text(result["prompt"] + result["text"])
    st.caption(t("pg_stats", n=num(clock.tokens), seconds=num(clock.seconds, 2), rate=num(clock.tokens_per_s, 1),
                 first=num(clock.first or 0, 2)) + " " + t(result["end"]))
    if not colour or not result["tokens"]:
        return
    st.subheader(t("pg_tokens_title"))
    st.caption(t("pg_legend"))
    st.html(render.coloured_tokens(result["tokens"], lambda p: f"{t('pg_tooltip_prob')} {pct(p, 1)}", alternatives))
    n = len(result["tokens"])
    if not 1 <= st.session_state.get("pg_inspect", 1) <= n:  # a shorter text than last time
        st.session_state["pg_inspect"] = n
    i = st.number_input(t("pg_inspect"), 1, n, key="pg_inspect")
    step = result["tokens"][i - 1]
    st.caption(t("pg_inspect_caption", i=i, piece=step["text"], prob=pct(step["prob"], 1)))
    st.dataframe([{t("pg_col_token"): repr(label(c)), t("pg_col_prob"): pct(p, 1)} for c, p in step["candidates"]],
                 hide_index=True)


if go:
    if not prompt.strip():
        st.info(t("pg_empty"))
    elif len(prompt) > MAX_PROMPT_CHARS:
        st.error(t("pg_too_long", n=num(len(prompt)), limit=num(MAX_PROMPT_CHARS)))
    else:
        generate()
        st.rerun()  # draw the finished text once more, with its colours and figures
elif "pg_result" in st.session_state:
    show(st.session_state["pg_result"])
