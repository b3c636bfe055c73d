"""End to end: the data stages through DVC and Prefect, in a temporary project.

Runs `dvc repro tokenize` on a small corpus of local files, checks every
output and the accounting identities, that a rerun is a no-op, that changing
a clean param reruns clean and what follows but not collect, and that the Dask
task runner writes the same bytes as the default one.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_project import GIT_IDENTITY, make_tiny_project

from llm_core.data.tokens import TokenFile

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory):
    from flows.server import prefect_server

    with prefect_server(home=tmp_path_factory.mktemp("prefect")) as url:
        yield url


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_api):
    root = make_tiny_project(tmp_path_factory.mktemp("project"))
    audit = tmp_path_factory.mktemp("audit")  # what each stage reads (tests/audit/sitecustomize.py)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PREFECT_API_URL": prefect_api,
           "PYTHONPATH": f"{REPO / 'tests' / 'audit'}:{root}", "FORJA_AUDIT_DIR": str(audit),
           "DVC_NO_ANALYTICS": "1", **GIT_IDENTITY}
    run = lambda *cmd: subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)  # noqa: E731
    for cmd in (["git", "init", "-q"], [str(BIN / "dvc"), "init", "-q"],
                [str(BIN / "dvc"), "config", "core.analytics", "false"]):
        assert run(*cmd).returncode == 0
    out = run(str(BIN / "dvc"), "repro")  # every stage
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    reads = {stage: _reads(audit, stage, root) for stage in yaml.safe_load((root / "dvc.yaml").read_text())["stages"]}
    env.pop("FORJA_AUDIT_DIR")
    return root, run, out.stdout, reads


def _reads(audit: Path, stage: str, root: Path) -> set[str]:
    """Paths inside the project that the stage's process read (files and folder listings)."""
    paths = set()
    for f in audit.glob(f"{stage}-*.txt"):
        for line in f.read_text().splitlines():
            p = Path(line)
            if p.is_relative_to(root):
                paths.add(str(p.relative_to(root)))
    return paths


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_every_stage_wrote_its_outputs(project):
    root, _, log, _ = project
    for stage in ("collect", "clean", "tokenizer", "tokenize", "pretrain", "finetune", "evaluate", "export"):
        assert f"Running stage '{stage}'" in log
        assert (root / "metrics" / f"{stage}.json").exists() and (root / "reports" / f"{stage}.md").exists()
    assert (root / "data" / "tokenizer" / "tokenizer.model").exists()
    train, val = TokenFile(root / "data/tokenize/train.bin"), TokenFile(root / "data/tokenize/val.bin")
    assert len(train) > 500 and len(val) > 50 and train.vocab_size == 320


def test_pretrain_published_a_loadable_base_model(project):
    from llm_core.checkpoint import load_model

    root = project[0]
    model, ckpt = load_model(root / "models/base")
    assert ckpt.step == 6 and model.cfg.vocab_size == 320 and ckpt.tokenizer_path is not None
    assert not (root / "models/base/trainer.safetensors").exists()  # optimizer state stays in the run cache
    m = _json(root / "metrics/pretrain.json")
    assert m["steps"] == 6 and m["val_loss"] is not None
    rows = (root / "plots/pretrain/loss.csv").read_text().splitlines()
    assert rows[0] == "step,tokens,train_loss,val_loss,lr" and len(rows) == 7
    samples = [json.loads(x) for x in (root / "models/base/samples.jsonl").read_text().splitlines()]
    assert {s["step"] for s in samples} == {3, 6} and {s["prompt"] for s in samples} == {"El sol", "The dog"}


