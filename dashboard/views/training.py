"""Entrenamiento / Training: the loss curves of pre-training and fine-tuning (live while a run
trains), DVC experiments side by side, and how well the models compress text next to gzip, bz2, xz."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import datastats, experiments, loaders, outputs, ui
from dashboard.i18n import TABLE, num, pct, t

root = loaders.root()
TRAIN, VAL = "#1f77b4", "#ff7f0e"



# --------------------------------------------------------------------------- loss curves


def curve(stage: str) -> tuple[list[dict], outputs.Run | None]:
    """The newest run's own log (it grows while training), else the published plots/<stage>/loss.csv."""
    folders = outputs.runs(root, stage)
    if folders:
        run = loaders.run(stage, folders[0])
        rows = datastats.numeric_rows(run.rows)
        if rows:
            return rows, dataclasses.replace(run, rows=rows)
    return datastats.numeric_rows(loaders.csv_file(f"plots/{stage}/loss.csv")), None


def x_title(x: str, unit: str) -> str:
    return t("tr_x_step") if x == "step" else t("tr_x_tokens" + {"M": "_m", "k": "_k"}.get(unit, ""))


def loss_chart(rows: list[dict], log: bool) -> alt.LayerChart | None:
    x = datastats.x_axis(rows)
    div, unit = datastats.scale(max(r[x] for r in rows)) if x == "tokens" else (1.0, "")
    names = {"train_loss": t("tr_train"), "val_loss": t("tr_val")}
    points = datastats.loss_points(rows, x, names)
    if not points:
        return None
    data = pd.DataFrame(points).assign(x=lambda d: d["x"] / div)
    color = alt.Color("series:N", title=None, legend=alt.Legend(orient="top"),
                      scale=alt.Scale(domain=list(names.values()), range=[TRAIN, VAL]))
    base = alt.Chart(data).encode(
        x=alt.X("x:Q", title=x_title(x, unit)),
        y=alt.Y("value:Q", title=t("tr_y_loss"), scale=alt.Scale(type="log" if log else "linear", zero=False)),
        color=color, tooltip=[alt.Tooltip("series:N", title=t("tr_tip_curve")),
                              alt.Tooltip("x:Q", title=x_title(x, unit), format=",.3~f"),
                              alt.Tooltip("value:Q", title=t("tr_y_loss"), format=".3f")])
    val = base.transform_filter(alt.datum.series == names["val_loss"])
    return (base.mark_line() + val.mark_line(strokeDash=[4, 3]) + val.mark_point(filled=True, size=50)).properties(
        height=320)


def lr_chart(rows: list[dict]) -> alt.Chart:
    x = datastats.x_axis(rows)
    div, unit = datastats.scale(max(r[x] for r in rows)) if x == "tokens" else (1.0, "")
    data = pd.DataFrame([{"x": r[x] / div, "lr": r["lr"]} for r in rows if "lr" in r])
    return alt.Chart(data).mark_line(color="#7f7f7f").encode(
        x=alt.X("x:Q", title=x_title(x, unit)), y=alt.Y("lr:Q", title=t("tr_y_lr"), axis=alt.Axis(format="~g")),
        tooltip=[alt.Tooltip("lr:Q", title=t("tr_y_lr"), format=".2e")]).properties(height=200)


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90:
        return t("tr_seconds", n=num(seconds))
    if seconds < 5400:
        return t("tr_minutes", n=num(seconds / 60))
    return t("tr_hours", n=num(seconds / 3600, 1))


def status(stage: str, rows: list[dict], run: outputs.Run | None, live: bool, steps: int | None) -> None:
    """Step x of max_steps, tokens read, speed and time left (or how the run ended)."""
    last, final = rows[-1], loaders.metrics(stage) or {}
    a, b, c, d = st.columns(4)
    a.metric(t("tr_step"), t("tr_step_of", step=num(last.get("step")), total=num(steps)) if steps else num(last.get("step")))
    b.metric(t("tr_tokens_seen"), num(last.get("tokens", final.get("tokens_seen"))))
    speed = last.get("tokens_per_s", final.get("tokens_per_s"))
    c.metric(t("tr_speed"), num(speed) if speed is not None else "–",
             help=t("tr_speed_help"))
    if live:
        d.metric(t("tr_eta"), duration(outputs.eta_seconds(run, steps)), help=t("tr_eta_help"))
        st.caption(t("tr_live"))
    elif run is not None and steps and last.get("step", 0) < steps:
        d.metric(t("tr_eta"), t("tr_stopped"))
        st.caption(t("tr_stopped_help"))
    else:
        d.metric(t("tr_eta"), t("tr_finished"))


