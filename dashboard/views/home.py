"""Inicio / Home: the pipeline's stages, their state, times and headline figures, and what to run next."""
from __future__ import annotations

import time

import streamlit as st

from dashboard import loaders, outputs
from dashboard.i18n import TABLE, num, pct, t

root = loaders.root()
st.title(t("home_title"))
st.write(t("home_intro"))

ev, tk, cl = loaders.metrics("evaluate"), loaders.metrics("tokenize"), loaders.metrics("clean")
if ev or tk or cl:
    st.subheader(t("home_headlines"))
    a, b, c, d = st.columns(4)
    if ev:
        a.metric(t("metric_bpb"), num(ev.get("base_bits_per_byte"), 2),
                 help=t("metric_bpb_help", xz=num(ev.get("xz_bits_per_byte"), 2)))
        b.metric(t("metric_chat"), pct(ev.get("chat_0shot_macro"), 1),
                 help=t("metric_chat_help", base=pct(ev.get("base_0shot_macro"), 1)))
    if tk:
        c.metric(t("metric_tokens"), num(tk.get("train_tokens")))
    if cl:
        d.metric(t("metric_docs"), num(cl.get("documents_out")))


def took(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return t("seconds_short", value=num(seconds, 1)) if seconds < 120 else t("minutes_short", value=num(seconds / 60, 1))


def figure(name: str) -> str:
    pick = outputs.headline(name, loaders.metrics(name))
    if not pick or pick[1] is None:
        return "–"
    key, value = pick
    decimals = 0 if float(value).is_integer() and value > 100 else 2
    return t(key, value=num(value, decimals))


st.subheader(t("home_stages"))
BADGES = {"done": ":green-badge[:material/check: {}]", "outdated": ":orange-badge[:material/update: {}]",
          "never": ":gray-badge[:material/radio_button_unchecked: {}]", "unknown": ":blue-badge[:material/help: {}]",
          "checking": ":gray-badge[:material/hourglass_empty: {}]"}


def stage_table(states: list[outputs.StageState], checking: bool = False) -> str:
    header = [t("col_stage"), t("col_what"), t("col_state"), t("col_ran"), t("col_took"), t("col_figure")]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for s in states:
        ran = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.ran_at)) if s.ran_at else "–"
        what = t(f"stage_{s.name}") if f"stage_{s.name}" in TABLE else s.name
        state = "checking" if checking and s.state == "unknown" else s.state
        cells = [f"`{s.name}`", what, BADGES[state].format(t(f"state_{state}")), ran, took(s.seconds), figure(s.name)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


table = st.empty()  # drawn at once from the files, then again with DVC's answer (a few seconds)
table.markdown(stage_table(outputs.stage_states(root, None), checking=True))
dvc = loaders.dvc_status()
status = dvc.changes
states = outputs.stage_states(root, status)
table.markdown(stage_table(states))

todo = [s for s in states if s.state in ("never", "outdated")]
training_now = [stage for stage in outputs.TRAINING if (folder := next(iter(outputs.runs(root, stage)), None))
                and loaders.run(stage, folder).live(loaders.max_steps(stage))]
if dvc.busy:
    st.info(t("run_in_progress", stages=", ".join(training_now) or "…"), icon=":material/directions_run:")
elif status is None and any(s.state == "unknown" for s in states):
    st.warning(t("next_unknown", why=dvc.error), icon=":material/help:")
if todo and not dvc.busy:
    st.write(t("next_run", names=", ".join(s.name for s in todo)))
    st.code("make run", language="bash")
    st.caption(t("next_run_note"))
    for s in todo:
        if s.why and s.state == "outdated":
            st.caption(f"`{s.name}` · " + t("why_outdated", why=f"`{s.why[:300]}`"))
elif status is not None:
    st.success(t("next_all_done"), icon=":material/check_circle:")

ui_url = outputs.prefect_ui(loaders.root())
if ui_url:
    st.link_button(t("prefect_link"), ui_url, icon=":material/open_in_new:")