def test_finetune_and_evaluate_outputs(project):
    from llm_core.chat import encode_chat
    from llm_core.checkpoint import load_model
    from llm_core.config import SampleConfig
    from llm_core.sample import generate
    from llm_core.tokenizer import Tokenizer

    root = project[0]
    ft = _json(root / "metrics/finetune.json")
    assert ft["method"] == "lora" and ft["steps"] == 4 and ft["examples_examples"] > 0
    assert "not_json" in (root / "reports/finetune.md").read_text()  # the bad line of chat.jsonl is counted
    assert "forja smalltalk (x4)" in (root / "reports/finetune.md").read_text()  # the default: on, 4 copies
    held = [json.loads(x) for x in (root / "data/finetune/smalltalk_heldout.jsonl").read_text().splitlines()]
    assert held and {h["lang"] for h in held} == {"es", "en"}
    model, ckpt = load_model(root / "models/chat")  # LoRA merged: plain Llama weights load
    tok = Tokenizer.load(ckpt.tokenizer_path)
    ids = encode_chat(tok, [{"role": "user", "content": "Hola"}], add_generation_prompt=True).ids
    assert ids[:2] == [tok.bos_id, tok.user_id] and ids[-1] == tok.assistant_id
    out = generate(model, ids, SampleConfig(max_new_tokens=8, temperature=0.0), stop_ids=[tok.end_of_turn_id])
    assert out.stopped in ("stop_token", "max_new_tokens")
    ev = _json(root / "metrics/evaluate.json")
    for key in ("base_bits_per_byte", "chat_bits_per_byte", "xz_bits_per_byte", "gzip_bits_per_byte", "bz2_bits_per_byte",
                "base_0shot_macro", "base_1shot_macro", "chat_0shot_macro", "known_words_es", "known_words_en"):
        assert key in ev, key
    assert 0 < ev["xz_bits_per_byte"] < 8 and 0 <= ev["chat_0shot_macro"] <= 1
    assert (root / "plots/evaluate/tasks.csv").read_text().startswith("task,base_0shot,base_1shot,chat_0shot")


def test_export_loads_in_transformers_with_our_chat_template(project):
    transformers = pytest.importorskip("transformers")
    import torch

    from llm_core.chat import encode_chat
    from llm_core.checkpoint import load_model
    from llm_core.tokenizer import Tokenizer

    root = project[0]
    ours, ckpt = load_model(root / "models/chat")
    tok = Tokenizer.load(ckpt.tokenizer_path)
    hf = transformers.AutoModelForCausalLM.from_pretrained(root / "models/chat-hf")
    hf_tok = transformers.AutoTokenizer.from_pretrained(root / "models/chat-hf")
    messages = [{"role": "user", "content": "¿Qué tal, amigo?"}, {"role": "assistant", "content": "Muy bien."},
                {"role": "user", "content": "And you?"}]
    ids = encode_chat(tok, messages, add_generation_prompt=True).ids
    got = hf_tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
    got = got["input_ids"] if not isinstance(got, list) else got
    assert list(got) == ids
    x = torch.tensor([ids[-ours.cfg.max_seq_len:]])
    with torch.no_grad():
        assert (hf(x).logits - ours.eval()(x)[0]).abs().max() < 1e-4


def test_every_document_is_accounted_for(project):
    root = project[0]
    collect, clean = _json(root / "metrics/collect.json"), _json(root / "metrics/clean.json")
    tokenize = _json(root / "metrics/tokenize.json")
    # 24 texts + a copy + French + 6 JSONL rows; the empty file and the broken line are counted skips
    assert collect["documents"] == 32 and collect["skipped"] == 2
    report = (root / "reports/collect.md").read_text()
    assert "rows.jsonl:4" in report and "empty.txt" in report
    dropped = {k: v for k, v in clean.items() if k.startswith("dropped_")}
    assert clean["documents_in"] == collect["documents"]
    assert clean["documents_in"] == clean["documents_out"] + sum(dropped.values())
    assert dropped["dropped_dedup"] >= 1 and dropped["dropped_language"] == 1
    assert tokenize["train_documents"] + tokenize["val_documents"] == clean["documents_out"]
    assert tokenize["train_bytes"] + tokenize["val_bytes"] == clean["es_bytes"] + clean["en_bytes"]


def test_every_file_a_stage_reads_is_a_dep(project):
    """What each stage's process really opened or listed inside the project is covered
    by its deps, its own outputs, its params, its code (tests/test_dvc_deps.py), the
    user's own files (fingerprinted by the inputs stage) or its run cache."""
    root, _, _, reads = project
    stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    user = {"corpus", "rows.jsonl", "chat.jsonl"}  # named in params: the inputs stage's business
    for stage, paths in reads.items():
        assert paths, f"no reads recorded for {stage}: the audit hook did not run"
        spec = stages[stage]
        outs = [next(iter(o)) if isinstance(o, dict) else o for o in spec.get("outs", []) + spec.get("metrics", [])]
        allowed = spec.get("deps", []) + outs + [o + ".tmp" for o in outs]  # an output is built beside itself
        allowed += ["params.yaml", "flows", "llm_core", "logs", "data/cache"]
        fingerprinted = stage == "inputs" or any(d.startswith("data/inputs/") for d in spec.get("deps", []))
        allowed += sorted(user) if fingerprinted else []
        loose = sorted(p for p in paths if p not in (".", "data", "models", "plots", "reports", "metrics")
                       and not any(p == a or p.startswith(a.rstrip("/") + "/") for a in allowed))
        assert not loose, f"dvc.yaml: stage {stage} reads {loose} without declaring them as deps"