def curves(stage: str, log: bool, was_live: bool) -> None:
    """Re-read at every fragment rerun while live: the log's mtime is the cache key, so an
    unchanged file costs one stat."""
    rows, run = curve(stage)
    steps = loaders.max_steps(stage)
    live = run is not None and run.live(steps)
    if was_live and not live:
        st.rerun()  # the run ended: redraw the page once without the 2-second timer
    if not rows:
        ui.unreadable_or_missing(f"plots/{stage}/loss.csv", t(f"tr_what_{stage}"))
        return
    status(stage, rows, run, live, steps)
    chart = loss_chart(rows, log)
    if chart is not None:
        st.altair_chart(ui.locale(chart), width="stretch")
    if any("lr" in r for r in rows):
        st.altair_chart(ui.locale(lr_chart(rows)), width="stretch")
        st.caption(t("tr_lr_help"))
    st.caption(t("tr_source_log", run=run.name) if run else t("tr_source_csv", path=f"plots/{stage}/loss.csv"))


def stage_section(stage: str) -> None:
    st.write(t(f"tr_{stage}_intro"))
    log = st.toggle(t("tr_log"), key=f"tr_log_{stage}", help=t("tr_log_help"))
    rows, run = curve(stage)
    live = run is not None and run.live(loaders.max_steps(stage))
    (st.fragment(run_every=2)(curves) if live else curves)(stage, log, live)


st.title(t("tr_title"))
st.write(t("tr_intro"))
for tab, stage in zip(st.tabs([t("tr_tab_pretrain"), t("tr_tab_finetune")]), outputs.TRAINING):
    with tab:
        stage_section(stage)


# --------------------------------------------------------------------------- DVC experiments


@st.cache_data(show_spinner=False, max_entries=64)
def exp_curve(path: str, rev: str, key: float) -> list[dict]:
    return datastats.numeric_rows(experiments.curve(Path(path), rev))


def exp_name(e: experiments.Experiment) -> str:
    if e.kind == "workspace":
        return t("tr_exp_workspace")
    return t("tr_exp_baseline", name=e.name) if e.kind == "baseline" else e.name


def exp_table(exps: list[experiments.Experiment], params: list[str]) -> list[dict]:
    rows = []
    for e in exps:
        row = {t("tr_exp_col_name"): exp_name(e), t("tr_exp_col_rev"): e.rev[:7] if e.kind != "workspace" else "–",
               t("tr_exp_col_created"): e.created or "–", t("tr_exp_col_state"): t(f"tr_exp_state_{e.state}")
               if f"tr_exp_state_{e.state}" in TABLE else e.state,
               t("tr_exp_col_val_loss"): num(e.metric("metrics/pretrain.json", "val_loss"), 3),
               t("tr_exp_col_bpb"): num(e.metric("metrics/evaluate.json", "base_bits_per_byte"), 3),
               t("tr_exp_col_chat"): pct(e.metric("metrics/evaluate.json", "chat_0shot_macro"), 1)}
        row.update({f"⚙ {p}": "–" if e.params.get(p) is None else str(e.params[p]) for p in params})
        rows.append(row)
    return rows


