"""Charts a person can open offline: SVG files written next to the stages' plot CSVs.

Why this exists: every stage writes CSVs under plots/ for `dvc plots`, but the HTML
that `dvc plots show` writes loads vega from a CDN, so without a network it shows an
empty page. Here each chart is a Vega-Lite spec (a plain dict) rendered to SVG by
`vl-convert-python`, which bundles vega and vega-lite in the wheel and runs them
locally. External data loads are refused (`allowed_base_urls=[]`): a chart only ever
sees the rows it was handed, and rendering never touches the network.

The same spec dicts (`loss_curve_spec`, `bar_chart_spec`) can be handed to anything
else that speaks Vega-Lite (`st.vega_lite_chart` in the dashboard), so a chart is
described once.

Outputs are deterministic: the same rows give byte-identical SVG (no dates, no random
ids), so a rerun with unchanged results leaves DVC's outputs unchanged. Rows are
dicts as `csv.DictReader` or a metrics.jsonl gives them: values may be numbers or
strings; empty strings, None, NaN and anything not a number are skipped point by
point, so a validation series that exists only at some steps draws only there.
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from llm_core.atomic import write_text

# Tableau 10, vega's default category palette, fixed here so a series keeps its colour
# by position (train blue, validation orange) even when another series is empty.
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6"]
WIDTH = 560
HEIGHT = 300
LR_HEIGHT = 90
BAR_STEP = 14          # pixels per bar in a grouped bar chart (bar and gap)
POINTS_UP_TO = 60      # a series with at most this many points also draws a marker per point

_CONFIG = {
    "font": "sans-serif",
    "title": {"fontSize": 15, "anchor": "start", "offset": 10},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#e6e6e6"},
    "legend": {"labelFontSize": 12, "titleFontSize": 12, "symbolStrokeWidth": 3},
    "view": {"stroke": "#cccccc"},
}


def number(value: Any) -> float | None:
    """`value` as a finite float, or None when it is missing or not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def read_csv_rows(path: str | Path) -> list[dict[str, str]]:
    """A CSV with a header row, as one dict per row (values left as strings)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _label(name: str, labels: Mapping[str, str] | None) -> str:
    return (labels or {}).get(name, name)


def _x_axis(x_label: str | None, values: Iterable[float]) -> dict:
    axis: dict[str, Any] = {"title": x_label}
    if max((abs(v) for v in values), default=0) >= 1e5:
        # 1400000 -> "1.4M"; SI's G (giga) reads as B (billion) for token counts
        axis["labelExpr"] = "replace(format(datum.value, '~s'), 'G', 'B')"
    return axis


def loss_curve_spec(
    rows: list[Mapping[str, Any]],
    x: str,
    series: list[str],
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    lr: str | None = None,
    lr_label: str = "learning rate",
    labels: Mapping[str, str] | None = None,
) -> dict:
    """A Vega-Lite spec: each column in `series` as a line against column `x`.

    A series is drawn only where it has a value (validation loss at evaluation steps
    only); a sparse series (at most POINTS_UP_TO points) also gets a marker per point.
    `log_y` puts the loss on a log scale (values <= 0 are dropped there). `lr` names a
    column drawn in a small panel below, sharing the x axis. `labels` renames series
    in the legend (column name -> text); the legend lists them in `series` order.
    """
    values: list[dict] = []
    present: list[str] = []
    colours: list[str] = []
    sparse: list[str] = []
    xs: list[float] = []
    for i, name in enumerate(series):
        label = _label(name, labels)
        n = 0
        for row in rows:
            xv, yv = number(row.get(x)), number(row.get(name))
            if xv is None or yv is None or (log_y and yv <= 0):
                continue
            values.append({"x": xv, "series": label, "value": yv})
            xs.append(xv)
            n += 1
        if n:
            present.append(label)
            colours.append(PALETTE[i % len(PALETTE)])
            if n <= POINTS_UP_TO:
                sparse.append(label)

    x_scale = {"zero": False, "nice": False, "padding": 6}  # the data's range, a marker's width inside
    x_enc = {"field": "x", "type": "quantitative", "axis": _x_axis(x_label, xs), "scale": x_scale}
    y_scale: dict[str, Any] = {"type": "log", "nice": False, "padding": 6} if log_y else {"zero": False}
    colour = {
        "field": "series",
        "type": "nominal",
        "scale": {"domain": present, "range": colours},
        "sort": present,
        "legend": {"title": None, "orient": "top-right", "fillColor": "white", "padding": 6,
                   "strokeColor": "#cccccc"},
    }
    layers: list[dict] = [{"mark": {"type": "line", "strokeWidth": 2, "clip": True}}]
    if sparse:
        layers.append({
            "transform": [{"filter": {"field": "series", "oneOf": sparse}}],
            "mark": {"type": "point", "filled": True, "size": 40, "opacity": 1, "clip": True},
        })
    loss = {
        "width": WIDTH,
        "height": HEIGHT,
        "data": {"values": values},
        "encoding": {
            "x": x_enc,
            "y": {"field": "value", "type": "quantitative", "title": y_label, "scale": y_scale,
                  # a log axis labels only some of its ticks by default; label them all
                  **({"axis": {"labelExpr": "format(datum.value, '~g')"}} if log_y else {})},
            "color": colour,
        },
        "layer": layers,
    }
    spec: dict[str, Any] = {"title": title, "background": "white", "config": _CONFIG}

    lr_values = []
    if lr is not None:
        for row in rows:
            xv, yv = number(row.get(x)), number(row.get(lr))
            if xv is not None and yv is not None:
                lr_values.append({"x": xv, "lr": yv})
    if not lr_values:
        return {**spec, **loss}

    loss["encoding"]["x"] = {**x_enc, "axis": {**x_enc["axis"], "title": None}}
    lr_panel = {
        "width": WIDTH,
        "height": LR_HEIGHT,
        "data": {"values": lr_values},
        "mark": {"type": "line", "strokeWidth": 1.5, "color": "#888888", "clip": True},
        "encoding": {
            "x": x_enc,
            "y": {"field": "lr", "type": "quantitative", "title": lr_label,
                  "axis": {"tickCount": 3, "labelExpr": "datum.value == 0 ? '0' : format(datum.value, '~e')"}},
        },
    }
    return {**spec, "vconcat": [loss, lr_panel], "spacing": 8, "resolve": {"scale": {"x": "shared"}}}


def bar_chart_spec(
    rows: list[Mapping[str, Any]],
    category: str,
    series: list[str],
    title: str,
    value_label: str,
    category_label: str | None = None,
    value_domain: tuple[float, float] | None = None,
    value_format: str = ".2f",
    labels: Mapping[str, str] | None = None,
) -> dict:
    """A Vega-Lite spec: grouped horizontal bars, one group per row (its `category`
    value, in row order), one bar per column in `series` (e.g. accuracy per task, one
    bar per model), each bar with its value written at its end. `value_domain` fixes
    the value axis (e.g. (0, 1) for accuracy); missing values get no bar."""
    values: list[dict] = []
    categories: list[str] = []
    for row in rows:
        cat = row.get(category)
        if cat is None or str(cat) == "":
            continue
        cat = str(cat)
        if cat not in categories:
            categories.append(cat)
        for name in series:
            v = number(row.get(name))
            if v is not None:
                values.append({"category": cat, "series": _label(name, labels), "value": v})
    names = [_label(name, labels) for name in series]
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(series))]

    x_scale: dict[str, Any] = {"zero": True}
    if value_domain is not None:
        x_scale["domain"] = list(value_domain)
    x_enc = {"field": "value", "type": "quantitative", "title": value_label, "scale": x_scale}
    y_enc = {"field": "category", "type": "nominal", "title": category_label, "sort": categories,
             "axis": {"labelFontSize": 12, "labelPadding": 6}}
    offset = {"field": "series", "type": "nominal", "sort": names, "scale": {"domain": names}}
    return {
        "title": title,
        "background": "white",
        "config": _CONFIG,
        "width": WIDTH,
        "height": {"step": BAR_STEP},  # the step of the inner (per-series) band
        "data": {"values": values},
        "encoding": {"y": y_enc, "yOffset": offset, "x": x_enc},
        "layer": [
            {
                "mark": {"type": "bar", "clip": True},
                "encoding": {
                    "color": {"field": "series", "type": "nominal", "sort": names,
                              "scale": {"domain": names, "range": colours},
                              "legend": {"title": None, "orient": "right"}},
                },
            },
            {
                "mark": {"type": "text", "align": "left", "dx": 3, "fontSize": 9, "color": "#444444"},
                "encoding": {"text": {"field": "value", "type": "quantitative", "format": value_format}},
            },
        ],
    }


def scatter_grid_spec(
    rows: list[Mapping[str, Any]],
    xs: list[str],
    ys: list[str],
    group: str,
    title: str,
    labels: Mapping[str, str] | None = None,
    log_x: tuple[str, ...] = (),
) -> dict:
    """A Vega-Lite spec: one small chart per (y, x) pair, rows of `ys` by columns of `xs`,
    points joined by a line per `group` value (e.g. bits per byte against parameters and
    against seconds, one line per budget). Columns named in `log_x` get a log axis."""
    values = [{**{k: number(r.get(k)) for k in xs + ys}, group: str(r.get(group, ""))} for r in rows]
    groups = list(dict.fromkeys(v[group] for v in values))
    colour = {"field": group, "type": "nominal", "sort": groups, "title": _label(group, labels),
              "scale": {"domain": groups, "range": PALETTE[: max(1, len(groups))]}}
    panels = []
    for y in ys:
        row = []
        for x in xs:
            xv = [v[x] for v in values if v[x] is not None]
            x_enc = {"field": x, "type": "quantitative", "scale": {"type": "log", "nice": False, "padding": 14} if x in log_x else {"zero": False, "padding": 14},
                     "axis": _x_axis(_label(x, labels), xv)}
            y_enc = {"field": y, "type": "quantitative", "scale": {"zero": False}, "title": _label(y, labels)}
            row.append({"width": WIDTH // 2, "height": 180,
                        "transform": [{"filter": f"isValid(datum['{x}']) && isValid(datum['{y}'])"}],
                        "mark": {"type": "line", "point": {"size": 60}, "strokeWidth": 2},
                        "encoding": {"x": x_enc, "y": y_enc, "color": colour, "order": {"field": x}}})
        panels.append({"hconcat": row})
    return {"title": title, "background": "white", "config": _CONFIG, "data": {"values": values}, "vconcat": panels}


def to_svg(spec: dict) -> str:
    """Render a Vega-Lite spec to SVG text, locally (no data may come from a URL)."""
    import vl_convert  # a compiled bundle of vega; imported here so `import llm_core.plots` stays cheap

    return _renumber_clips(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[]))


def _renumber_clips(svg: str) -> str:
    """Vega numbers clip paths with a counter that lives as long as the process
    (clip1, clip2 in the first chart, clip3... in the next): number them per chart,
    in order of appearance, so the SVG does not depend on what was drawn before."""
    ids: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        new = ids.setdefault(m.group(2), f"clip{len(ids) + 1}")
        return f"{m.group(1)}{new}{m.group(3)}"

    return _CLIP_REF.sub(sub, svg)


# only the id attribute and url(#...) references, never text that reads "clip7"
_CLIP_REF = re.compile(r'(id="|url\(#)(clip\d+)("|\))')


def to_png(spec: dict, scale: float = 2.0) -> bytes:
    """Render a Vega-Lite spec to PNG bytes (for a look at a chart, or a slide)."""
    import vl_convert

    return vl_convert.vegalite_to_png(spec, scale=scale, allowed_base_urls=[])


def loss_curve_svg(*args: Any, **kwargs: Any) -> str:
    """`loss_curve_spec(...)` (same arguments) as SVG text."""
    return to_svg(loss_curve_spec(*args, **kwargs))


def scatter_grid_svg(*args: Any, **kwargs: Any) -> str:
    return to_svg(scatter_grid_spec(*args, **kwargs))


def bar_chart_svg(*args: Any, **kwargs: Any) -> str:
    """`bar_chart_spec(...)` (same arguments) as SVG text."""
    return to_svg(bar_chart_spec(*args, **kwargs))


def write_svg(path: str | Path, svg_text: str) -> Path:
    """Write SVG text atomically, ending in one newline."""
    return write_text(path, svg_text if svg_text.endswith("\n") else svg_text + "\n")
