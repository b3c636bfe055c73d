"""The pipeline flow as an operator uses it: served as a deployment, triggered with
`run_deployment`, read back through the Prefect server's REST API.

A real Prefect server on a free loopback port and the served deployment
(`python -m flows.pipeline serve`) are started by the fixtures and stopped by process id."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tiny_project import GIT_IDENTITY, make_tiny_project

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow
STAGES = ["inputs", "collect", "clean", "tokenizer", "tokenize", "pretrain", "finetune", "evaluate", "export"]
RUN = """
import json, sys
from prefect.deployments import run_deployment
run = run_deployment("forja-pipeline/forja", parameters=json.loads(sys.argv[1]), timeout=float(sys.argv[2]))
print(json.dumps({"id": str(run.id), "state": run.state.type.value, "message": run.state.message}))
"""


def api(url: str, path: str, body: dict | None = None):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"}, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(project, api url, env): a committed tiny project, a server, the deployment served."""
    from flows.server import prefect_server

    root = make_tiny_project(tmp_path_factory.mktemp("project"))
    with prefect_server(home=tmp_path_factory.mktemp("prefect")) as url:
        env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PREFECT_API_URL": url, "PYTHONPATH": str(root),
               "DVC_NO_ANALYTICS": "1", **GIT_IDENTITY}
        for cmd in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "tiny project"]):
            assert subprocess.run(cmd, cwd=root, env=env, capture_output=True).returncode == 0, cmd
        log = open(root.parent / "serve.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "flows.pipeline", "serve"], cwd=root, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.time() + 120
            while not api(url, "/deployments/filter", {}):
                assert proc.poll() is None and time.time() < deadline, (root.parent / "serve.log").read_text()[-3000:]
                time.sleep(1)
            yield root, url, env
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            log.close()


def run_deployment(served, parameters: dict, timeout: float = 900) -> dict:
    root, _, env = served
    out = subprocess.run([sys.executable, "-c", RUN, json.dumps(parameters), str(timeout)], cwd=root, env=env,
                         capture_output=True, text=True, timeout=timeout + 60)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def task_runs(url: str, flow_run_id: str) -> dict[str, dict]:
    runs = api(url, "/task_runs/filter", {"flow_runs": {"id": {"any_": [flow_run_id]}}})
    return {r["name"]: r for r in runs}


def artifact_keys(url: str) -> set[str]:
    return {a["key"] for a in api(url, "/artifacts/filter", {}) if a.get("key")}


@pytest.fixture(scope="module")
def first_run(served):
    """The first run, committed as a user commits one: experiments start from its dvc.lock."""
    root, _, env = served
    run = run_deployment(served, {})
    for cmd in (["git", "add", "-A"], ["git", "commit", "-qm", "first run"]):
        subprocess.run(cmd, cwd=root, env=env, capture_output=True)
    return run


def test_a_served_run_has_one_completed_task_per_stage_and_their_artifacts(served, first_run):
    root, url, env = served
    assert first_run["state"] == "COMPLETED", first_run
    flow_run = api(url, f"/flow_runs/{first_run['id']}")
    assert flow_run["state_type"] == "COMPLETED" and flow_run["deployment_id"]
    tasks = task_runs(url, first_run["id"])
    assert set(tasks) == set(STAGES)  # one task run per stage of dvc.yaml, named after it
    assert all(t["state_type"] == "COMPLETED" for t in tasks.values())
    starts = [tasks[s]["start_time"] for s in STAGES]
    assert starts == sorted(starts)  # in DVC's order: every stage after what it depends on
    logs = api(url, "/logs/filter", {"logs": {"task_run_id": {"any_": [tasks["pretrain"]["id"]]}}, "limit": 200})
    text = "\n".join(entry["message"] for entry in logs)
    assert "python -m flows.launch pretrain" in text and "trained to step" in text  # the stage's own output, streamed
    keys = artifact_keys(url)
    for stage in STAGES[1:]:
        assert f"forja-{stage}" in keys and f"forja-{stage}-metrics" in keys, (stage, sorted(keys))
    summary = api(url, "/artifacts/filter", {"artifacts": {"key": {"any_": ["forja-pipeline"]}}})
    assert "| pretrain | ran |" in summary[0]["data"] and "/artifacts/key/forja-pretrain" in summary[0]["data"]
    status = subprocess.run([str(BIN / "dvc"), "status", "--json"], cwd=root, env=env, capture_output=True, text=True)
    assert set(json.loads(status.stdout)) <= {"inputs"}, status.stdout  # always_changed: the rest is up to date


def test_a_bad_param_fails_the_run_naming_the_stage_and_the_key(served, first_run):
    _, url, _ = served
    run = run_deployment(served, {"overrides": {"pretrain.train.max_steps": 0}})
    assert run["state"] == "FAILED"
    assert "stage pretrain failed" in run["message"] and "pretrain.train.max_steps" in run["message"], run
    tasks = task_runs(url, run["id"])
    assert tasks["pretrain"]["state_type"] == "FAILED"
    assert "finetune" not in tasks  # DVC stopped there
    summary = api(url, "/artifacts/filter", {"artifacts": {"key": {"any_": ["forja-pipeline"]}},
                                             "sort": "CREATED_DESC", "limit": 1})
    assert "| pretrain | failed |" in summary[0]["data"] and "| finetune | not reached |" in summary[0]["data"]


def test_two_runs_at_once_queue_and_the_workspace_stays_consistent(served, first_run):
    """Two runs triggered together: the deployment's concurrency limit holds the second until
    the first ends."""
    root, url, env = served
    deployment = api(url, "/deployments/filter", {})[0]
    ids = [api(url, f"/deployments/{deployment['id']}/create_flow_run", {"parameters": {}})["id"] for _ in range(2)]
    deadline = time.time() + 600
    while time.time() < deadline:
        runs = [api(url, f"/flow_runs/{i}") for i in ids]
        if all(r["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for r in runs):
            break
        time.sleep(1)
    assert [r["state_type"] for r in runs] == ["COMPLETED", "COMPLETED"], [r["state"] for r in runs]
    first, second = sorted(runs, key=lambda r: r["start_time"])
    assert second["start_time"] >= first["end_time"]  # one after the other, never together
    status = subprocess.run([str(BIN / "dvc"), "status", "--json"], cwd=root, env=env, capture_output=True, text=True)
    assert set(json.loads(status.stdout)) <= {"inputs"}, status.stdout


def test_a_run_outside_the_deployment_is_refused_while_one_holds_the_project(served, first_run):
    from flows.dvc_run import pipeline_lock

    root, _, env = served
    with pipeline_lock(root, "flow run test-holder, pid 1"):
        out = subprocess.run([sys.executable, "-m", "flows.pipeline", "run"], cwd=root, env=env, capture_output=True,
                             text=True, timeout=300)
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    said = [line for line in out.stderr.splitlines() if line.startswith("forja pipeline failed: ")]
    assert said and "another forja pipeline run is in progress" in said[0] and "test-holder" in said[0], out.stderr


def test_queued_variants_run_with_dvc_queue_and_the_dashboard_reads_them(served, first_run):
    """`dvc exp run --queue -S ...` for several variants (of the export stage: seconds each),
    then `dvc queue start -j 2`."""
    from dashboard import experiments

    root, _, env = served
    dvc = lambda *args: subprocess.run([str(BIN / "dvc"), *args], cwd=root, env=env, capture_output=True,  # noqa: E731
                                       text=True, timeout=300)
    variants = {"q-bf16": "bfloat16", "q-fp16": "float16"}
    for name, dtype in variants.items():
        out = dvc("exp", "run", "--queue", "-n", name, "-S", f"export.dtype={dtype}")
        assert out.returncode == 0 and "Queued experiment" in out.stdout, out.stdout + out.stderr
    started = subprocess.run([str(BIN / "dvc"), "queue", "start", "-j", "2"], cwd=root, env=env, timeout=300,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # the workers it starts keep a pipe open
    assert started.returncode == 0
    try:
        deadline = time.time() + 600
        while time.time() < deadline:
            status = dvc("queue", "status").stdout
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(3)
    finally:
        dvc("queue", "stop")
    assert status.count("Success") >= 2, status + dvc("queue", "logs", "q-bf16").stdout[-2000:]
    exps = {e.name: e for e in experiments.parse(json.loads(dvc("exp", "show", "--json").stdout))}
    for name, dtype in variants.items():
        assert exps[name].state == "done" and exps[name].params["export.dtype"] == dtype
        assert exps[name].metric("metrics/export.json", "dtype") == dtype


def test_the_size_sweep_runs_each_size_as_an_experiment_and_writes_its_curve(served, first_run):
    """The sweep deployment at the tiny profile's two sizes under a 2-second budget: each size's
    steps come from a step timed on this machine, each run is a DVC experiment with its overrides
    (`dvc exp run --temp -S ...`) and the workspace keeps its own params."""
    import csv

    root, url, env = served
    before = (root / "params.yaml").read_text()
    run_deployment_of = RUN.replace("forja-pipeline/forja", "forja-sweep/forja")
    out = subprocess.run([sys.executable, "-c", run_deployment_of, json.dumps({"budgets": ["seconds"], "seconds": 2}),
                          "900"], cwd=root, env=env, capture_output=True, text=True, timeout=960)
    assert out.returncode == 0, out.stderr[-3000:]
    run = json.loads(out.stdout.strip().splitlines()[-1])
    assert run["state"] == "COMPLETED", run
    rows = list(csv.DictReader((root / "plots/sweep/sizes.csv").open()))
    assert [(r["budget"], r["size"]) for r in rows] == [("seconds", "d32-l1"), ("seconds", "d96-l4")]
    small, large = rows
    assert int(small["parameters"]) < int(large["parameters"])
    assert all(int(r["steps"]) >= 10 for r in rows)  # steps from a step timed here (never compared: no timed tests)
    assert all(float(r["bits_per_byte"]) > 0 and 0 <= float(r["chat_macro"]) <= 1 for r in rows)
    assert float(small["compute_flops"]) == pytest.approx(6 * int(small["parameters"]) * int(small["tokens"]), rel=1e-2)
    assert (root / "plots/sweep/sizes.svg").read_text().startswith("<svg")
    assert "| seconds | d96-l4 |" in (root / "reports/sweep.md").read_text()
    assert {"forja-sweep", "forja-sweep-metrics"} <= artifact_keys(url)
    shown = subprocess.run([str(BIN / "dvc"), "exp", "show", "--json"], cwd=root, env=env, capture_output=True, text=True)
    exps = {e["name"]: e for commit in json.loads(shown.stdout) for e in commit.get("experiments") or []}
    params = exps[small["experiment"]]["revs"][0]["data"]["params"]["params.yaml"]["data"]
    assert params["pretrain"]["model"]["dim"] == 32 and params["pretrain"]["train"]["max_steps"] == int(small["steps"])
    large_params = exps[large["experiment"]]["revs"][0]["data"]["params"]["params.yaml"]["data"]
    assert large_params["pretrain"]["model"]["n_layers"] == 4 and large_params["pretrain"]["train"]["max_steps"] == int(
        large["steps"])
    assert params["finetune"]["train"]["max_steps"] == 2  # the sweep's own overrides reach every run
    assert exps[small["experiment"]]["revs"][0]["data"]["metrics"]["metrics/pretrain.json"]["data"]["steps"] == int(
        small["steps"])
    assert (root / "params.yaml").read_text() == before  # each run was an experiment: the workspace is not a variant
    summary = api(url, "/artifacts/filter", {"artifacts": {"key": {"any_": ["forja-pipeline"]}},
                                             "sort": "CREATED_DESC", "limit": 1})[0]["data"]
    assert "| tokenize | up to date |" in summary and "| pretrain | ran |" in summary  # only what a size changes
