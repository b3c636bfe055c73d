import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from llm_core.checkpoint import CheckpointError, load_checkpoint, load_model, load_training_state, save_checkpoint
from llm_core.config import TrainConfig
from llm_core.train import build_optimizer

HERE = Path(__file__).parent


def _train_a_little(model):
    opt = build_optimizer(model, TrainConfig(), torch.device("cpu"))
    x = torch.randint(0, 256, (2, 16))
    model(x, x)[1].backward()
    opt.step()
    return opt


def test_round_trip_restores_weights_config_state_and_optimizer(tmp_path, tiny_model):
    opt = _train_a_little(tiny_model)
    tok = tmp_path / "tok.model"
    tok.write_bytes(b"not really a tokenizer")
    save_checkpoint(tmp_path / "ck", tiny_model, opt, {"step": 7, "tokens_seen": 99}, tokenizer_path=tok)
    model2, ck = load_model(tmp_path / "ck")
    assert ck.model_cfg == tiny_model.cfg and ck.step == 7 and ck.state["tokens_seen"] == 99
    assert ck.tokenizer_path.read_bytes() == tok.read_bytes()
    for (n, a), (_, b) in zip(tiny_model.state_dict().items(), model2.state_dict().items()):
        assert torch.equal(a, b), n
    assert model2.lm_head.weight is model2.model.embed_tokens.weight  # tie survives the trip
    opt2 = build_optimizer(model2, TrainConfig(), torch.device("cpu"))
    load_training_state(ck, opt2)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k]["exp_avg_sq"], s2[k]["exp_avg_sq"])


def test_save_replaces_atomically_and_recovers_interrupted_swap(tmp_path, tiny_model):
    path = tmp_path / "ck"
    save_checkpoint(path, tiny_model, state={"step": 1})
    save_checkpoint(path, tiny_model, state={"step": 2})
    assert load_checkpoint(path).step == 2
    assert not (tmp_path / "ck.tmp").exists() and not (tmp_path / "ck.old").exists()
    path.rename(tmp_path / "ck.old")  # as if killed between the two renames
    assert load_checkpoint(path).step == 2


@pytest.mark.parametrize("damage,match", [
    ("delete:model.safetensors", "model.safetensors"),
    ("garbage:model.safetensors", "not a readable safetensors"),
    ("garbage:forja_config.json", "forja_config.json: not valid JSON"),
    ("json:forja_config.json", "not a forja checkpoint"),
    ("badkey:forja_config.json", "unknown key 'widht'"),
    ("shape:forja_config.json", "shape"),
    ("delete:forja_config.json", "forja_config.json: file missing"),
    ("missing-dir", "checkpoint folder not found"),
])
def test_malformed_checkpoint_gives_clear_error(tmp_path, tiny_model, damage, match):
    path = tmp_path / "ck"
    save_checkpoint(path, tiny_model, state={"step": 1})
    kind, _, name = damage.partition(":")
    if kind == "delete":
        (path / name).unlink()
    elif kind == "garbage":
        (path / name).write_bytes(b"\x00\xffnot what you think" * 3)
    elif kind == "json":
        (path / name).write_text(json.dumps({"hello": 1}))
    elif kind in ("badkey", "shape"):
        cfg = json.loads((path / name).read_text())
        if kind == "badkey":
            cfg["model"]["widht"] = 3
        else:
            cfg["model"]["dim"] = 32
        (path / name).write_text(json.dumps(cfg))
    else:
        path = tmp_path / "nowhere"
    with pytest.raises(CheckpointError, match=match) as err:
        load_model(path)
    assert str(path) in str(err.value)


def test_config_is_not_named_like_a_hugging_face_config(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "ck", tiny_model)
    assert (path / "forja_config.json").exists() and not (path / "config.json").exists()


def test_folder_written_before_the_rename_still_loads(tmp_path, tiny_model):
    path = save_checkpoint(tmp_path / "ck", tiny_model, state={"step": 5})
    (path / "forja_config.json").rename(path / "config.json")
    _, ck = load_model(path)
    assert ck.model_cfg == tiny_model.cfg and ck.step == 5
    (path / "config.json").write_text(json.dumps({"model_type": "llama"}))  # a Hugging Face config is refused
    with pytest.raises(CheckpointError, match="config.json: not a forja checkpoint"):
        load_checkpoint(path)


def _run(out, steps, every, delay, recipe=("adamw", "cosine")):
    return subprocess.Popen([sys.executable, str(HERE / "train_tiny.py"), str(out), str(steps), str(every), str(delay),
                             *recipe])


def _losses(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["train_loss"], r.get("val_loss")) for r in rows]


@pytest.mark.parametrize("recipe", [("adamw", "cosine"), ("muon", "wsd")], ids="-".join)
def test_killed_run_resumes_to_identical_weights_and_curve(tmp_path, recipe):
    steps, every = 40, 10
    ref = tmp_path / "ref"
    assert _run(ref, steps, every, 0, recipe).wait(timeout=120) == 0

    run = tmp_path / "run"
    proc = _run(run, steps, every, 0.05, recipe)
    state = run / "checkpoint" / "state.json"
    deadline, killed_at = time.time() + 120, 0
    while time.time() < deadline and killed_at < 2 * every:  # kill right after the second checkpoint lands
        try:
            killed_at = json.loads(state.read_text())["step"]
        except (OSError, ValueError):  # not written yet, or caught mid-swap (the folder is renamed whole)
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run finished before it could be killed"
    # the kill may land mid-way through writing the next checkpoint: the resume recovers the folder
    assert 2 * every <= killed_at < steps
    assert _run(run, steps, every, 0, recipe).wait(timeout=120) == 0

    a = load_file(ref / "checkpoint" / "model.safetensors")
    b = load_file(run / "checkpoint" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert _losses(ref) == _losses(run)


def test_a_damaged_run_checkpoint_names_the_run_folder_to_delete(tmp_path, tiny_model, byte_tokens):
    from llm_core.checkpoint import CheckpointError
    from llm_core.config import TrainConfig
    from llm_core.data.loader import TokenWindows
    from llm_core.train import train

    cfg = TrainConfig(max_steps=2, batch_size=2, seq_len=16, warmup_steps=0, eval_interval=0, device="cpu", precision="fp32")
    data = TokenWindows(byte_tokens, cfg.seq_len, cfg.batch_size, seed=0)
    run = tmp_path / "run"
    train(tiny_model, cfg, data, out_dir=run, progress=False)
    (run / "checkpoint" / "model.safetensors").write_bytes(b"half a file")
    with pytest.raises(CheckpointError) as err:
        train(tiny_model, cfg, data, out_dir=run, progress=False)
    assert f"delete the folder {run}" in str(err.value) and "model.safetensors" in str(err.value)
