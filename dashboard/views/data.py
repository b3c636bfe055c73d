"""Datos / Data: what the model read (per source and language), how cleaning filtered it, the
e-mails and phone numbers it scrubbed, and how the text was cut into tokens."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import datastats, loaders, ui
from dashboard.i18n import TABLE, num, pct, t

root = loaders.root()
COLLECT, CLEAN = "data/collect/summary.json", "data/clean/summary.json"
LANG_COLORS = {"es": "#d62728", "en": "#1f77b4"}



def lang_name(code: str | None) -> str:
    return t(f"da_lang_{code}") if code and f"da_lang_{code}" in TABLE else (code or "?")


def mb(n: float | None) -> str:
    return "–" if n is None else t("da_mb", n=num(n / 1e6, 2))


# --------------------------------------------------------------------------- what the model read


def bias_sentence(langs: list[dict], sources: list[dict]) -> str:
    shares = [t("da_lang_share", share=pct(r["share"]), lang=lang_name(r["lang"])) for r in langs if r["share"]]
    parts = t("da_and").join([", ".join(shares[:-1]), shares[-1]] if len(shares) > 1 else shares)
    top = max((s for s in sources if s["share"]), key=lambda s: s["share"], default=None)
    text = t("da_bias", parts=parts) if parts else ""
    return text + (" " + t("da_bias_top", source=top["source"], share=pct(top["share"])) if top else "")


def read_chars(source: dict) -> float | None:
    """The characters the model reads from a source: what cleaning kept, or all before cleaning ran."""
    return source["chars"] if source["chars_kept"] is None else source["chars_kept"]


def sources_chart(sources: list[dict]) -> alt.Chart:
    data = pd.DataFrame([{"source": s["source"], "chars": read_chars(s) / 1e6, "lang": lang_name(s["lang"])}
                         for s in sources if read_chars(s) is not None])
    names = [lang_name(c) for c in LANG_COLORS]
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("chars:Q", title=t("da_chars_millions")),
        y=alt.Y("source:N", title=None, sort="-x", axis=alt.Axis(labelLimit=240, labelOverlap=False)),
        color=alt.Color("lang:N", title=t("da_col_lang"), legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=names, range=list(LANG_COLORS.values()))),
        tooltip=[alt.Tooltip("source:N", title=t("da_col_source")),
                 alt.Tooltip("chars:Q", title=t("da_chars_millions"), format=".2f")]).properties(
        height=alt.Step(28))


def read_section(collect: dict | None, clean: dict | None) -> None:
    langs, sources = datastats.languages(collect, clean), datastats.sources(collect, clean)
    st.write(bias_sentence(langs, sources))
    st.dataframe([{t("da_col_lang"): lang_name(r["lang"]), t("da_col_docs"): num(r["documents"]),
                   t("da_col_docs_kept"): num(r["documents_kept"]), t("da_col_chars_kept"): num(r["chars_kept"]),
                   t("da_col_size_kept"): mb(r["bytes_kept"]), t("da_col_share"): pct(r["share"], 1)}
                  for r in langs], hide_index=True, width="stretch")
    if any(read_chars(s) is not None for s in sources):
        st.altair_chart(ui.locale(sources_chart(sources)), width="stretch")
    st.dataframe([{t("da_col_source"): s["source"], t("da_col_lang"): lang_name(s["lang"]),
                   t("da_col_docs"): num(s["documents"]), t("da_col_docs_kept"): num(s["documents_kept"]),
                   t("da_col_chars_kept"): num(s["chars_kept"]), t("da_col_size"): mb(s["bytes"]),
                   t("da_col_share"): pct(s["share"], 1)} for s in sources], hide_index=True, width="stretch")
    skipped = datastats.skipped(collect)
    if skipped:
        with st.expander(t("da_skipped_title", n=num(len(skipped)))):
            st.caption(t("da_skipped_help"))
            st.dataframe([{t("da_col_source"): r["source"], t("da_col_why"): r["reason"],
                           t("da_col_units"): num(r["units"]), t("da_col_chars"): num(r["chars"])} for r in skipped],
                         hide_index=True, width="stretch")


# --------------------------------------------------------------------------- the cleaning funnel


def reason_text(reason: str) -> str:
    """A filter's reason code in words ('language:it' -> 'in another language (it)')."""
    head, tail = datastats.reason_parts(reason)
    for key in (f"da_reason_{head}_{tail}", f"da_reason_{head}"):
        if key in TABLE:
            return t(key, detail=tail)
    return reason


