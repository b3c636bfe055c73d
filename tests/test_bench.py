"""The benchmarks' own pieces still fit the training loop they time (a change to
the loop's call must not break `python -m bench.train_throughput` unnoticed)."""
import torch

from bench import common
from bench.train_throughput import FixedBatches, HFAsForja
from llm_core.config import ModelConfig, TrainConfig
from llm_core.train import build_optimizer, train_step


def test_both_models_take_a_training_step_through_the_loop():
    cfg = ModelConfig(vocab_size=64, dim=32, n_layers=1, n_heads=2, hidden_dim=64, max_seq_len=16)
    ours, hf = common.build_pair(cfg, torch.device("cpu"))
    data = FixedBatches(64, 2, 16, torch.device("cpu"), seed=0)
    train_cfg = TrainConfig(max_steps=1, batch_size=2, seq_len=16, device="cpu")
    losses = []
    for model in (ours, HFAsForja(hf)):
        opt = build_optimizer(model, train_cfg, torch.device("cpu"))
        losses.append(train_step(model, opt, data, 0, train_cfg, torch.device("cpu"), None))
    # Same weights, same batch: the losses agree up to HF dropping each row's last target.
    assert abs(losses[0] - losses[1]) < 0.05, losses
