"""llm_core.catalog: the checkpoints of a project, broken ones listed with the reason."""
from __future__ import annotations

import json
import os
import shutil

from dashboard_project import tiny_checkpoint, tiny_tokenizer
from llm_core.catalog import find_models


def test_published_and_run_checkpoints_are_listed_chat_first(tmp_path):
    tok = tiny_tokenizer(tmp_path)
    tiny_checkpoint(tmp_path / "models" / "base", tok, "pretrain")
    tiny_checkpoint(tmp_path / "models" / "chat", tok, "finetune")
    old = tiny_checkpoint(tmp_path / "data/cache/pretrain/aaa/checkpoint", tok, "pretrain")
    new = tiny_checkpoint(tmp_path / "data/cache/finetune/bbb/checkpoint", tok, "finetune")
    os.utime(old / "model.safetensors", (1, 1))
    (tmp_path / "models" / "chat-hf").mkdir()  # a Hugging Face export is not a forja checkpoint
    (tmp_path / "models" / "chat-hf" / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    (tmp_path / "models" / "chat-hf" / "model.safetensors").write_bytes(b"x")
    (tmp_path / "models" / "chat-hf" / "tokenizer.json").write_text("{}")
    entries = find_models(tmp_path)
    assert [e.name for e in entries] == ["chat", "base", "finetune run bbb (step 12)", "pretrain run aaa (step 12)"]
    assert [e.kind for e in entries] == ["chat", "base", "chat", "base"]
    assert all(e.loadable and e.parameters and e.context == 64 and e.vocab_size == 320 for e in entries)
    assert entries[2].path == new.relative_to(tmp_path)


def test_an_incomplete_checkpoint_is_listed_with_its_problem(tmp_path):
    tok = tiny_tokenizer(tmp_path)
    ckpt = tiny_checkpoint(tmp_path / "models" / "base", tok, "pretrain")
    (ckpt / "model.safetensors").unlink()
    half = tmp_path / "models" / "half"
    shutil.copytree(tmp_path / "models" / "base", half)
    (half / "forja_config.json").write_text('{"format": "forja-checkpoint", "mod')  # cut mid-write
    entries = {e.name: e for e in find_models(tmp_path)}
    assert "weights file missing" in entries["base"].problem and not entries["base"].loadable
    assert "not a forja checkpoint config" in entries["half"].problem


def test_no_models_is_an_empty_list(tmp_path):
    assert find_models(tmp_path) == []