def funnel_chart(steps: list[datastats.Step]) -> alt.Chart:
    data = pd.DataFrame([{"filter": t(f"da_f_{s.name}") if f"da_f_{s.name}" in TABLE else s.name,
                          "what": t(what), "n": n}
                         for s in steps for what, n in (("da_dropped", s.dropped), ("da_changed", s.changed))
                         if n is not None])
    return alt.Chart(data).mark_bar().encode(
        y=alt.Y("filter:N", title=None, sort=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
        yOffset=alt.YOffset("what:N", sort=[t("da_dropped"), t("da_changed")]),
        x=alt.X("n:Q", title=t("da_col_docs")),
        color=alt.Color("what:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=[t("da_dropped"), t("da_changed")], range=["#d62728", "#ff9896"])),
        tooltip=[alt.Tooltip("filter:N", title=" "), "what:N", alt.Tooltip("n:Q", title=t("da_col_docs"))]).properties(
        height=alt.Step(13))


def filter_details(step: datastats.Step) -> None:
    label = t(f"da_f_{step.name}") if f"da_f_{step.name}" in TABLE else step.name
    with st.expander(t("da_filter_expander", name=label, dropped=num(step.dropped), changed=num(step.changed))):
        if f"da_fdesc_{step.name}" in TABLE:
            st.write(t(f"da_fdesc_{step.name}"))
        if step.reasons:
            st.dataframe([{t("da_col_why"): reason_text(r), t("da_col_code"): r, t("da_col_docs"): num(n)}
                          for r, n in step.reasons.items()], hide_index=True, width="stretch")
        if step.examples:
            st.caption(t("da_examples"))
            # A dataframe shows the excerpt as plain text: no markdown, no LaTeX from a "$...$".
            st.dataframe([{t("da_col_id"): e["id"], t("da_col_detail"): e["why"], t("da_col_excerpt"): e["excerpt"]}
                          for e in step.examples], hide_index=True, width="stretch")
        elif not step.dropped and not step.changed:
            st.caption(t("da_filter_nothing"))


def funnel_section(clean: dict) -> None:
    steps = datastats.funnel(clean)
    if not steps:
        st.warning(t("file_unreadable", path=CLEAN), icon=":material/sync_problem:")
        return
    first, last = steps[0].before, steps[-1].after
    st.write(t("da_funnel_intro", before=num(first), after=num(last), dropped=num((first or 0) - (last or 0))))
    st.dataframe([{t("da_col_step"): t(f"da_f_{s.name}") if f"da_f_{s.name}" in TABLE else s.name,
                   t("da_col_before"): num(s.before), t("da_col_dropped"): num(s.dropped),
                   t("da_col_changed"): num(s.changed), t("da_col_after"): num(s.after),
                   t("da_col_chars_removed"): num(s.chars_removed)} for s in steps], hide_index=True, width="stretch")
    st.altair_chart(ui.locale(funnel_chart(steps)), width="stretch")
    for step in steps:
        filter_details(step)


def pii_section(clean: dict | None) -> None:
    sc = datastats.scrub(clean, loaders.params())
    counted = sc.emails is not None and (sc.on or sc.emails or sc.phones)
    if not sc.on:
        st.info(t("da_pii_off"), icon=":material/privacy_tip:")
        st.code("clean:\n  scrub_emails: true\n  scrub_phones: true", language="yaml")
    if counted:
        a, b = st.columns(2)
        a.metric(t("da_pii_emails"), num(sc.emails), help=t("da_pii_emails_help"))
        b.metric(t("da_pii_phones"), num(sc.phones), help=t("da_pii_phones_help"))
    elif clean is not None and sc.on:
        st.caption(t("da_pii_old"))


# --------------------------------------------------------------------------- tokens


def tokens_section(tokenize: dict | None, tokenizer: dict | None) -> None:
    rows = datastats.token_splits(tokenize)
    bpt = datastats.bytes_per_token(tokenizer, tokenize)
    if not rows:
        ui.unreadable_or_missing("metrics/tokenize.json", t("da_what_tokens"))
        if not bpt:
            return
    st.write(t("da_tok_intro"))
    if rows:
        st.dataframe([{t("da_col_split"): t(f"da_split_{r['split']}"),
                       t("da_col_lang"): lang_name(r["lang"]) if r["lang"] else t("da_all_langs"),
                       t("da_col_tokens"): num(r["tokens"]), t("da_col_size"): mb(r["bytes"]),
                       t("da_col_bpt"): num(r["bytes_per_token"], 2)} for r in rows], hide_index=True, width="stretch")
    if bpt:
        for col, (code, value) in zip(st.columns(len(bpt)), bpt.items()):
            col.metric(t("da_bpt_metric", lang=lang_name(code)), t("da_bpt_value", n=num(value, 2)))
        st.caption(t("da_bpt_explain"))


st.title(t("da_title"))
st.write(t("da_intro"))
collect, clean = loaders.json_file(COLLECT), loaders.json_file(CLEAN)

st.subheader(t("da_read_title"))
if collect is None and clean is None:
    ui.unreadable_or_missing(COLLECT, t("da_what_summary"))
else:
    if clean is None:
        ui.unreadable_or_missing(CLEAN, t("da_what_clean"))
    read_section(collect, clean)

st.subheader(t("da_funnel_title"))
if clean is None:
    ui.unreadable_or_missing(CLEAN, t("da_what_clean"))
else:
    funnel_section(clean)

st.subheader(t("da_pii_title"))
pii_section(clean)

st.subheader(t("da_tok_title"))
tokens_section(loaders.metrics("tokenize"), loaders.metrics("tokenizer"))
