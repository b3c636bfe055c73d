"""Profiles (profiles/*.yaml): params.yaml's keys that change, run as a DVC experiment
by `make run PROFILE=...` (flows.pipeline --profile)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from flows.pipeline import read_profile
from llm_core.config import ConfigError, ModelConfig
from llm_core.model import Transformer
from llm_core.params.pretrain import PretrainParams

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def in_repo(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("FORJA_PARAMS", raising=False)


def test_the_gpu_profile_is_about_100m_parameters_of_bf16_compiled_training(in_repo):
    overrides = read_profile("profiles/gpu.yaml")
    assert overrides["pretrain.train.compile"] is True and overrides["pretrain.train.precision"] == "bf16"
    shape = {k.rsplit(".", 1)[1]: v for k, v in overrides.items() if k.startswith("pretrain.model.")}
    cfg = ModelConfig(**{**PretrainParams().model.__dict__, **shape, "vocab_size": overrides["tokenizer.vocab_size"]})
    with torch.device("meta"):  # the shape only, no memory
        n = Transformer(cfg).num_params()
    assert 90e6 < n < 130e6 and cfg.max_seq_len == 1024
    tokens = overrides["pretrain.train.max_steps"] * overrides["pretrain.train.batch_size"] * \
        overrides["pretrain.train.grad_accum"] * overrides["pretrain.train.seq_len"]
    assert 1e8 < tokens < 1e9  # hundreds of millions of tokens


def test_every_profile_checks_against_params_yaml(in_repo):
    profiles = sorted((REPO / "profiles").glob("*.yaml"))
    assert profiles
    for profile in profiles:
        assert read_profile(profile)  # every key a field of its section, every value of its type and range


def test_a_wrong_key_or_value_in_a_profile_is_named_before_anything_runs(in_repo, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pretrain:\n  train:\n    lr: -1\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: pretrain\.train\.lr: must be > 0"):
        read_profile(bad)
    bad.write_text("pretrain:\n  trian: {lr: 0.1}\n")
    with pytest.raises(ConfigError, match="trian"):
        read_profile(bad)
    with pytest.raises(ConfigError, match=r"nowhere\.yaml: profile not found \(profiles here: profiles/gpu\.yaml"):
        read_profile("nowhere.yaml")


def test_the_command_line_says_what_is_wrong_with_a_profile(tmp_path):
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # never reached: the profile fails first
    out = subprocess.run([sys.executable, "-m", "flows.pipeline", "run", "--profile", "profiles/none.yaml"], cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("forja pipeline failed: profiles/none.yaml: profile not found")
