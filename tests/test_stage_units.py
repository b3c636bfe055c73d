"""The stages' own small pieces, without running a pipeline: one sentence for a bad
param, a base model that survives a crashed publish, samples written once per step."""
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


def run_stage(tmp_path, stage, params):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    env = {**os.environ, "FORJA_PARAMS": str(path), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", f"flows.{stage}"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("stage,params,key", [
    ("tokenizer", {"tokenizer": {"vocab_size": "4k"}, "split": {}}, "tokenizer.vocab_size"),
    ("tokenize", {"tokenize": {}, "split": {"val_fraction": 1.5}}, "split.val_fraction"),
    ("finetune", {"finetune": {"method": "qlora"}}, "finetune.method"),
    ("pretrain", {"pretrain": {"train": {"eval_batches": 0}}}, "pretrain.train.eval_batches"),
])
def test_a_bad_param_is_one_sentence_that_names_stage_and_key(tmp_path, stage, params, key):
    out = run_stage(tmp_path, stage, params)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr + out.stdout and len(lines) == 1, out.stderr
    assert lines[0].startswith(f"forja {stage} failed: ") and key in lines[0]
    assert f"logs/{stage}.log" in lines[0] and (tmp_path / "logs" / f"{stage}.log").exists()


def test_finetune_checks_its_params_before_touching_its_outputs(tmp_path):
    (tmp_path / "data" / "finetune").mkdir(parents=True)
    (tmp_path / "data" / "finetune" / "tasks_train.jsonl").write_text("kept\n")
    out = run_stage(tmp_path, "finetune", {"finetune": {"tasks": {"n_train_per_task": {"repet": 3}}}})
    assert out.returncode == 1 and "Did you mean 'repeat'?" in out.stderr
    assert (tmp_path / "data" / "finetune" / "tasks_train.jsonl").read_text() == "kept\n"


def test_a_crashed_publish_keeps_the_previous_base_model(tmp_path, monkeypatch):
    from flows import pretrain

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    (run / "checkpoint").mkdir(parents=True)
    (run / "checkpoint" / "model.safetensors").write_text("new weights")
    (run / "checkpoint" / "trainer.safetensors").write_text("optimizer state")
    pretrain.publish(run)
    assert sorted(p.name for p in Path("models/base").iterdir()) == ["model.safetensors"]
    (run / "checkpoint" / "model.safetensors").write_text("newer weights")
    monkeypatch.setattr(pretrain.shutil, "copy", lambda *a: (_ for _ in ()).throw(OSError("disk full")))
    (run / "samples.jsonl").write_text("{}\n")
    with pytest.raises(OSError):
        pretrain.publish(run)
    assert Path("models/base/model.safetensors").read_text() == "new weights"


def test_a_resumed_run_writes_each_steps_samples_once(tmp_path, monkeypatch):
    from flows import pretrain
    from llm_core.params.pretrain import PromptSamples

    tok = SimpleNamespace(bos_id=1, eos_id=2, encode=lambda s, bos: [1], decode=lambda ids: "texto")
    monkeypatch.setattr(pretrain, "generate", lambda *a, **k: SimpleNamespace(ids=[5]))
    path = tmp_path / "samples.jsonl"
    writer = pretrain.SampleWriter(tok, PromptSamples(prompts=("Hola", "Hi")), path)
    for step in (60, 120, 120, 180):  # killed after the samples of step 120, resumed from 60
        writer("eval", {"step": step, "tokens": step * 10, "model": None})
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(r["step"], r["prompt"]) for r in rows] == [(60, "Hola"), (60, "Hi"), (120, "Hola"), (120, "Hi"),
                                                         (180, "Hola"), (180, "Hi")]
