"""Data-parallel training on CPU: torchrun with 2 processes on the gloo backend
against one process with the same global batch (llm_core.distributed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from llm_core import distributed
from llm_core.checkpoint import load_model

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "train_ranks.py"
TORCHRUN = Path(sys.executable).with_name("torchrun")
pytestmark = pytest.mark.slow


def run(out: Path, nproc: int, **options) -> subprocess.CompletedProcess:
    args = [str(SCRIPT), str(out), json.dumps(options)]
    if nproc == 1:
        cmd = [sys.executable, *args]
    else:  # a free rendezvous port, so tests running side by side do not meet
        cmd = [str(TORCHRUN), "--standalone", f"--nproc_per_node={nproc}", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(HERE.parent)}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def losses(out: Path) -> dict[int, tuple[float, float | None]]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: (r["train_loss"], r.get("val_loss")) for r in rows}


def assert_same_curve(a: dict, b: dict, tol: float = 1e-5) -> None:
    assert a.keys() == b.keys()
    for step in a:
        for x, y in zip(a[step], b[step]):
            assert (x is None) == (y is None), step
            if x is not None:
                assert abs(x - y) < tol, (step, x, y)


def ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """One process, the reference curve: AdamW with 2 micro-batches a step."""
    out = tmp_path_factory.mktemp("single") / "run"
    ok(run(out, 1, grad_accum=2))
    return out


@pytest.mark.parametrize("parallel", ["ddp", "fsdp"])
def test_two_ranks_follow_one_process_and_their_checkpoint_resumes_in_one(single, tmp_path, parallel):
    """Steps 1-6 on two ranks (no_sync on each step's first micro-batch), a crash at the
    step-6 checkpoint, steps 7-12 in one process: the single process's curve throughout."""
    out = tmp_path / parallel
    crashed = run(out, 2, grad_accum=2, parallel=parallel, stop_at=6)
    if parallel == "fsdp" and "NotImplementedError" in crashed.stderr:  # a PyTorch whose gloo lacks a collective
        pytest.skip(f"FSDP on gloo is not possible with torch {torch.__version__}: {crashed.stderr.splitlines()[-1]}")
    assert crashed.returncode != 0 and json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 6
    assert max(losses(out)) == 6  # only rank 0 wrote: one row per logged step
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 6
    model, ckpt = load_model(out / "checkpoint")  # whole tensors, also from fsdp's shards
    assert ckpt.step == 6 and model.num_params() > 0
    ok(run(out, 1, grad_accum=2))
    assert_same_curve(losses(out), losses(single))


def test_settings_that_cannot_split_are_refused_before_any_work(tmp_path):
    proc = run(tmp_path / "odd", 2, batch_size=3)
    assert proc.returncode != 0
    assert "train.batch_size: 3 rows do not split over 2 ranks" in proc.stderr
    assert not (tmp_path / "odd" / "metrics.jsonl").exists()
    with pytest.raises(distributed.DistributedError, match="train.optimizer: muon needs whole matrices"):
        distributed.check(distributed.Ranks(0, 2, 0), "fsdp", 4, "muon")
    distributed.check(distributed.Ranks(0, 2, 0), "ddp", 4, "muon")  # Muon on whole, replicated matrices


def test_ranks_come_from_torchruns_environment():
    assert distributed.from_env({}) == distributed.Ranks(0, 1, 0)
    ranks = distributed.from_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
    assert ranks.active and not ranks.main
    with pytest.raises(distributed.DistributedError, match="WORLD_SIZE: expected an integer, got 'two'"):
        distributed.from_env({"WORLD_SIZE": "two"})
    with pytest.raises(distributed.DistributedError, match="RANK=2 is not in"):
        distributed.from_env({"RANK": "2", "WORLD_SIZE": "2"})


def test_each_rank_keeps_its_rows_and_the_factor_that_makes_the_mean():
    x = torch.arange(8).view(4, 2)
    y = torch.tensor([[1, -100], [2, 3], [-100, -100], [4, 5]])
    single, weight = distributed.my_rows((x, y), distributed.Ranks())
    assert weight is None and single[0] is x
    (x1, y1), w1 = distributed.my_rows((x, y), distributed.Ranks(1, 2, 1))
    assert x1.tolist() == [[4, 5], [6, 7]] and y1.tolist() == [[-100, -100], [4, 5]]
    assert w1 == pytest.approx(2 / 5)  # N / targets of the whole micro-batch


def test_the_launch_section_makes_the_torchrun_command():
    from llm_core.config import ConfigError
    from llm_core.params.launch import LaunchParams

    assert LaunchParams().command("py", "flows.pretrain", "forja-pretrain") == ["py", "-m", "flows.pretrain"]
    assert LaunchParams(nproc_per_node=8).command("py", "flows.pretrain", "forja-pretrain") == [
        "py", "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=8", "-m", "flows.pretrain"]
    nodes = LaunchParams(nproc_per_node=4, nnodes=2, rdzv_endpoint="node0.example:29500")
    assert nodes.command("py", "flows.finetune", "forja-finetune")[3:] == [
        "--nnodes=2", "--rdzv-backend=c10d", "--rdzv-endpoint=node0.example:29500", "--rdzv-id=forja-finetune",
        "--nproc-per-node=4", "-m", "flows.finetune"]
    with pytest.raises(ConfigError, match="rdzv_endpoint: expected host:port of the first machine when nnodes is 2"):
        LaunchParams(nnodes=2)
