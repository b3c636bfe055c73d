"""`make prefect`: a Prefect server kept running for a project, found by what runs there.

The server is `python -m flows.server --serve` in a scratch project folder on a free
127.0.0.1 port, started in its own process group and stopped by its id."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from browser import free_port

REPO = Path(__file__).resolve().parents[1]
ENV = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"PYTHONPATH": str(REPO)}
SEEN = [sys.executable, "-c", "import flows, os; print(os.environ.get('PREFECT_API_URL'))"]


def seen_by_a_stage(cwd: Path) -> str:
    """What PREFECT_API_URL a stage started in `cwd` would use (flows/__init__ runs first)."""
    return subprocess.run(SEEN, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=60).stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    port = free_port()
    log = open(project / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "flows.server", "--serve", "--port", str(port)], cwd=project,
                            env=ENV, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    marker = project / ".prefect" / "api_url"
    try:
        deadline = time.time() + 150
        while not marker.exists():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"make prefect did not come up:\n{(project / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield project, marker.read_text().strip(), proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
        log.close()


def test_the_running_server_is_announced_and_found(served):
    project, url, _ = served
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api")
    with urllib.request.urlopen(url + "/health", timeout=5) as r:
        assert r.status == 200
    assert seen_by_a_stage(project) == url  # a plain `dvc repro` stage reports to it
    out = subprocess.run([sys.executable, "-m", "flows.server", sys.executable, "-c",
                          "import os; print(os.environ['PREFECT_API_URL'])"], cwd=project, env=ENV,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == url  # `make run` uses it instead of starting its own
    assert seen_by_a_stage(project.parent) == "None"  # another folder is another project
    copy = project / ".dvc" / "tmp" / "exps" / "standalone" / "tmpx1y2"  # `dvc exp run --temp`, a queued run
    copy.mkdir(parents=True)
    assert seen_by_a_stage(copy) == url  # an experiment's stages report to their project's server


def test_a_second_server_for_the_same_project_is_refused(served):
    project, url, _ = served
    out = subprocess.run([sys.executable, "-m", "flows.server", "--serve", "--port", str(free_port())], cwd=project,
                         env=ENV, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "already running" in out.stderr and url in out.stderr


def test_stopping_it_removes_the_announcement_and_a_stale_one_is_ignored(served):
    project, url, proc = served
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not (project / ".prefect" / "api_url").exists()
    assert seen_by_a_stage(project) == "None"
    (project / ".prefect" / "api_url").write_text(url + "\n")  # as a killed server would leave it
    assert seen_by_a_stage(project) == "None"
