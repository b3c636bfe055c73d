"""Every params.yaml section is a typed config whose defaults are the shipped file's
values, and every bad value is refused with its key named, before any work."""
import dataclasses
from pathlib import Path

import pytest
import yaml

from llm_core.config import ConfigError
from llm_core.params import SECTIONS, load_section, section_type

PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())


@pytest.mark.parametrize("name", list(SECTIONS))
def test_defaults_are_the_shipped_params(name):
    """A key left out of params.yaml means what the shipped file says: no second default."""
    shipped, default = load_section(name, PARAMS), section_type(name)()
    diff = [f.name for f in dataclasses.fields(default) if getattr(shipped, f.name) != getattr(default, f.name)]
    assert not diff, f"{name}: the dataclass defaults of {diff} differ from params.yaml"


def test_every_section_of_params_yaml_has_a_type():
    assert set(PARAMS) == set(SECTIONS)


def test_a_nested_mapping_changes_only_the_keys_it_names():
    cfg = load_section("finetune", {"finetune": {"train": {"max_steps": 5}}})
    assert cfg.train.max_steps == 5 and cfg.train.seq_len == 128 and cfg.train.lr == 0.004  # finetune's, not generic


BAD = [
    ("tokenizer", {"vocab_size": "4k"}, "tokenizer.vocab_size: expected int, got str '4k'"),
    ("split", {"val_fraction": 1.5}, "split.val_fraction: must be in (0, 1), got 1.5"),
    ("pretrain", {"train": {"eval_batches": 0}}, "pretrain.train.eval_batches: must be > 0"),
    ("pretrain", {"train": {"log_interval": 0}}, "pretrain.train.log_interval: must be > 0"),
    ("pretrain", {"train": {"warmup_steps": -1}}, "pretrain.train.warmup_steps: must be >= 0"),
    ("pretrain", {"train": {"weight_decay": -0.1}}, "pretrain.train.weight_decay: must be >= 0"),
    ("pretrain", {"train": {"precision": "fp16"}}, "pretrain.train.precision: expected one of 'auto', 'fp32', 'bf16'"),
    ("pretrain", {"train": {"device": "gpu"}}, "pretrain.train.device: expected auto, cpu"),
    ("pretrain", {"train": {"seq_len": 512}}, "pretrain.train.seq_len: (512) exceeds model.max_seq_len (256)"),
    ("pretrain", {"model": {"hidden_dim": -3}}, "pretrain.model.hidden_dim: must be > 0, got -3"),
    ("pretrain", {"model": {"dropout": 1.5}}, "pretrain.model.dropout: must be in [0, 1)"),
    ("pretrain", {"model": {"vocab_size": 100}}, "pretrain.model.vocab_size: leave it out"),
    ("pretrain", {"samples": {"temperature": float("nan")}}, "temperature"),
    ("finetune", {"method": "qlora"}, "finetune.method: expected one of 'full', 'lora', got 'qlora'"),
    ("finetune", {"train": {"lr": float("nan")}}, "finetune.train.lr: must be > 0, got nan"),
    ("finetune", {"tasks": {"n_train_per_task": {"repet": 3}}}, "Did you mean 'repeat'?"),
    ("finetune", {"conversations": {"chitchat_max": -1}}, "finetune.conversations.chitchat_max: must be >= 0"),
    ("finetune", {"files": [{"path": "a.jsonl", "format": "csv"}]}, "finetune.files[0].format: expected one of"),
    ("finetune", {"val_every": 1}, "finetune.val_every: must be >= 2"),
    ("collect", {"shard_docs": 0}, "collect.shard_docs: must be > 0, got 0"),
    ("collect", {"sources": []}, "collect.sources: must list at least one source"),
    ("collect", {"sources": [{"kind": "nope"}]}, "collect.sources[0]: kind: expected one of"),
    ("collect", {"on_error": "ignore"}, "collect.on_error: expected one of 'skip', 'error'"),
    ("evaluate", {"temperatures": [-1]}, "evaluate.temperatures: must be >= 0"),
    ("evaluate", {"shots": [0, "1"]}, "evaluate.shots[1]: expected int"),
    ("export", {"dtype": "int8"}, "export.dtype: expected one of"),
    ("clean", {"task_runner": "ray"}, "clean.task_runner: expected one of 'threads', 'dask'"),
    ("sweep", {"sizes": [{"dim": 64, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1, "hidden_dim": 176}]},
     "sweep.sizes: a sweep needs at least two sizes"),
    ("sweep", {"sizes": [{"dim": 65, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1, "hidden_dim": 176}] * 2},
     "sweep.sizes[0]: model.dim (65) must be divisible by model.n_heads (2)"),
    ("sweep", {"budgets": ["tokens", "tokens"]}, "sweep.budgets: list tokens, seconds or both, once each"),
    ("sweep", {"budgets": ["flops"]}, "sweep.budgets[0]: expected one of 'tokens', 'seconds'"),
    ("sweep", {"overrides": {"pretrain.model.dim": 8}}, "sweep.overrides: pretrain.model.dim is what the sweep varies"),
    ("sweep", {"seconds": -5}, "sweep.seconds: must be >= 0"),
]


@pytest.mark.parametrize("section,value,message", BAD, ids=[m.split(":")[0] + "-" + str(i) for i, (_, _, m) in enumerate(BAD)])
def test_a_bad_value_names_its_key(section, value, message):
    with pytest.raises(ConfigError) as err:
        load_section(section, {section: value}, where="params.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("params.yaml: ")


def test_unknown_keys_are_named_with_a_suggestion():
    with pytest.raises(ConfigError, match=r"finetune.train: unknown key 'max_step'. Did you mean 'max_steps'\?"):
        load_section("finetune", {"finetune": {"train": {"max_step": 3}}})


def test_a_chat_file_given_as_a_path_reads_its_format():
    cfg = load_section("finetune", {"finetune": {"files": ["my.jsonl", {"path": "b.json", "format": "alpaca"}]}})
    assert [(f.path, f.format) for f in cfg.files] == [("my.jsonl", "auto"), ("b.json", "alpaca")]
