"""flows.sweep's pieces that need no pipeline run: the params it starts from and what it sets."""
import pytest
import yaml

from flows.sweep import pretrain_params, size_overrides, sweep_params
from llm_core.config import ConfigError

REPO_PARAMS = "params.yaml"


@pytest.fixture
def params(tmp_path, monkeypatch):
    from pathlib import Path

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / REPO_PARAMS).read_text())
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("FORJA_PARAMS", str(path))
    return data


def test_a_run_replaces_the_sections_budgets_and_keeps_its_sizes(params):
    p = sweep_params(["tokens"], 120, {"finetune.train.max_steps": 400})
    assert p.budgets == ("tokens",) and p.seconds == 120 and p.overrides == {"finetune.train.max_steps": 400}
    assert [s.label for s in p.sizes] == ["d64-l2", "d96-l3", "d128-l4", "d192-l6"]
    assert sweep_params(None, None, None).budgets == ("tokens", "seconds")


def test_a_bad_value_for_the_run_is_named_like_a_params_key(params):
    with pytest.raises(ConfigError, match=r"sweep\.budgets\[0\]: expected one of 'tokens', 'seconds', got 'flops'"):
        sweep_params(["flops"], None, None)


def test_overrides_reach_the_pretrain_config_every_size_starts_from(params):
    pre = pretrain_params({"pretrain.train.max_steps": 480, "finetune.train.max_steps": 300})
    assert pre.train.max_steps == 480 and pre.train.lr == params["pretrain"]["train"]["lr"]
    assert pretrain_params({}).train.max_steps == params["pretrain"]["train"]["max_steps"]
    with pytest.raises(ConfigError, match="pretrain.train.max_steps: must be > 0"):
        pretrain_params({"pretrain.train.max_steps": 0})


def test_a_size_sets_the_five_shape_keys(params):
    size = sweep_params(None, None, None).sizes[0]
    assert size_overrides(size) == {"pretrain.model.dim": 64, "pretrain.model.n_layers": 2, "pretrain.model.n_heads": 2,
                                    "pretrain.model.n_kv_heads": 1, "pretrain.model.hidden_dim": 176}
