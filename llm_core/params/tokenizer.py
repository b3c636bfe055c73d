"""The `tokenizer` section: the sentencepiece BPE the stage trains."""
from __future__ import annotations

from dataclasses import dataclass

from ..config import check_limits
from ..tokenizer import NUM_RESERVED_PIECES


@dataclass(frozen=True)
class TokenizerParams:
    vocab_size: int = 4096
    sample_bytes: int = 8_000_000  # how much cleaned text the tokenizer learns from
    character_coverage: float = 0.9995
    heldout_docs: int = 200  # per language, for bytes per token

    LIMITS = {"vocab_size": f"> {NUM_RESERVED_PIECES}", "sample_bytes": "> 0", "character_coverage": "(0, 1]",
              "heldout_docs": ">= 0"}

    def __post_init__(self) -> None:
        check_limits(self)