def test_editing_a_users_file_reruns_exactly_the_stages_that_read_it(project):
    """The inputs stage fingerprints the files named in params; `dvc repro` (or `dvc repro
    inputs` before `dvc status`) then sees an edit to one of them."""
    root, run, _, _ = project
    text = (root / "corpus" / "es-01.txt").read_text()
    (root / "corpus" / "es-01.txt").write_text(text + " Y llovió.")
    real = run(str(BIN / "dvc"), "repro", "collect")
    assert real.returncode == 0 and "Running stage 'collect'" in real.stdout, real.stdout[-2000:] + real.stderr[-2000:]
    (root / "corpus" / "es-01.txt").write_text(text)  # back: collect writes the same bytes as before
    assert "Running stage 'collect'" in run(str(BIN / "dvc"), "repro", "collect").stdout
    chat = (root / "chat.jsonl").read_text()
    (root / "chat.jsonl").write_text(chat + chat.splitlines()[0] + "\n")
    assert run(str(BIN / "dvc"), "repro", "inputs").returncode == 0
    changed = json.loads(run(str(BIN / "dvc"), "status", "--json", "finetune").stdout)
    assert "finetune" in changed and "collect" not in changed, changed
    (root / "chat.jsonl").write_text(chat)  # as it was: finetune is up to date again
    assert run(str(BIN / "dvc"), "repro", "inputs").returncode == 0
    assert "finetune" not in json.loads(run(str(BIN / "dvc"), "status", "--json", "finetune").stdout)


def test_rerun_is_a_no_op_and_a_clean_param_reruns_clean_not_collect(project):
    root, run, _, _ = project
    again = run(str(BIN / "dvc"), "repro", "tokenize")
    ran = [line for line in again.stdout.splitlines() if "Running stage" in line]
    assert again.returncode == 0 and ran == ["Running stage 'inputs':"], again.stdout  # only the fingerprints
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["clean"]["languages"] = ["es", "en", "fr"]  # the French file now stays: clean's output changes
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    dry = run(str(BIN / "dvc"), "repro", "--dry", "tokenize")  # what DVC would run, without running it
    assert dry.returncode == 0, dry.stderr
    assert "Running stage 'clean'" in dry.stdout and "Running stage 'collect'" not in dry.stdout


def test_dask_runner_writes_the_same_bytes(project, prefect_api, tmp_path):
    root, run, _, _ = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    del params["clean"]["languages"]  # back to the defaults
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert run(str(BIN / "dvc"), "repro", "tokenize").returncode == 0
    ref = {p.name: p.read_bytes() for p in (root / "data/clean/shards").glob("*.parquet")}
    ref_train = (root / "data/tokenize/train.bin").read_bytes()
    for stage in ("clean", "tokenize"):
        params[stage]["task_runner"] = "dask"
    dask_params = tmp_path / "params-dask.yaml"
    dask_params.write_text(yaml.safe_dump(params))
    for stage in ("clean", "tokenize"):
        out = subprocess.run([sys.executable, "-m", f"flows.{stage}"], cwd=root, capture_output=True, text=True,
                             env={**os.environ, "FORJA_PARAMS": str(dask_params), "PYTHONPATH": str(root),
                                  "PREFECT_API_URL": prefect_api}, timeout=600)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert "LocalCluster" in out.stdout + out.stderr  # the tasks really ran on Dask
    got = {p.name: p.read_bytes() for p in (root / "data/clean/shards").glob("*.parquet")}
    assert got == ref and len(ref) >= 2
    assert (root / "data/tokenize/train.bin").read_bytes() == ref_train


