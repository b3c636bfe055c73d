"""llm_core.plots: offline SVG charts for the stages' plot CSVs."""
from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from llm_core import plots

LOSS_CSV = """step,tokens,train_loss,val_loss,lr
10,40960,7.5919,,0.001
20,81920,6.7219,,0.002
30,122880,6.8229,6.9001,0.003
40,163840,6.5398,,0.00299505
50,204800,6.3702,6.4010,0.0029
"""

TASKS_CSV = """task,base_0shot,base_1shot,base_3shot,chat_0shot
arithmetic,0.0000,0.0000,0.0000,0.0000
lang_id,0.1000,0.2000,0.2500,1.0000
macro,0.0038,0.0021,,0.3825
"""


@pytest.fixture
def loss_rows(tmp_path):
    (tmp_path / "loss.csv").write_text(LOSS_CSV)
    return plots.read_csv_rows(tmp_path / "loss.csv")


@pytest.fixture
def task_rows(tmp_path):
    (tmp_path / "tasks.csv").write_text(TASKS_CSV)
    return plots.read_csv_rows(tmp_path / "tasks.csv")


def texts(svg: str, role: str) -> list[str]:
    """The text of every Vega mark group of `role` (e.g. role-legend-label)."""
    root = ET.fromstring(svg)  # also: the SVG is well-formed XML
    out = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        if role in g.get("class", "").split():
            out += [t for el in g.iter("{http://www.w3.org/2000/svg}text") if (t := "".join(el.itertext()))]
    return out


def loss_svg(rows, **kw):
    return plots.loss_curve_svg(rows, "tokens", ["train_loss", "val_loss"], "Pretraining loss",
                                "tokens seen", "cross-entropy", **kw)


def test_loss_curve_has_title_axes_and_legend(loss_rows):
    svg = loss_svg(loss_rows)
    assert svg.lstrip().startswith("<svg")
    assert texts(svg, "role-title-text") == ["Pretraining loss"]
    assert set(texts(svg, "role-axis-title")) == {"tokens seen", "cross-entropy"}
    assert texts(svg, "role-legend-label") == ["train_loss", "val_loss"]
    assert "k" in "".join(texts(svg, "role-axis-label"))  # 122880 reads as 123k, not 122,880


def test_loss_curve_with_learning_rate_panel_and_labels(loss_rows):
    svg = loss_svg(loss_rows, lr="lr", lr_label="learning rate", labels={"val_loss": "validation"})
    assert set(texts(svg, "role-axis-title")) == {"tokens seen", "cross-entropy", "learning rate"}
    assert texts(svg, "role-legend-label") == ["train_loss", "validation"]


def test_same_rows_give_byte_identical_svg(loss_rows, task_rows):
    assert loss_svg(loss_rows, lr="lr") == loss_svg(loss_rows, lr="lr")
    # vega's clip-path ids count up per process; they are numbered per chart
    svg = loss_svg(loss_rows, lr="lr")
    assert 'id="clip1"' in svg and "url(#clip1)" in svg
    args = (task_rows, "task", ["base_0shot", "chat_0shot"], "Tasks", "accuracy")
    assert plots.bar_chart_svg(*args) == plots.bar_chart_svg(*args)


def test_byte_identical_across_processes(tmp_path, loss_rows):
    """DVC reruns are new processes: nothing per process (ids, dates) may leak in."""
    code = (
        "import sys; from llm_core import plots; "
        f"rows = plots.read_csv_rows({str(tmp_path / 'loss.csv')!r}); "
        "sys.stdout.write(plots.loss_curve_svg(rows, 'tokens', ['train_loss', 'val_loss'], "
        "'Pretraining loss', 'tokens seen', 'cross-entropy', lr='lr'))"
    )
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert outs[0] == outs[1] == loss_svg(loss_rows, lr="lr")


