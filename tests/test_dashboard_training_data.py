"""The Training and Data pages through the real navigation (Streamlit AppTest), in both
languages, with a tiny finished project, before any run and with half-written files; and
the plain functions behind them (dashboard/datastats.py, dashboard/experiments.py)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import datastats, experiments
from dashboard_project import REPO, make_project

APP = str(REPO / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("td") / "proj", models=False)


def open_page(root, page: str, lang: str, monkeypatch) -> AppTest:
    monkeypatch.setenv("FORJA_PROJECT", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown(at: AppTest) -> str:
    """Every text a visitor reads: text elements, metrics and the cells of every table."""
    parts = [str(e.value) for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "code", "text")
             for e in getattr(at, kind)]
    parts += [f"{m.label}: {m.value}" for m in at.metric]
    parts += [e.label for e in at.expander]
    parts += [d.value.to_csv(index=False) for d in at.dataframe]
    return "\n".join(parts)


def table(at: AppTest, first_column: str) -> list[dict]:
    return next(d.value.to_dict("records") for d in at.dataframe if d.value.columns[0] == first_column)


def chart_specs(at: AppTest) -> list[dict]:
    def walk(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from walk(child)
    return [json.loads(e.proto.spec) for e in walk(at.main) if getattr(e, "type", "") == "vega_lite_chart"]


# --------------------------------------------------------------------------- training page


@pytest.mark.parametrize("lang", ["es", "en"])
def test_training_page_with_a_finished_project(finished, lang, monkeypatch):
    at = open_page(finished, "training", lang, monkeypatch)
    text = shown(at)
    assert at.title[0].value == {"es": "Cómo aprendió el modelo", "en": "How the model learnt"}[lang]
    steps = {m.value for m in at.metric if m.label in ("Paso", "Step")}
    assert steps == {"20 de 1\u202f440", "10 de 1\u202f200"} if lang == "es" else steps == {"20 of 1,440", "10 of 1,200"}
    speed = {m.value for m in at.metric if m.label in ("Velocidad (tokens/s)", "Speed (tokens/s)")}
    assert speed == ({"5\u202f000"} if lang == "es" else {"5,000"})
    assert "pre000000001" in text  # the curve comes from the run's own log
    # the run log was written a moment ago and is short of max_steps: it is live, with an ETA in seconds
    assert {"es": "Entrenando ahora", "en": "Training now"}[lang] in text
    assert any(m.value.endswith(" s") or m.value.endswith(" min") for m in at.metric if m.label in ("Tiempo restante", "Time left"))
    assert {"es": "no es un proyecto DVC", "en": "not a DVC project"}[lang] in text  # no .dvc here
    specs = chart_specs(at)
    bpb = next(s for s in specs if "layer" in s and s["layer"][0]["encoding"]["x"]["field"] == "bits_per_byte")
    assert bpb["layer"][0]["encoding"]["x"]["title"].startswith({"es": "Bits por byte", "en": "Bits per byte"}[lang])
    assert len(specs) >= 6  # 2 x (loss, learning rate), bits per byte, tasks
    # the chat model on held-out small talk: overall figures, then one row per language
    talk = {m.label: m.value for m in at.metric if m.label in ("En el idioma de la pregunta", "In the question's language")}
    assert list(talk.values()) == [{"es": "66\u00a0%", "en": "66%"}[lang]]
    assert {"es": "¿Sabe conversar?", "en": "Can it hold a conversation?"}[lang] in text
    known = [m.value for m in at.metric if m.label in ("Palabras que existen", "Real words")]
    assert known == [{"es": "85\u00a0%", "en": "85%"}[lang]]
    # accuracy by turn in held-out dialogues, then the follow-up
    assert {"es": "¿Sigue el hilo?", "en": "Does it keep the thread?"}[lang] in text
    turns = {m.label: m.value for m in at.metric if m.label.startswith(("Tarea, turno", "Task, turn", "Pregunta sobre",
                                                                        "Question about"))}
    pc = (lambda v: f"{v}\u00a0%") if lang == "es" else (lambda v: f"{v}%")
    assert list(turns.values()) == [pc(50), pc(47), pc(41), pc(62)]
    deltas = [m.delta for m in at.metric if m.label.startswith(("Tarea, turno", "Task, turn"))]
    vs = {"es": "pts frente a sola", "en": "pts vs. alone"}[lang]
    assert deltas == ["", f"-5 {vs} ({pc(52)})", f"-4 {vs} ({pc(45)})"]  # the same items asked alone
    assert at.toggle(key="tr_log_pretrain").value is False


def test_training_log_scale_and_a_stopped_run(finished, monkeypatch, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    old = time.time() - 3600
    for log in (root / "data" / "cache").glob("*/*/metrics.jsonl"):
        os.utime(log, (old, old))  # an hour old and short of max_steps: stopped, not live
    at = open_page(root, "training", "en", monkeypatch)
    assert "Training now" not in shown(at)
    assert [m.value for m in at.metric if m.label == "Time left"] == ["stopped", "stopped"]
    at.toggle(key="tr_log_pretrain").set_value(True).run()
    assert not at.exception
    loss = next(s for s in chart_specs(at) if "layer" in s and s["layer"][0]["encoding"]["y"]["field"] == "value")
    assert loss["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_training_falls_back_to_the_published_csv(finished, monkeypatch, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    shutil.rmtree(root / "data" / "cache")
    at = open_page(root, "training", "es", monkeypatch)
    assert "plots/pretrain/loss.csv" in shown(at) and "plots/finetune/loss.csv" in shown(at)
    assert [m.value for m in at.metric if m.label == "Paso"] == ["20 de 1\u202f440", "10 de 1\u202f200"]
    assert [m.value for m in at.metric if m.label == "Tiempo restante"] == ["terminado", "terminado"]  # published


@pytest.mark.parametrize("lang", ["es", "en"])
def test_training_page_before_any_run(tmp_path, lang, monkeypatch):
    at = open_page(tmp_path, "training", lang, monkeypatch)
    said = "\n".join(i.value for i in at.info)
    assert said.count("make run") >= 3  # both curves and the evaluation say which command makes them


def test_training_page_with_half_written_files(finished, monkeypatch, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    (root / "metrics" / "evaluate.json").write_text('{"base_bits_per_byte": 2.')
    (root / "metrics" / "pretrain.json").write_text("[1, 2")
    (root / "plots" / "evaluate" / "tasks.csv").write_text("task,base_0shot\nrepeat,")
    log = root / "data" / "cache" / "pretrain" / "pre000000001" / "metrics.jsonl"
    log.write_text('[1]\n"x"\n{"step": "five"}\n' + log.read_text() + '{"step": 21, "tok')  # junk and a line mid-write
    shutil.rmtree(root / "data" / "cache" / "finetune")
    (root / "plots" / "finetune" / "loss.csv").write_text("step,train_loss\n")
    at = open_page(root, "training", "en", monkeypatch)
    text = shown(at)
    assert "metrics/evaluate.json" in "\n".join(w.value for w in at.warning)  # there but unreadable
    assert "20 of 1,440" in text  # the good rows of the log still make the curve
    assert "plots/finetune/loss.csv" in "\n".join(w.value for w in at.warning)  # a header and no rows yet


def test_training_overlays_the_experiments_ticked(finished, monkeypatch, tmp_path):
    """With DVC's answer replaced by a captured one, ticking rows draws their curves together."""
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    monkeypatch.setattr(experiments, "show", lambda path, timeout=60: experiments.Shown(DVC_EXP_SHOW))
    curves = {"46397d036db14d47df695da82f7aca73f62a5f79": [{"step": 1, "tokens": 100, "train_loss": 5.0}]}
    monkeypatch.setattr(experiments, "curve", lambda path, rev, **kw: curves.get(rev, [{"step": 1, "tokens": 100, "train_loss": 6.0}]))
    monkeypatch.setenv("FORJA_PROJECT", str(root))
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    at.switch_page("views/training.py")
    at.session_state["tr_exps"] = {"selection": {"rows": [1, 3, 4], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    rows = table(at, "Experiment")
    assert [r["Experiment"] for r in rows] == ["your folder now", "master (last commit)", "areal-clip", "wider", "queued1"]
    assert rows[3]["Validation loss"] == "4.360" and rows[3]["⚙ pretrain.model.dim"] == "64"
    assert rows[4]["State"] == "queued"
    overlay = [s for s in chart_specs(at) if "layer" in s and s["layer"][0]["encoding"]["color"]["field"] == "run"]
    assert overlay, "the ticked experiments' curves"
    assert "has not finished training" in shown(at)  # the queued one has no curve of its own


# --------------------------------------------------------------------------- data page


@pytest.mark.parametrize("lang", ["es", "en"])
def test_data_page_with_a_finished_project(finished, lang, monkeypatch):
    at = open_page(finished, "data", lang, monkeypatch)
    text = shown(at)
    assert "austen" in text and "refranes" in text
    src = {"es": "Fuente", "en": "Source"}[lang]
    sources = {r[src]: r for r in table(at, src)}
    assert sources["refranes"][{"es": "Documentos tras limpiar", "en": "Documents after cleaning"}[lang]] == "72"
    funnel = table(at, {"es": "Filtro", "en": "Filter"}[lang])
    left = [r[{"es": "Quedan", "en": "Left"}[lang]] for r in funnel]
    assert left == ["120", "120", "120", "120", "118", "116", "110"]  # quality 2, language 2, dedup 6
    assert {"es": "Entraron 120 documentos y salieron 110", "en": "120 documents went in and 110 came out"}[lang] in text
    assert "A buen hambre no hay pan duro." in text  # dedup's example, as plain text in a table
    assert {"es": "casi igual que otro documento", "en": "nearly the same as another document"}[lang] in text
    assert {"es": "apagado", "en": "off"}[lang] in "\n".join(i.value for i in at.info)  # scrubbing is off by default
    assert any("scrub_emails: true" in c.value for c in at.code)
    assert {"es": "un 60\u00a0% en español", "en": "60% in Spanish"}[lang] in text  # where its biases come from
    assert ("3,20 bytes" if lang == "es" else "3.20 bytes") in text  # bytes per token (Spanish)


def test_data_page_counts_scrubbed_emails_and_phones(finished, monkeypatch, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    summary = json.loads((root / "data/clean/summary.json").read_text())
    summary["filters"]["scrub_pii"] |= {"docs_changed": 3, "replaced": {"emails": 4, "phones": 2}}
    (root / "data/clean/summary.json").write_text(json.dumps(summary))
    (root / "params.yaml").write_text((root / "params.yaml").read_text().replace(
        "clean:\n", "clean:\n  scrub_emails: true\n  scrub_phones: true\n", 1))
    at = open_page(root, "data", "en", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["E-mails replaced by `<email>`"] == "4" and metrics["Phone numbers replaced by `<phone>`"] == "2"
    assert not [i for i in at.info if "off" in i.value]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_data_page_before_any_run(tmp_path, lang, monkeypatch):
    at = open_page(tmp_path, "data", lang, monkeypatch)
    said = "\n".join(i.value for i in at.info)
    assert said.count("make run") >= 3 and not at.dataframe


def test_data_page_with_truncated_summaries(finished, monkeypatch, tmp_path):
    root = tmp_path / "proj"
    shutil.copytree(finished, root)
    text = (root / "data/clean/summary.json").read_text()
    (root / "data/clean/summary.json").write_text(text[: len(text) // 2])  # cut mid-write
    (root / "metrics/tokenize.json").write_text('{"train_tokens": 14')
    at = open_page(root, "data", "es", monkeypatch)
    warned = "\n".join(w.value for w in at.warning)
    assert "data/clean/summary.json" in warned and "metrics/tokenize.json" in warned
    assert "austen" in shown(at)  # the collect summary still tells what was read
    # a summary of the wrong shape (an older or foreign version) is no traceback either
    (root / "data/clean/summary.json").write_text(json.dumps({"documents_in": "many", "filters": {"dedup": [1]},
                                                              "sources": [], "languages": {"es": 3}}))
    at = open_page(root, "data", "en", monkeypatch)
    assert "How they were cleaned" in shown(at)


# --------------------------------------------------------------------------- datastats


def summaries(root):
    return (json.loads((root / "data/collect/summary.json").read_text()),
            json.loads((root / "data/clean/summary.json").read_text()))


def test_sources_and_languages_add_up(finished):
    collect, clean = summaries(finished)
    rows = {r["source"]: r for r in datastats.sources(collect, clean)}
    assert rows["austen"] | {"share": None} == {"source": "austen", "lang": "en", "documents": 40, "chars": 19_800,
                                                 "bytes": 20_000, "documents_kept": 38, "chars_kept": 18_900,
                                                 "share": None}
    assert sum(r["share"] for r in rows.values()) == pytest.approx(1.0)
    langs = datastats.languages(collect, clean)
    assert [r["lang"] for r in langs] == ["es", "en"]  # the biggest share first
    assert langs[0]["share"] == pytest.approx(29_000 / 48_000)
    # before cleaning has run, the shares come from what was collected
    assert datastats.languages(collect, None)[0]["share"] == pytest.approx(30_000 / 50_000)
    assert datastats.skipped(collect) == [{"source": "refranes", "reason": "fortune not in es", "units": 3, "chars": 90}]


def test_funnel_runs_the_filters_in_order():
    clean = {"documents_in": 100, "filters": {
        "dedup": {"docs_dropped": 5, "reasons": {"dedup:exact": 2, "dedup:near": 3},
                  "examples": [{"id": "a/1", "why": "dedup:near: near copy of a/0", "excerpt": "$x$ **y**"}]},
        "normalize": {"docs_dropped": 0, "docs_changed": 7, "chars_removed": 9},
        "language": {"docs_dropped": 4, "reasons": {"language:fr": 4}},
        "mystery": {"docs_dropped": 1}}}
    steps = datastats.funnel(clean)
    assert [s.name for s in steps] == ["normalize", "language", "dedup", "mystery"]
    assert [(s.before, s.dropped, s.after) for s in steps] == [(100, 0, 100), (100, 4, 96), (96, 5, 91), (91, 1, 90)]
    assert steps[0].changed == 7 and steps[2].reasons == {"dedup:near": 3, "dedup:exact": 2}
    assert steps[2].examples == [{"id": "a/1", "why": "dedup:near: near copy of a/0", "excerpt": "$x$ **y**"}]
    # odd fields: no exception, missing figures instead
    odd = datastats.funnel({"documents_in": "x", "filters": {"quality": {"docs_dropped": "3", "examples": "no"}}})
    assert odd[0].before is None and odd[0].dropped is None and odd[0].examples == []
    assert datastats.funnel(None) == [] and datastats.funnel({"filters": []}) == []
    assert datastats.reason_parts("language:low_confidence") == ("language", "low_confidence")
    assert datastats.reason_parts("dedup") == ("", "dedup")


def test_scrub_counts_and_settings():
    summary = {"filters": {"scrub_pii": {"docs_changed": 2, "replaced": {"emails": 3, "phones": 1}}}}
    on = datastats.scrub(summary, {"clean": {"scrub_emails": True}})
    assert (on.on, on.emails_on, on.phones_on, on.emails, on.phones, on.changed) == (True, True, False, 3, 1, 2)
    old = datastats.scrub({"filters": {"scrub_pii": {"docs_changed": 0}}}, {"clean": {"task_runner": "threads"}})
    assert not old.on and old.emails is None and old.phones is None  # a summary from before the count
    assert datastats.scrub(None, None) == datastats.Scrub(False, False, None, None, None)


def test_tokens_per_split_and_bytes_per_token(finished):
    tokenize = json.loads((finished / "metrics/tokenize.json").read_text())
    rows = datastats.token_splits(tokenize)
    assert [(r["split"], r["lang"]) for r in rows] == [("train", None), ("train", "es"), ("train", "en"),
                                                       ("val", None), ("val", "es"), ("val", "en")]
    assert rows[1]["bytes_per_token"] == pytest.approx(28_000 / 9_000)
    assert datastats.bytes_per_token({"bytes_per_token_es": 3.2}, tokenize) == {"es": 3.2, "en": 18_000 / 5_000}
    assert datastats.token_splits({"train_tokens": "lots"}) == []


def test_curve_helpers():
    rows = datastats.numeric_rows([{"step": 1, "tokens": 10, "train_loss": 5.0, "note": "x"}, [1], {"tokens": 3},
                                   {"step": 2, "tokens": 20, "train_loss": 4.0, "val_loss": 4.5, "lr": True}])
    assert rows == [{"step": 1, "tokens": 10, "train_loss": 5.0}, {"step": 2, "tokens": 20, "train_loss": 4.0, "val_loss": 4.5}]
    assert datastats.x_axis(rows) == "tokens" and datastats.x_axis([{"step": 1}]) == "step"
    points = datastats.loss_points(rows, "tokens", {"train_loss": "train", "val_loss": "val"})
    assert points == [{"x": 10, "value": 5.0, "series": "train"}, {"x": 20, "value": 4.0, "series": "train"},
                      {"x": 20, "value": 4.5, "series": "val"}]
    assert datastats.scale(1_474_560) == (1e6, "M") and datastats.scale(20_480) == (1e3, "k") and datastats.scale(900) == (1.0, "")
    assert [r["name"] for r in datastats.bits_per_byte({"base_bits_per_byte": 2.2, "xz_bits_per_byte": 2.7})] == ["base", "xz"]
    tasks = datastats.task_accuracy([{"task": "macro", "base_0shot": 0.1, "chat_0shot": 0.4},
                                     {"task": "repeat", "base_0shot": 0.0, "chat_0shot": 0.6}])
    assert [(r["task"], r["model"]) for r in tasks] == [("repeat", "base_0shot"), ("repeat", "chat_0shot"),
                                                        ("macro", "base_0shot"), ("macro", "chat_0shot")]


# --------------------------------------------------------------------------- experiments

# `dvc exp show --json` of DVC 3.67 (trimmed: deps left out): the workspace, the baseline
# commit with two finished experiments and a queued one.
DVC_EXP_SHOW = json.loads("""[
 {"rev": "workspace", "name": null, "data": {"rev": "workspace", "timestamp": null,
   "params": {"params.yaml": {"data": {"pretrain": {"model": {"dim": 48}, "train": {"lr": 0.002}}, "evaluate": {"n": 3}}}},
   "metrics": {"metrics/pretrain.json": {"data": {"val_loss": 4.52, "parameters": 48000}},
               "metrics/evaluate.json": {"data": {"base_bits_per_byte": 2.26, "chat_0shot_macro": 0.48}}},
   "outs": {}, "meta": {}}, "error": null, "experiments": null},
 {"rev": "e2ad695d57f982f72d859de100cb6e137dea6ec6", "name": "master", "data": {
   "rev": "e2ad695d57f982f72d859de100cb6e137dea6ec6", "timestamp": "2026-12-02T10:23:42",
   "params": {"params.yaml": {"data": {"pretrain": {"model": {"dim": 32}, "train": {"lr": 0.001}}, "evaluate": {"n": 3}}}},
   "metrics": {"metrics/pretrain.json": {"data": {"val_loss": 4.68, "parameters": 32000}},
               "metrics/evaluate.json": {"data": {"base_bits_per_byte": 2.34, "chat_0shot_macro": 0.32}}},
   "outs": {}, "meta": {}}, "error": null, "experiments": [
   {"revs": [{"rev": "e94e86ea8550180a5537b259e4efd40e51f028eb", "name": "areal-clip", "data": {
      "rev": "e94e86ea8550180a5537b259e4efd40e51f028eb", "timestamp": "2026-12-02T10:23:48",
      "params": {"params.yaml": {"data": {"pretrain": {"model": {"dim": 48}, "train": {"lr": 0.002}}, "evaluate": {"n": 3}}}},
      "metrics": {"metrics/pretrain.json": {"data": {"val_loss": 4.52, "parameters": 48000}},
                  "metrics/evaluate.json": {"data": {"base_bits_per_byte": 2.26, "chat_0shot_macro": 0.48}}},
      "outs": {}, "meta": {}}, "error": null, "experiments": null}], "executor": null, "name": "areal-clip"},
   {"revs": [{"rev": "46397d036db14d47df695da82f7aca73f62a5f79", "name": "wider", "data": {
      "rev": "46397d036db14d47df695da82f7aca73f62a5f79", "timestamp": "2026-12-02T10:23:45",
      "params": {"params.yaml": {"data": {"pretrain": {"model": {"dim": 64}, "train": {"lr": 0.001}}, "evaluate": {"n": 3}}}},
      "metrics": {"metrics/pretrain.json": {"data": {"val_loss": 4.36, "parameters": 64000}},
                  "metrics/evaluate.json": {"data": {"base_bits_per_byte": 2.18, "chat_0shot_macro": 0.64}}},
      "outs": {}, "meta": {}}, "error": null, "experiments": null}],
    "executor": {"state": "success", "name": "dvc-task", "local": {"root": null, "log": "x.out", "pid": 4539,
                 "returncode": 0, "task_id": "46397d036db14d47df695da82f7aca73f62a5f79"}}, "name": "wider"},
   {"revs": [{"rev": "2df96c33b89178d31048b670dbc518fcf74af450", "name": "queued1", "data": {
      "rev": "2df96c33b89178d31048b670dbc518fcf74af450", "timestamp": "2026-12-02T10:24:12",
      "params": {"params.yaml": {"data": {"pretrain": {"model": {"dim": 80}, "train": {"lr": 0.002}}, "evaluate": {"n": 3}}}},
      "metrics": {}, "outs": {}, "meta": {}}, "error": null, "experiments": null}],
    "executor": {"state": "queued", "name": "dvc-task", "local": {"root": null, "log": null, "pid": null,
                 "returncode": null, "task_id": "2df96c33b89178d31048b670dbc518fcf74af450"}}, "name": "queued1"}]}
]""")


def test_parse_dvc_exp_show():
    exps = experiments.parse(DVC_EXP_SHOW)
    assert [(e.name, e.kind, e.state) for e in exps] == [
        ("workspace", "workspace", "done"), ("master", "baseline", "done"), ("areal-clip", "experiment", "done"),
        ("wider", "experiment", "done"), ("queued1", "experiment", "queued")]  # wider ran from the queue: "success"
    wider = exps[3]
    assert wider.rev.startswith("46397d0") and wider.created == "2026-12-02 10:23"
    assert wider.metric("metrics/pretrain.json", "val_loss") == 4.36 and wider.params["pretrain.model.dim"] == 64
    assert experiments.differing_params(exps) == ["pretrain.model.dim", "pretrain.train.lr"]  # evaluate.n is the same
    assert exps[4].metrics == {}


def test_parse_tolerates_errors_and_odd_answers():
    failed = [{"rev": "abc1234", "name": None, "error": {"type": "X", "msg": "broken params.yaml"},
               "data": {"params": {"params.yaml": {"error": {"msg": "bad"}}}, "metrics": None}}]
    exp = experiments.parse(failed)[0]
    assert exp.state == "failed" and exp.error == "broken params.yaml" and exp.params == {} and exp.name == "abc1234"
    assert experiments.parse(None) == [] and experiments.parse({"a": 1}) == [] and experiments.parse([1, "x"]) == []
    assert experiments.flatten({"a": {"b": [1, 2], "c": {}}}) == {"a.b": "[1, 2]", "a.c": "{}"}


def test_show_without_a_dvc_project_and_when_dvc_fails(tmp_path, monkeypatch):
    assert experiments.show(tmp_path).problem == "no_project"
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".git").mkdir()

    def fake(args, returncode=0, stdout="", stderr=""):
        return lambda *a, **kw: subprocess.CompletedProcess(args, returncode, stdout, stderr)

    monkeypatch.setattr(subprocess, "run", fake([], 1, "", "ERROR: unable to acquire lock\n"))
    assert experiments.show(tmp_path) == experiments.Shown(None, "failed", "ERROR: unable to acquire lock")
    monkeypatch.setattr(subprocess, "run", fake([], 0, "not json"))
    assert experiments.show(tmp_path).problem == "bad_json"

    def slow(*a, **kw):
        raise subprocess.TimeoutExpired("dvc", 1)
    monkeypatch.setattr(subprocess, "run", slow)
    assert experiments.show(tmp_path).problem == "timeout"


def git(root, *args):
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=root, check=True,
                   capture_output=True)


def test_curve_reads_a_commit_and_the_workspace(tmp_path):
    curve = tmp_path / "plots" / "pretrain" / "loss.csv"
    curve.parent.mkdir(parents=True)
    curve.write_text("step,tokens,train_loss,val_loss,lr\n1,100,5.5,,0.001\n2,200,5.0,5.2,0.001\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "a run")
    rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    curve.write_text("step,tokens,train_loss\n1,100,9.0\n")
    assert experiments.curve(tmp_path, rev) == [{"step": 1, "tokens": 100, "train_loss": 5.5, "lr": 0.001},
                                                {"step": 2, "tokens": 200, "train_loss": 5.0, "val_loss": 5.2, "lr": 0.001}]
    assert experiments.curve(tmp_path, "workspace") == [{"step": 1, "tokens": 100, "train_loss": 9.0}]
    assert experiments.curve(tmp_path, "0" * 40) == []  # no such commit
    assert experiments.curve(tmp_path, "--output=/tmp/x") == []  # never passed to git as an option
    key = experiments.cache_key(tmp_path)
    (tmp_path / ".git" / "refs" / "exps" / "ab").mkdir(parents=True)
    (tmp_path / ".git" / "refs" / "exps" / "ab" / "wider").write_text(rev)
    assert experiments.cache_key(tmp_path) != key  # a new experiment invalidates the cached table


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_show_on_a_real_dvc_project(tmp_path):
    """The JSON shape parse() expects, from the installed DVC, on a fresh project."""
    git(tmp_path, "init", "-q")
    done = subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"dvc init failed: {done.stderr[-300:]}")
    (tmp_path / "params.yaml").write_text("pretrain:\n  model:\n    dim: 32\n")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "pretrain.json").write_text('{"val_loss": 4.5}')
    (tmp_path / "dvc.yaml").write_text("stages:\n  pretrain:\n    cmd: 'true'\n    params: [pretrain]\n"
                                       "    metrics:\n      - metrics/pretrain.json:\n          cache: false\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    shown_ = experiments.show(tmp_path)
    assert shown_.problem is None, shown_.detail
    exps = experiments.parse(shown_.data)
    assert [e.kind for e in exps] == ["workspace", "baseline"]
    assert exps[1].params == {"pretrain.model.dim": 32}
    assert exps[1].metric("metrics/pretrain.json", "val_loss") == 4.5
