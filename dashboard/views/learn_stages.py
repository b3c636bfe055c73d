"""Aprende 8, pre-training versus fine-tuning: one prompt to the base model (plain text) and to
the chat model (its template) with their next-token distributions and answers; both stages'
loss curves; real fine-tuning examples with the tokens it learns from."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import datastats, learn, loaders, ui
from dashboard.i18n import lang, t
from llm_core import explain
from llm_core.chat import encode_chat
from llm_core.config import SampleConfig
from llm_core.evaluate.accuracy import chat_reply
from llm_core.sample import generate

TOP = 8
EXAMPLES = 3
TASKS = ("repeat", "lang_id", "which_is_longer", "reverse_words", "count_words", "translate", "next_words",
         "arithmetic")

learn.start("stages", needs_model=False)
entries = {e.kind: e for e in reversed(loaders.models()) if e.loadable and e.name in ("base", "chat")}
try:
    base, chat = (loaders.load(entries[k]) for k in ("base", "chat"))
except (KeyError, loaders.ModelLoadError):
    st.info(t("learn_no_model"), icon=":material/model_training:")
    st.caption(t("learn_stages_need_both"))
    learn.finish("stages")
    st.stop()

learn.default_text("learn_st_prompt", "learn_stages_default")
prompt = st.text_input(t("learn_stages_prompt"), key="learn_st_prompt", max_chars=500)


def top_chart(tok, dist: explain.Distribution) -> alt.Chart:
    top = dist.top(TOP)
    labels = [learn.token_label(tok, i) for i, *_ in top]
    rows = [{"token": label if labels.count(label) == 1 else f"{label} #{i}", "p": p}
            for label, (i, p, _, _) in zip(labels, top)]
    return alt.Chart(alt.Data(values=rows)).mark_bar(color="#2563eb").encode(
        y=alt.Y("token:N", sort=[r["token"] for r in rows], title=None, axis=alt.Axis(labelOverlap=False)),
        x=alt.X("p:Q", title=t("learn_stages_prob"), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("token:N", title=t("learn_stages_token")),
                 alt.Tooltip("p:Q", title=t("learn_stages_prob"), format=".2%")]).properties(height=26 * TOP)


if prompt.strip():
    loaders.use_threads()
    left, right = st.columns(2)
    base_ids = base.tokenizer.encode(prompt, bos=True)
    chat_ids = encode_chat(chat.tokenizer, [{"role": "user", "content": prompt}], add_generation_prompt=True).ids
    with left:
        st.markdown(f"**{t('learn_stages_base')}**")
        cont = generate(base.model, base_ids, SampleConfig(max_new_tokens=32, temperature=0.0, top_candidates=0),
                        [base.tokenizer.eos_id]).ids
        st.text(prompt + base.tokenizer.decode(cont))
        st.caption(t("learn_stages_next"))
        st.altair_chart(ui.locale(top_chart(base.tokenizer, explain.next_token(base.model, base_ids, 1.0))),
                        width="stretch")
    with right:
        st.markdown(f"**{t('learn_stages_chat')}**")
        st.text(chat_reply(chat.model, chat.tokenizer, [{"role": "user", "content": prompt}], max_new_tokens=48))
        st.caption(t("learn_stages_next"))
        st.altair_chart(ui.locale(top_chart(chat.tokenizer, explain.next_token(chat.model, chat_ids, 1.0))),
                        width="stretch")
    st.caption(t("learn_stages_same_words"))

st.subheader(t("learn_stages_curves_title"))
st.write(t("learn_stages_curves_intro"))
curves = []
for stage, name in (("pretrain", t("learn_stages_pre")), ("finetune", t("learn_stages_fine"))):
    for row in datastats.numeric_rows(loaders.csv_file(f"plots/{stage}/loss.csv")):
        for col, kind in (("train_loss", t("learn_stages_train")), ("val_loss", t("learn_stages_val"))):
            if row.get(col) is not None:
                curves.append({"stage": name, "step": row["step"], "loss": row[col], "kind": kind})
if curves:
    chart = alt.Chart(alt.Data(values=curves)).mark_line().encode(
        x=alt.X("step:Q", title=t("learn_stages_step")), y=alt.Y("loss:Q", title=t("learn_stages_loss")),
        color=alt.Color("kind:N", title=t("learn_stages_kind")),
        tooltip=["step:Q", alt.Tooltip("loss:Q", format=".3f")]).properties(height=220, width=300).facet(
        column=alt.Column("stage:N", title=None, sort=[t("learn_stages_pre"), t("learn_stages_fine")]))
    st.altair_chart(ui.locale(chart.resolve_scale(x="independent")), width="content")
else:
    ui.missing("plots/pretrain/loss.csv")

st.subheader(t("learn_stages_data_title"))
st.write(t("learn_stages_data_intro"))
present = loaders.task_names(loaders.TASKS_TRAIN, lang())
tasks = [name for name in TASKS if name in present]
if tasks:
    task = st.selectbox(t("learn_stages_data_task"), tasks, key="learn_st_task", format_func=lambda k: t(f"tr_task_{k}"))
    for item in loaders.task_items(loaders.TASKS_TRAIN, task, lang(), EXAMPLES):
        toks, trained = explain.chat_tokens(chat.tokenizer, [{"role": "user", "content": item.prompt},
                                                             {"role": "assistant", "content": item.answer}])
        st.html(learn.chips(toks, trained=trained))
else:
    ui.missing(t("learn_fewshot_no_tasks"))
learn.finish("stages")
