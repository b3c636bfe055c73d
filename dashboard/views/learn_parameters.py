"""Aprende 3, Parameters: how many the model has and in which parts, one real value, a log-scale
comparison with GPT-2 and GPT-3, and bits per byte against size from the project's experiments."""
from __future__ import annotations

import altair as alt
import streamlit as st

from dashboard import experiments, learn, loaders, ui
from dashboard.i18n import num, t
from llm_core import explain

# Published sizes, with their sources named on the page: GPT-2's smallest model (Radford et
# al., 2019, "Language Models are Unsupervised Multitask Learners") and GPT-3 (Brown et al.,
# 2020, "Language Models are Few-Shot Learners").
FAMOUS = (("GPT-2", 124_000_000), ("GPT-3", 175_000_000_000))
SIZE = ("metrics/pretrain.json", "parameters")
SECONDS = ("metrics/pretrain.json", "train_seconds")
BPB = ("metrics/evaluate.json", "base_bits_per_byte")
SWEEP = "plots/sweep/sizes.csv"  # written by `make sweep` (flows/sweep.py)


def sizes_chart(points: list[dict], swept: bool) -> None:
    """Bits per byte (and, for a sweep, chat accuracy) against parameters and training minutes,
    one line per budget of the sweep."""
    base = alt.Chart(alt.Data(values=points)).mark_line(point=alt.OverlayMarkDef(size=90)).encode(
        color=alt.Color("budget:N", title=t("learn_parameters_budget"), legend=alt.Legend(orient="bottom")),
        order="n:Q",
        tooltip=[alt.Tooltip("run:N", title=t("learn_parameters_run")),
                 alt.Tooltip("n:Q", title=t("learn_parameters_count"), format=","),
                 alt.Tooltip("min:Q", title=t("learn_parameters_minutes"), format=".1f"),
                 alt.Tooltip("bpb:Q", title=t("learn_parameters_bpb"), format=".3f")])
    by_size = alt.X("n:Q", title=t("learn_parameters_count"), scale=alt.Scale(type="log"), axis=alt.Axis(format="~s"))
    ys = [("bpb", t("learn_parameters_bpb"))] + ([("acc", t("learn_parameters_acc"))] if swept else [])
    for field, title in ys:
        y = alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False))
        left, right = st.columns(2)
        left.altair_chart(ui.locale(base.encode(x=by_size, y=y)), width="stretch")
        right.altair_chart(ui.locale(base.encode(x=alt.X("min:Q", title=t("learn_parameters_minutes")), y=y)),
                           width="stretch")
    if swept:
        st.caption(t("learn_parameters_sweep_caption"))


loaded = learn.start("parameters")
model, tok = loaded.model, loaded.tokenizer
total = model.num_params()
groups = explain.parameter_groups(model)

a, b, c = st.columns(3)
a.metric(t("learn_parameters_total"), num(total))
b.metric(t("learn_parameters_memory"), f"{num(total * 4 / 1e6, 1)} MB")
c.metric(t("learn_parameters_tensors"), num(sum(1 for _ in model.parameters())))

st.subheader(t("learn_parameters_where_title"))
st.markdown(t("learn_parameters_where_intro"))
rows = [{"part": t(f"learn_parameters_group_{g}"), "n": n, "share": n / total} for g, n in groups.items() if n]
bars = alt.Chart(alt.Data(values=rows)).mark_bar(color="#2563eb").encode(
    y=alt.Y("part:N", title=None, sort="-x", axis=alt.Axis(labelLimit=200)),
    x=alt.X("n:Q", title=t("learn_parameters_count")),
    tooltip=[alt.Tooltip("part:N", title=t("learn_parameters_part")),
             alt.Tooltip("n:Q", title=t("learn_parameters_count"), format=","),
             alt.Tooltip("share:Q", title=t("learn_parameters_share"), format=".1%")])
text = bars.mark_text(align="left", dx=4).encode(text=alt.Text("share:Q", format=".1%"))
st.altair_chart(ui.locale((bars + text).properties(height=46 * len(rows), padding={"left": 12})),
                width="stretch")
notes = [t("learn_parameters_layers", layers=num(model.cfg.n_layers))]
if not groups["head"]:
    notes.append(t("learn_parameters_tied"))
st.caption(" ".join(notes))

st.subheader(t("learn_parameters_one_title"))
word = tok.encode(" " + t("learn_embeddings_word_default"))[:1] or [tok.bos_id]
value = float(model.model.embed_tokens.weight[word[0], 0])
st.markdown(t(f"learn_parameters_one_{loaded.entry.kind}", piece=tok.id_to_piece(word[0]), value=num(value, 4),
              steps=num(loaded.entry.step or 0)))

st.subheader(t("learn_parameters_scale_title"))
st.write(t("learn_parameters_scale_intro"))
yours = t("learn_parameters_yours")
floor = 10 ** (len(str(total)) - 2)  # a log axis has no zero: bars start two powers of ten below yours
sizes = [{"model": yours, "n": total, "floor": floor}] + [{"model": name, "n": n, "floor": floor} for name, n in FAMOUS]
scale = alt.Chart(alt.Data(values=sizes)).mark_bar().encode(
    y=alt.Y("model:N", title=None, sort=None, axis=alt.Axis(labelLimit=200)),
    x=alt.X("floor:Q", title=t("learn_parameters_count"), axis=alt.Axis(format="~s"),
            scale=alt.Scale(type="log", domain=[floor, FAMOUS[-1][1] * 2])),
    x2="n:Q",
    color=alt.condition(f"datum.model == '{yours}'", alt.value("#dc2626"), alt.value("#94a3b8")),
    tooltip=[alt.Tooltip("model:N", title=t("learn_parameters_model")),
             alt.Tooltip("n:Q", title=t("learn_parameters_count"), format=",")]).properties(height=150)
st.altair_chart(ui.locale(scale), width="stretch")
st.write(t("learn_parameters_times", gpt2=num(FAMOUS[0][1] / total, 0), gpt3=num(FAMOUS[1][1] / total, 0)))
st.caption(t("learn_parameters_sources"))

st.subheader(t("learn_parameters_more_title"))
st.write(t("learn_parameters_more_intro"))
# `make sweep`'s table when there is one (each size under each budget, with chat accuracy); else
# every finished DVC experiment that recorded its size and bits per byte.
swept = [r for r in loaders.csv_file(SWEEP) if r.get("experiment") and isinstance(r.get("parameters"), float)]
if len({r["parameters"] for r in swept}) >= 2:
    points = [{"run": r["experiment"], "n": r["parameters"], "bpb": r.get("bits_per_byte"), "acc": r.get("chat_macro"),
               "min": r.get("pretrain_seconds", 0) / 60, "budget": t(f"learn_parameters_budget_{r['budget']}")}
              for r in swept]
else:
    shown = loaders.experiments_shown()
    runs = [e for e in experiments.parse(shown.data) if e.state == "done"] if shown.data else []
    points = [{"run": e.name, "n": e.metric(*SIZE), "bpb": e.metric(*BPB), "min": (e.metric(*SECONDS) or 0) / 60,
               "budget": t("learn_parameters_budget_run")}
              for e in runs if isinstance(e.metric(*SIZE), int | float) and isinstance(e.metric(*BPB), int | float)]
if len({p["n"] for p in points}) >= 2:
    sizes_chart(points, swept=bool(swept))
else:
    st.info(t("learn_parameters_none", found=num(len(points))), icon=":material/science:")
    st.code("make sweep", language="bash")
learn.finish("parameters")
