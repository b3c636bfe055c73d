"""Aprende 7, few-shot: a held-out task item asked to the base model with 0 to 5 solved examples
in the prompt (the probability of the right answer and the model's greedy answer for each), the
chat model asked the same 0-shot, and the evaluate stage's figures for the task."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import learn, loaders, ui
from dashboard.i18n import lang, num, pct, t
from llm_core import explain
from llm_core.evaluate.accuracy import base_answer, chat_answer
from llm_core.tasks.prompts import few_shot_prompt, select_shots
from llm_core.tasks.items import CHRF_TASKS
from llm_core.tasks.scoring import score

TASKS = ("lang_id", "repeat", "which_is_longer", "reverse_words", "count_words", "translate", "next_words",
         "arithmetic")
MAX_SHOTS = 5
ITEMS_SHOWN = 20

loaded = learn.start("fewshot")
model, tok = loaded.model, loaded.tokenizer
present = loaders.task_names(loaders.TASKS_HELDOUT, lang())
tasks = [name for name in TASKS if name in present]
if not tasks:
    ui.missing(t("learn_fewshot_no_tasks"))
    learn.finish("fewshot")
    st.stop()
left, right = st.columns(2)
if st.session_state.get("learn_fs_task") not in tasks:
    st.session_state["learn_fs_task"] = tasks[0]
task = left.selectbox(t("learn_fewshot_task"), tasks, key="learn_fs_task", format_func=lambda k: t(f"tr_task_{k}"))
items = loaders.task_items(loaders.TASKS_HELDOUT, task, lang(), ITEMS_SHOWN)
pool = loaders.task_items(loaders.TASKS_TRAIN, task, lang())
ui.bounded("learn_fs_item", 0, 0, len(items) - 1)
pick = right.selectbox(t("learn_fewshot_item"), list(range(len(items))), key="learn_fs_item",
                       format_func=lambda i: items[i].prompt[:80])
item = items[pick]
k = st.slider(t("learn_fewshot_k"), 0, MAX_SHOTS, 3, key="learn_fs_k")


def verdict(s: float) -> str:
    if task in CHRF_TASKS:
        return f"chrF {num(s, 2)}"
    return t("learn_fewshot_yes") if s == 1.0 else t("learn_fewshot_no")


loaders.use_threads()
rows = []
for n in range(MAX_SHOTS + 1):
    shots = select_shots(pool, item, n)
    prompt = few_shot_prompt(shots, item)
    said = base_answer(model, tok, item, shots)
    rows.append({"k": len(shots), "prompt": prompt, "answer": said, "score": score(item, said),
                 "p": explain.answer_probability(model, tok, prompt, item.answer)})
shown = rows[min(k, len(rows) - 1)]
st.caption(t("learn_fewshot_prompt", k=num(shown["k"])))
st.text(shown["prompt"])
st.markdown(t("learn_fewshot_right", answer=item.answer))

st.subheader(t("learn_fewshot_chart_title"))
st.write(t("learn_fewshot_chart_intro"))
values = [{"k": r["k"], "p": r["p"], "chance": learn.chance(r["p"]), "chosen": r["k"] == shown["k"]} for r in rows
          if r["p"] > 0]
# a log axis: a small model's right answers are often one chance in millions, and each step
# of ten still shows
bars = alt.Chart(alt.Data(values=values)).mark_circle(size=160).encode(
    x=alt.X("k:O", title=t("learn_fewshot_examples"), axis=alt.Axis(labelAngle=0)),
    y=alt.Y("p:Q", title=t("learn_fewshot_prob"), scale=alt.Scale(type="log"), axis=alt.Axis(format="~e")),
    color=alt.condition("datum.chosen", alt.value("#dc2626"), alt.value("#2563eb")),
    tooltip=[alt.Tooltip("k:O", title=t("learn_fewshot_examples")),
             alt.Tooltip("chance:N", title=t("learn_fewshot_prob"))]).properties(height=220)
st.altair_chart(ui.locale(bars), width="stretch")
st.dataframe([{t("learn_fewshot_col_k"): r["k"], t("learn_fewshot_col_answer"): r["answer"],
               t("learn_fewshot_col_ok"): verdict(r["score"]), t("learn_fewshot_col_prob"): learn.chance(r["p"])}
              for r in rows], hide_index=True)

st.subheader(t("learn_fewshot_chat_title"))
chat_entry = next((e for e in loaders.models() if e.kind == "chat" and e.loadable), None)
if chat_entry is None:
    st.info(t("learn_fewshot_no_chat"))
else:
    try:
        chat = loaders.load(chat_entry)
    except loaders.ModelLoadError as err:
        st.error(t("model_broken", why=str(err)), icon=":material/error:")
    else:
        reply = chat_answer(chat.model, chat.tokenizer, item)
        st.markdown(t("learn_fewshot_chat", reply=reply or "–", ok=verdict(score(item, reply))))
figures = next((r for r in loaders.csv_file("plots/evaluate/tasks.csv") if r.get("task") == task), None)
if figures:
    st.caption(t("learn_fewshot_eval", **{key: pct(float(figures[col]), 0) for key, col in
                                        (("b0", "base_0shot"), ("b1", "base_1shot"), ("b3", "base_3shot"),
                                         ("c0", "chat_0shot"))}))
learn.finish("fewshot")
