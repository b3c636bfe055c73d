"""The `pretrain` section: the base model's sizes, its training and the samples it writes."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..config import ConfigError, FieldError, ModelConfig, SampleConfig, TrainConfig
from .launch import LaunchParams


@dataclass(frozen=True)
class PromptSamples:
    """Fixed prompts continued at every evaluation during pre-training."""

    prompts: tuple[str, ...] = ("En el principio", "Dijo el hidalgo", "It is a truth", "The king said")
    max_new_tokens: int = 40
    temperature: float = 0.8
    top_k: int = 40
    seed: int = 0

    def sample_config(self) -> SampleConfig:
        return SampleConfig(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_k=self.top_k,
                            seed=self.seed)

    def __post_init__(self) -> None:
        self.sample_config()  # its own checks name the key


@dataclass(frozen=True)
class PretrainParams:
    """`model.vocab_size` is not a setting: it comes from the tokenizer (`with_vocab`)."""

    model: ModelConfig = ModelConfig(dim=128, n_layers=4, n_heads=4, n_kv_heads=2, hidden_dim=352)
    train: TrainConfig = TrainConfig(max_steps=1440, batch_size=8, lr=0.003, min_lr=0.0003, warmup_steps=30,
                                     optimizer="muon", eval_interval=240, eval_batches=4, checkpoint_interval=240)
    samples: PromptSamples = PromptSamples()
    launch: LaunchParams = LaunchParams()  # one process, or torchrun over GPUs and machines

    def __post_init__(self) -> None:
        if self.train.seq_len > self.model.max_seq_len:
            raise FieldError("train.seq_len", f"({self.train.seq_len}) exceeds model.max_seq_len ({self.model.max_seq_len})")

    @staticmethod
    def check_raw(data: dict[str, Any], where: str) -> None:
        if isinstance(data.get("model"), dict) and "vocab_size" in data["model"]:
            raise ConfigError(f"{where}.model.vocab_size: leave it out; it comes from the tokenizer")

    def with_vocab(self, vocab_size: int) -> ModelConfig:
        return replace(self.model, vocab_size=vocab_size)
