"""dashboard.outputs: reading what the stages wrote, tolerant of files still being written."""
from __future__ import annotations

import json
import time

from dashboard import outputs


def test_a_log_line_still_being_written_is_skipped(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1, "train_loss": 5.0}\n{"step": 2, "train_loss": 4.0}\n{"step": 3, "tra')
    assert [r["step"] for r in outputs.read_jsonl(log)] == [1, 2]
    assert outputs.read_jsonl(tmp_path / "missing.jsonl") == []


def test_half_written_json_reads_as_missing(tmp_path):
    (tmp_path / "m.json").write_text('{"documents": 12')
    (tmp_path / "list.json").write_text("[1, 2]")
    assert outputs.read_json(tmp_path / "m.json") is None and outputs.read_json(tmp_path / "list.json") is None


def test_a_live_run_and_its_eta(tmp_path):
    folder = tmp_path / "data/cache/pretrain/abc"
    folder.mkdir(parents=True)
    rows = [{"step": s, "tokens": 100 * s, "train_loss": 1.0, "elapsed_s": 0.5 * s} for s in range(10, 60, 10)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = outputs.read_run(tmp_path, "pretrain", folder)
    assert outputs.runs(tmp_path, "pretrain") == [folder]
    assert run.live(max_steps=100) and not run.live(max_steps=50)  # finished at its last step
    assert not run.live(max_steps=100, now=time.time() + outputs.LIVE_SECONDS + 1)  # a crashed run goes quiet
    assert abs(outputs.eta_seconds(run, 100) - 25.0) < 1e-6  # 50 steps left at 2 steps/s
    assert outputs.eta_seconds(run, 50) is None


def test_headlines_and_prefect_address(monkeypatch):
    assert outputs.headline("clean", {"documents_out": 7}) == ("head_kept", 7)
    assert outputs.headline("export", {"bytes": 2_500_000}) == ("head_megabytes", 2.5)
    assert outputs.headline("clean", None) is None
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api/")
    assert outputs.prefect_ui() == "http://127.0.0.1:4200"
    monkeypatch.setenv("PREFECT_API_URL", "")
    assert outputs.prefect_ui() is None


def test_prefect_address_of_a_running_make_prefect(tmp_path, monkeypatch):
    """`make prefect` announces its API in .prefect/api_url: linked while it answers /health."""
    import http.server
    import threading

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    (tmp_path / "www" / "api").mkdir(parents=True)
    (tmp_path / "www" / "api" / "health").write_text("true")
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "api_url").write_text(url + "/api\n")
    try:
        assert outputs.prefect_ui(tmp_path) == url
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert outputs.prefect_ui(tmp_path) is None  # the server is gone: no dead link


def test_dvc_status_outside_a_dvc_project_says_why(tmp_path):
    status = outputs.dvc_status(tmp_path)
    assert status.changes is None and not status.busy and "no .dvc folder" in status.error


def test_a_stage_never_run_here_has_no_time(tmp_path):
    """A fresh clone holds the committed metrics of someone else's run: their file time is the
    checkout's, so it is no 'when it ran'; the figures themselves are still shown."""
    (tmp_path / "dvc.yaml").write_text("stages:\n  collect: {cmd: x}\n  clean: {cmd: y}\n")
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages:\n  collect: {cmd: x}\n")
    (tmp_path / "metrics").mkdir()
    for name in ("collect", "clean"):
        (tmp_path / "metrics" / f"{name}.json").write_text('{"seconds": 5.0}')
    collect, clean = outputs.stage_states(tmp_path, {})
    assert (collect.state, clean.state) == ("done", "never")
    assert collect.ran_at is not None and clean.ran_at is None
    assert clean.seconds == 5.0