def overlay_chart(picked: list[experiments.Experiment]) -> alt.LayerChart | None:
    curves = {exp_name(e): exp_curve(str(root), e.rev, outputs.mtime(root / experiments.CURVE)
                                     if e.rev == "workspace" else 0.0) for e in picked}
    # one x for all: tokens only when every curve has them (older CSVs have steps only)
    x = "tokens" if all(datastats.x_axis(rows) == "tokens" for rows in curves.values()) else "step"
    names = {"train_loss": t("tr_train"), "val_loss": t("tr_val")}
    points = [p | {"run": run} for run, rows in curves.items() for p in datastats.loss_points(rows, x, names)]
    if not points:
        return None
    div, unit = datastats.scale(max(p["x"] for p in points)) if x == "tokens" else (1.0, "")
    data = pd.DataFrame(points).assign(x=lambda d: d["x"] / div)
    base = alt.Chart(data).encode(
        x=alt.X("x:Q", title=x_title(x, unit)), y=alt.Y("value:Q", title=t("tr_y_loss"), scale=alt.Scale(zero=False)),
        color=alt.Color("run:N", title=t("tr_exp_col_name"), legend=alt.Legend(orient="top"),
                        scale=alt.Scale(scheme="category10")),
        tooltip=[alt.Tooltip("run:N", title=t("tr_exp_col_name")), alt.Tooltip("series:N", title=t("tr_tip_curve")),
                 alt.Tooltip("value:Q", title=t("tr_y_loss"), format=".3f")])
    lines = base.mark_line().encode(strokeDash=alt.StrokeDash("series:N", title=None, sort=list(names.values())))
    val = base.transform_filter(alt.datum.series == names["val_loss"]).mark_point(filled=True, size=50)
    return (lines + val).properties(height=320)


st.subheader(t("tr_exp_title"))
st.write(t("tr_exp_intro"))
with st.spinner(t("tr_exp_asking")):
    shown = loaders.experiments_shown()
if shown.problem:
    st.info(t(f"tr_exp_{shown.problem}", detail=shown.detail or "–"), icon=":material/science:")
else:
    exps = experiments.parse(shown.data)
    table = exp_table(exps, experiments.differing_params(exps))
    picked = st.dataframe(table, key="tr_exps", on_select="rerun", selection_mode="multi-row", hide_index=True)
    if not any(e.kind == "experiment" for e in exps):
        st.caption(t("tr_exp_none"))
        st.code("dvc exp run -S pretrain.train.lr=0.001", language="bash")
    chosen = [exps[i] for i in picked.selection.rows if i < len(exps)]
    trained = [e for e in chosen if e.state == "done"]  # a queued or running one has no curve of its own yet
    chart = overlay_chart(trained) if trained else None
    if chart is not None:
        st.altair_chart(ui.locale(chart), width="stretch")
        st.caption(t("tr_exp_overlay"))
    if not chosen:
        st.caption(t("tr_exp_pick"))
    elif chart is None or len(trained) < len(chosen):
        st.caption(t("tr_exp_no_curve"))


# --------------------------------------------------------------------------- bits per byte and tasks


def bpb_chart(rows: list[dict]) -> alt.LayerChart:
    label = {"base": t("tr_bpb_base"), "chat": t("tr_bpb_chat")}
    data = pd.DataFrame([r | {"label": label.get(r["name"], r["name"]), "kind": t(f"tr_bpb_{r['kind']}")}
                         for r in rows])
    bars = alt.Chart(data).encode(
        x=alt.X("bits_per_byte:Q", title=t("tr_bpb_axis"), scale=alt.Scale(zero=True)),
        y=alt.Y("label:N", title=None, sort=None, axis=alt.Axis(labelLimit=240, labelOverlap=False)),
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=[t("tr_bpb_model"), t("tr_bpb_compressor")], range=["#2ca02c", "#bdbdbd"])),
        tooltip=[alt.Tooltip("label:N", title=" "), alt.Tooltip("bits_per_byte:Q", title=t("tr_bpb_axis"), format=".2f")])
    text = bars.mark_text(align="left", dx=4).encode(text=alt.Text("bits_per_byte:Q", format=".2f"), color=alt.value("#333"))
    return (bars.mark_bar() + text).properties(height=alt.Step(32))


