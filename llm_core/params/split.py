"""The `split` section, shared by the tokenizer and tokenize stages."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import check_limits


@dataclass(frozen=True)
class SplitParams:
    """Shared by tokenizer (held-out figures) and tokenize: which documents are validation."""

    seed: int = 1234
    val_fraction: float = 0.02  # of documents, chosen by a hash of their id

    LIMITS = {"val_fraction": "(0, 1)"}

    def __post_init__(self) -> None:
        check_limits(self)
