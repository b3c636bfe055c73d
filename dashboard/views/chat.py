"""Chat: the fine-tuned model through the chat template, streamed, with stop, regenerate,
clear, and a meter of the context window that shows what was dropped when it overflows."""
from __future__ import annotations

import streamlit as st

from dashboard import ui
from dashboard.generation import Clock, Throttle, pieces
from dashboard.i18n import num, t
from dashboard.loaders import MAX_NEW_TOKENS, MAX_PROMPT_CHARS
from llm_core.config import SampleConfig
from llm_core.conversation import ConversationError, fit_history

st.title(t("chat_title"))
st.caption(t("chat_intro"))
loaded = ui.model_picker("chat_model", prefer="chat")
if loaded is None:
    st.stop()
model, tok, window = loaded.model, loaded.tokenizer, loaded.window
if loaded.entry.kind != "chat":
    st.warning(t("chat_base_warning"))

with st.expander(t("chat_settings")):
    a, b, c = st.columns(3)
    most = max(1, min(MAX_NEW_TOKENS, window // 2))
    ui.bounded("chat_max_new", min(64, most), 1, most)
    max_new = a.slider(t("chat_max_new"), 1, most, key="chat_max_new")
    temperature = b.slider(t("pg_temperature"), 0.0, 2.0, 0.3, 0.05, key="chat_temperature", help=t("pg_temperature_help"))
    seed = c.number_input(t("pg_seed"), 0, 2**31 - 1, 0, key="chat_seed", help=t("pg_seed_help"))

history: list[dict] = st.session_state.setdefault("chat_history", [])
pending = st.session_state.pop("chat_pending", None)
if pending is not None:  # a reply that Stop interrupted: keep what was written
    pending["stopped"] = True
    history.append(pending)


def messages() -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in history]


def meter(extra: list[dict] = ()) -> None:
    """How much of the window the conversation (plus `extra`) takes, and what no longer fits."""
    box = st.container(key="chat_meter")
    convo = messages() + list(extra)
    if not convo:
        box.progress(0.0, text=t("chat_meter", used=num(1), window=num(window), reserve=num(max_new)))
        return
    fit = fit_history(tok, convo, window, max_new)
    box.progress(min(1.0, fit.used / window), text=t("chat_meter", used=num(fit.used), window=num(window),
                                                       reserve=num(max_new)), )
    box.caption(t("chat_meter_help", window=num(window)))
    if fit.dropped:
        with box.expander(t("chat_dropped", n=len(fit.dropped)), expanded=False):
            for m in fit.dropped:
                st.text(f"{t('chat_role_' + m['role'])}: {m['content']}")
        if fit.cut is not None and fit.cut == len(convo) - 1:
            box.warning(t("chat_cut"))
    elif fit.near_full():
        box.warning(t("chat_near_full"), icon=":material/warning:")


def show(m: dict) -> None:
    with st.chat_message(m["role"]):
        st.text(m["content"] or t("chat_no_reply"))  # st.text: never markdown, HTML or LaTeX
        if m["role"] == "assistant" and "tokens" in m:
            note = t("chat_reply_stats", n=num(m["tokens"]), rate=num(m["rate"], 1))
            st.caption(note + (f" · {t('chat_stopped')}" if m.get("stopped") else ""))


def reply(round_: int) -> None:
    """Stream one assistant reply to the conversation so far; kept in session_state as it grows."""
    fit = fit_history(tok, messages(), window, max_new)
    cfg = SampleConfig(max_new_tokens=max_new, temperature=temperature, top_k=40, seed=int(seed) + round_)
    clock = Clock()
    answer = {"role": "assistant", "content": "", "tokens": 0, "rate": 0.0}
    st.session_state["chat_pending"] = answer
    with st.chat_message("assistant"):
        out, redraw = st.empty(), Throttle()
        for piece, _ in pieces(model, tok, fit.ids, cfg, [tok.end_of_turn_id, tok.eos_id], clock, reply=True):
            answer["content"] += piece
            answer["tokens"], answer["rate"] = clock.tokens, clock.tokens_per_s
            if redraw.due():
                out.text(answer["content"])
        out.text(answer["content"])
    answer["rate"] = clock.tokens_per_s
    del st.session_state["chat_pending"]
    history.append(answer)


buttons = st.container(horizontal=True)  # each button as wide as its label, in either language
regenerate = buttons.button(t("chat_regenerate"), key="chat_regenerate", icon=":material/refresh:",
                            disabled=not (history and history[-1]["role"] == "assistant"))
if buttons.button(t("chat_clear"), key="chat_clear", icon=":material/delete:", disabled=not history):
    history.clear()
    st.session_state["chat_rounds"] = 0

text = st.chat_input(t("chat_placeholder"), key="chat_input", submit_mode="stop")
problem = None
if text is not None:
    if not text.strip():
        problem = t("chat_empty")
    elif len(text) > MAX_PROMPT_CHARS:
        problem = t("chat_too_long", n=num(len(text)), limit=num(MAX_PROMPT_CHARS))
    else:
        history.append({"role": "user", "content": text})
if regenerate:
    history.pop()

try:
    meter()
except ConversationError as err:  # a reply length the window cannot hold
    st.error(str(err))
    st.stop()
log = st.container(key="chat_log")
with log:
    for m in history:
        show(m)
    if problem:
        st.warning(problem)
    if (text is not None and problem is None) or regenerate:
        rounds = st.session_state["chat_rounds"] = st.session_state.get("chat_rounds", 0) + 1
        reply(rounds)
        st.rerun()  # redraw: the meter and the stats now include this reply