def test_pretrain_stage_resumes_after_sigkill(project, prefect_api, tmp_path):
    """Kill the pretrain stage mid-run, run it again: it resumes from its last
    checkpoint and publishes the same weights as an uninterrupted run.
    (Last in this file: it republishes models/base.)"""
    import signal
    import time

    root = project[0]
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["pretrain"]["train"].update(max_steps=400, checkpoint_interval=50, eval_interval=100, log_interval=10)
    params["pretrain"]["samples"]["prompts"] = []
    path = tmp_path / "params-long.yaml"
    path.write_text(yaml.safe_dump(params))
    env = {**os.environ, "FORJA_PARAMS": str(path), "PYTHONPATH": str(root), "PREFECT_API_URL": prefect_api}
    cmd = [sys.executable, "-m", "flows.pretrain"]
    runs = root / "data/cache/pretrain"
    shutil.rmtree(runs, ignore_errors=True)
    assert subprocess.run(cmd, cwd=root, env=env, capture_output=True, timeout=600).returncode == 0
    reference = (root / "models/base/model.safetensors").read_bytes()

    shutil.rmtree(runs)
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        states = list(runs.glob("*/checkpoint/state.json"))
        try:
            if states and json.loads(states[0].read_text())["step"] >= 100:
                break
        except (OSError, ValueError):
            pass  # caught between the renames of a checkpoint save: look again
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the stage finished before it could be killed"
    from llm_core.checkpoint import load_checkpoint

    killed_at = load_checkpoint(states[0].parent).step  # recovers a save the kill interrupted
    assert 100 <= killed_at < 400
    again = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"at step {killed_at}" in again.stdout + again.stderr  # "resumed from ... at step N"
    assert (root / "models/base/model.safetensors").read_bytes() == reference


def test_a_failure_inside_a_flow_ends_in_one_sentence(project, prefect_api, tmp_path):
    """A bad record under on_error: error stops collect inside a Prefect task: the
    console gets no traceback and one last line naming the stage and the file;
    the traceback is in logs/collect.log."""
    root = project[0]
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["collect"]["on_error"] = "error"
    params["collect"]["sources"] = [{**s, "path": str(root / s["path"])} for s in params["collect"]["sources"]
                                    if s["name"] == "rows"]  # run elsewhere: root's outputs stay as they are
    path = tmp_path / "params-strict.yaml"
    path.write_text(yaml.safe_dump(params))
    out = subprocess.run([sys.executable, "-m", "flows.collect"], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "FORJA_PARAMS": str(path), "PYTHONPATH": str(root),
                              "PREFECT_API_URL": prefect_api}, timeout=300)
    shown = out.stdout + out.stderr
    assert out.returncode == 1 and "Traceback" not in shown, shown[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("forja collect failed: ") and "rows.jsonl:4" in last, last
    assert "Traceback" in (tmp_path / "logs" / "collect.log").read_text()


def test_pretrain_and_finetune_stages_run_on_two_ranks(project, prefect_api, tmp_path):
    """launch.nproc_per_node: 2 runs each training stage under torchrun (gloo on CPU):
    rank 0 runs the flow and writes every output, rank 1 trains its share and writes
    only its log. (Last in this file: it republishes models/base and models/chat.)"""
    from llm_core.checkpoint import load_model

    root = project[0]
    params = yaml.safe_load((root / "params.yaml").read_text())
    for stage in ("pretrain", "finetune"):
        params[stage]["launch"] = {"nproc_per_node": 2}
    path = tmp_path / "params-ranks.yaml"
    path.write_text(yaml.safe_dump(params))
    env = {**os.environ, "FORJA_PARAMS": str(path), "PYTHONPATH": str(root), "PREFECT_API_URL": prefect_api,
           "OMP_NUM_THREADS": "1"}
    shutil.rmtree(root / "data/cache", ignore_errors=True)  # train again rather than resume the finished runs
    for stage in ("pretrain", "finetune"):
        out = subprocess.run([sys.executable, "-m", "flows.launch", stage], cwd=root, env=env, capture_output=True,
                             text=True, timeout=600)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        assert f"forja {stage}: python -m torch.distributed.run --standalone --nproc-per-node=2 -m flows.{stage}" in out.stdout
        assert "over 2 ranks" in (root / "logs" / f"{stage}.log").read_text()  # rank 0's log
        assert (root / "logs" / f"{stage}.rank1.log").exists()
    ranked, train = _json(root / "metrics/pretrain.json"), params["pretrain"]["train"]
    assert ranked["steps"] == train["max_steps"]  # the global batch of one process (tests/test_distributed.py: the curve)
    assert ranked["tokens_seen"] == train["max_steps"] * train["batch_size"] * train["seq_len"]
    model, _ = load_model(root / "models/chat")
    assert model.num_params() > 0 and _json(root / "metrics/finetune.json")["steps"] == params["finetune"]["train"]["max_steps"]
    bad = dict(params, pretrain={**params["pretrain"], "launch": {"nproc_per_node": 0}})
    path.write_text(yaml.safe_dump(bad))
    out = subprocess.run([sys.executable, "-m", "flows.launch", "pretrain"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 1 and "pretrain.launch.nproc_per_node: must be > 0, got 0" in out.stderr, out.stderr
