"""llm_core.scaling: a size's cost per step, the steps a wall-clock budget buys, C ≈ 6·N·D."""
import pytest
import torch

from llm_core.config import ModelConfig, TrainConfig
from llm_core.model import Transformer
from llm_core.scaling import ScalingError, parameters, seconds_per_step, steps_for_seconds, training_flops


def test_parameters_of_a_shape_match_the_built_model(tiny_cfg):
    torch.manual_seed(0)
    assert parameters(tiny_cfg) == Transformer(tiny_cfg).num_params()
    wider = ModelConfig(vocab_size=256, dim=128, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=64)
    assert parameters(wider) > parameters(tiny_cfg)


def test_a_bigger_model_takes_longer_a_step_and_gets_fewer_steps(byte_tokens, tiny_cfg):
    train = TrainConfig(max_steps=10, batch_size=4, seq_len=32, device="cpu", precision="fp32")
    big = ModelConfig(vocab_size=256, dim=128, n_layers=4, n_heads=4, n_kv_heads=2, max_seq_len=64)
    small_s, big_s = seconds_per_step(tiny_cfg, train, byte_tokens), seconds_per_step(big, train, byte_tokens)
    assert 0 < small_s < big_s
    assert steps_for_seconds(100 * big_s, small_s) > steps_for_seconds(100 * big_s, big_s) >= 10


def test_a_budget_too_small_for_ten_steps_is_refused():
    assert steps_for_seconds(10.0, 1.0) == 10
    with pytest.raises(ScalingError, match="fit only 9 steps of 1.00 s"):
        steps_for_seconds(9.5, 1.0)


def test_training_compute_is_six_n_d():
    assert training_flops(1_000_000, 2_000_000) == 1.2e13