def test_missing_validation_points_are_skipped():
    rows = [
        {"step": 1, "train_loss": 3.0, "val_loss": None},
        {"step": 2, "train_loss": "2.5", "val_loss": ""},
        {"step": 3, "train_loss": 2.0},                      # no val_loss key at all
        {"step": 4, "train_loss": "nan", "val_loss": 2.1},  # NaN train point skipped
        {"step": 5, "train_loss": 1.8, "val_loss": "1.9"},
        {"step": "", "train_loss": 9.9, "val_loss": 9.9},   # no x: no point
    ]
    spec = plots.loss_curve_spec(rows, "step", ["train_loss", "val_loss"], "t", "step", "loss")
    points = [(v["series"], v["x"]) for v in spec["data"]["values"]]
    assert points == [("train_loss", 1), ("train_loss", 2), ("train_loss", 3), ("train_loss", 5),
                      ("val_loss", 4), ("val_loss", 5)]
    svg = plots.to_svg(spec)
    assert texts(svg, "role-legend-label") == ["train_loss", "val_loss"]


def test_a_series_with_no_values_is_left_out():
    rows = [{"step": s, "train_loss": 5 - s / 10, "val_loss": ""} for s in range(1, 6)]
    svg = plots.loss_curve_svg(rows, "step", ["train_loss", "val_loss"], "t", "step", "loss")
    assert texts(svg, "role-legend-label") == ["train_loss"]
    # with no rows at all a chart still renders (empty axes), it does not crash
    ET.fromstring(plots.loss_curve_svg([], "step", ["train_loss"], "empty", "step", "loss", lr="lr"))


def test_log_scale(loss_rows):
    rows = loss_rows + [{"tokens": "245760", "train_loss": "0", "val_loss": "-1"}]  # not on a log axis
    spec = plots.loss_curve_spec(rows, "tokens", ["train_loss", "val_loss"], "t", "tokens", "loss", log_y=True)
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert all(v["value"] > 0 for v in spec["data"]["values"])
    svg = plots.to_svg(spec)
    assert set(texts(svg, "role-axis-title")) == {"tokens", "loss"}
    assert svg != plots.loss_curve_svg(loss_rows, "tokens", ["train_loss", "val_loss"], "t", "tokens", "loss")


def test_bar_chart(task_rows):
    series = ["base_0shot", "base_1shot", "base_3shot", "chat_0shot"]
    svg = plots.bar_chart_svg(task_rows, "task", series, "Task accuracy per model", "accuracy",
                              value_domain=(0, 1))
    assert texts(svg, "role-title-text") == ["Task accuracy per model"]
    assert texts(svg, "role-axis-title") == ["accuracy"]
    assert texts(svg, "role-legend-label") == series
    assert [t for t in texts(svg, "role-axis-label") if not t[0].isdigit()] == ["arithmetic", "lang_id", "macro"]
    spec = plots.bar_chart_spec(task_rows, "task", series, "t", "accuracy")
    # the empty base_3shot value of `macro` has no bar (and no label)
    assert len(spec["data"]["values"]) == 3 * 4 - 1


def test_special_characters_stay_well_formed(loss_rows):
    svg = plots.loss_curve_svg(loss_rows, "step", ["train_loss"], "loss <train> & \"val\" clip7", "paso", "pérdida")
    assert texts(svg, "role-title-text") == ['loss <train> & "val" clip7']
    assert "pérdida" in texts(svg, "role-axis-title")


def test_no_data_is_fetched_from_a_url():
    spec = {"data": {"url": "https://example.invalid/loss.csv"}, "mark": "line",
            "encoding": {"x": {"field": "step", "type": "quantitative"}}}
    with pytest.raises(Exception, match="not allowed"):
        plots.to_svg(spec)


def test_write_svg_is_atomic_and_stable(tmp_path, loss_rows):
    svg = loss_svg(loss_rows)
    out = plots.write_svg(tmp_path / "plots" / "loss.svg", svg)
    data = out.read_bytes()
    assert data.endswith(b"</svg>\n") and not data.endswith(b"\n\n")
    ET.parse(out)
    plots.write_svg(out, loss_svg(loss_rows))
    assert out.read_bytes() == data
    assert [p.name for p in out.parent.iterdir()] == ["loss.svg"]  # no temporary left behind


def test_number():
    assert [plots.number(v) for v in (1, "2.5", " 3 ", "", None, "nan", "inf", "x", True)] == \
        [1.0, 2.5, 3.0, None, None, None, None, None, None]
