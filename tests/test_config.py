import pytest

from llm_core.config import ConfigError, ModelConfig, SampleConfig, TrainConfig, from_dict


def test_builds_from_dict_and_is_frozen():
    cfg = from_dict(ModelConfig, {"dim": 128, "n_heads": 4, "n_kv_heads": 2, "rope_theta": 500000})
    assert cfg.dim == 128 and cfg.kv_heads == 2 and cfg.rope_theta == 500000.0
    with pytest.raises(Exception):
        cfg.dim = 3  # type: ignore[misc]


def test_unknown_key_is_named_with_suggestion_and_valid_keys():
    with pytest.raises(ConfigError) as err:
        from_dict(TrainConfig, {"learning_rate": 1e-3}, where="params.yaml: pretrain.train")
    msg = str(err.value)
    assert "'learning_rate'" in msg and "params.yaml: pretrain.train" in msg
    assert "max_steps" in msg and "warmup_steps" in msg  # lists the valid keys


def test_typo_gets_a_did_you_mean():
    with pytest.raises(ConfigError, match="Did you mean 'n_layers'"):
        from_dict(ModelConfig, {"n_layer": 4})


@pytest.mark.parametrize("key,value", [("dim", "big"), ("tie_embeddings", "yes"), ("n_layers", 2.5), ("dim", True)])
def test_mistyped_value_names_key_and_expected_type(key, value):
    with pytest.raises(ConfigError, match=rf"ModelConfig\.{key}: expected"):
        from_dict(ModelConfig, {key: value})


def test_int_is_accepted_for_float_and_null_for_optional():
    cfg = from_dict(TrainConfig, {"lr": 1, "min_lr": 0})
    assert isinstance(cfg.lr, float)
    assert from_dict(ModelConfig, {"n_kv_heads": None}).kv_heads == ModelConfig().n_heads


@pytest.mark.parametrize(
    "cls,data,match",
    [
        (ModelConfig, {"dim": 100, "n_heads": 3}, "divisible"),
        (ModelConfig, {"n_heads": 4, "n_kv_heads": 3}, "n_kv_heads"),
        (TrainConfig, {"precision": "fp8"}, "precision"),
        (TrainConfig, {"lr": 1e-4, "min_lr": 1e-3}, "min_lr"),
        (SampleConfig, {"top_p": 0}, "top_p"),
        (SampleConfig, {"temperature": -1}, "temperature"),
    ],
)
def test_invalid_values_are_rejected(cls, data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(cls, data)


def test_section_must_be_a_mapping():
    with pytest.raises(ConfigError, match="expected a mapping"):
        from_dict(ModelConfig, [1, 2], where="pretrain.model")  # type: ignore[arg-type]