def task_chart(rows: list[dict]) -> alt.Chart:
    name = lambda task: t(f"tr_task_{task}") if f"tr_task_{task}" in TABLE else task  # noqa: E731
    model = {"base_0shot": t("tr_bpb_base"), "chat_0shot": t("tr_bpb_chat")}
    data = pd.DataFrame([r | {"task_name": name(r["task"]), "model_name": model[r["model"]]} for r in rows])
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("task_name:N", title=None, sort=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        yOffset=alt.YOffset("model_name:N", sort=list(model.values())),
        x=alt.X("accuracy:Q", title=t("tr_task_axis"), axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("model_name:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(model.values()), range=["#bdbdbd", "#2ca02c"])),
        tooltip=[alt.Tooltip("task_name:N", title=" "), "model_name:N",
                 alt.Tooltip("accuracy:Q", title=t("tr_task_axis"), format=".0%")]).properties(height=alt.Step(13))


st.subheader(t("tr_bpb_title"))
bpb = datastats.bits_per_byte(loaders.metrics("evaluate"))
if bpb:
    st.write(t("tr_bpb_explain"))
    st.altair_chart(ui.locale(bpb_chart(bpb)), width="stretch")
    base, chat = (next((r["bits_per_byte"] for r in bpb if r["name"] == n), None) for n in ("base", "chat"))
    if base is not None and chat is not None and chat > base:
        st.caption(t("tr_bpb_chat_worse"))
else:
    ui.unreadable_or_missing("metrics/evaluate.json", t("tr_what_evaluate"))

tasks = datastats.task_accuracy(loaders.csv_file("plots/evaluate/tasks.csv"))
if tasks:
    st.subheader(t("tr_task_title"))
    st.write(t("tr_task_explain"))
    st.altair_chart(ui.locale(task_chart(tasks)), width="stretch")


def talk_section(scores: dict[str, dict]) -> None:
    """The chat model on held-out small talk (the evaluate stage's plots/evaluate/replies.csv)."""
    st.subheader(t("tr_talk_title"))
    st.write(t("tr_talk_explain", n=num(scores["all"]["prompts"])))
    known = scores["all"].get("known_words")
    cols = st.columns(4 if known is not None else 3)
    cols[0].metric(t("tr_talk_language"), pct(scores["all"]["language"]))
    cols[1].metric(t("tr_talk_sentence"), pct(scores["all"]["sentence"]))
    cols[2].metric(t("tr_talk_chrf"), num(scores["all"]["chrf"], 2))
    if known is not None:
        cols[3].metric(t("tr_talk_known"), pct(known))
    name = lambda code: t(f"tr_talk_lang_{code}") if f"tr_talk_lang_{code}" in TABLE else code  # noqa: E731
    st.dataframe([{t("tr_talk_col_lang"): name(code), t("tr_talk_col_prompts"): num(row["prompts"]),
                   t("tr_talk_language"): pct(row["language"]), t("tr_talk_sentence"): pct(row["sentence"]),
                   t("tr_talk_chrf"): num(row["chrf"], 2)} for code, row in scores.items() if code != "all"],
                 hide_index=True)


def turns_section(turns: dict[str, dict]) -> None:
    """Accuracy by turn in held-out dialogues (the evaluate stage's plots/evaluate/turns.csv)."""
    st.subheader(t("tr_turns_title"))
    follow = turns.get("follow_up")
    st.write(t("tr_turns_explain", n=num(turns["turn_1"]["items"])))  # every dialogue has a first turn
    shown = [(t("tr_turn_n", k=key.split("_")[1]), row, turns.get(f"{key}_alone"))
             for key, row in sorted(turns.items()) if key.startswith("turn_") and not key.endswith("_alone")]
    if follow:
        shown.append((t("tr_turn_follow_up"), follow, None))
    for col, (label, row, alone) in zip(st.columns(len(shown)), shown):
        delta = None if alone is None else t(
            "tr_turn_vs_alone", d=f"{100 * (row['accuracy'] - alone['accuracy']):+.0f}", a=pct(alone["accuracy"]))
        col.metric(label, pct(row["accuracy"]), delta=delta)


talk = datastats.reply_scores(loaders.csv_file("plots/evaluate/replies.csv"))
if "all" in talk and talk["all"]["prompts"]:
    talk_section(talk)
turns = datastats.turn_scores(loaders.csv_file("plots/evaluate/turns.csv"))
if "turn_1" in turns and turns["turn_1"]["items"]:
    turns_section(turns)
