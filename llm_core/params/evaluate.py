"""The `evaluate` section: what is measured and how the fixed prompts are sampled."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..config import FieldError, SampleConfig, check_limits


@dataclass(frozen=True)
class EvaluateParams:
    max_val_tokens: int = 0  # 0: score the whole validation file
    shots: tuple[int, ...] = (0, 1, 3)  # base model prompts with k examples; the chat model is asked 0-shot
    max_items_per_task: int = 0  # 0: every held-out item
    temperatures: tuple[float, ...] = (0.0, 0.8)  # for the fixed prompts
    max_new_tokens: int = 48
    top_k: int = 40
    word_samples: int = 8  # base-model samples per language for the recognisable-words figure
    word_max_new_tokens: int = 64
    word_temperature: float = 0.8
    seed: int = 0
    prompts: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "es": ("Hola, ¿cómo estás?", "¿Qué es un modelo de lenguaje?", "Y dijo Dios"),
        "en": ("Hello, how are you?", "What is a language model?", "It was a fine morning and")})

    LIMITS = {"max_val_tokens": ">= 0", "shots": ">= 0", "max_items_per_task": ">= 0", "temperatures": ">= 0",
              "max_new_tokens": "> 0", "top_k": ">= 0", "word_samples": ">= 0", "word_max_new_tokens": "> 0",
              "word_temperature": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if not self.shots:
            raise FieldError("shots", "must list at least one k (0 for zero-shot)")
        for lang, prompts in self.prompts.items():
            if not prompts:
                raise FieldError(f"prompts.{lang}", "must list at least one prompt")

    def sample_config(self, temperature: float) -> SampleConfig:
        return SampleConfig(max_new_tokens=self.max_new_tokens, temperature=temperature, top_k=self.top_k, seed=self.seed)

    def word_sample_config(self, i: int) -> SampleConfig:
        """The i-th recognisable-words sample: its own seed, so samples differ."""
        return SampleConfig(max_new_tokens=self.word_max_new_tokens, temperature=self.word_temperature,
                            top_k=self.top_k, seed=self.seed + i)
