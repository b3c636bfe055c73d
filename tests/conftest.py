"""Shared fixtures: small models and token files that build in milliseconds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from llm_core.config import ModelConfig
from llm_core.data.tokens import TokenFile, write_tokens
from llm_core.model import Transformer

TEXT = (
    "En un lugar de la Mancha vivía un hidalgo. "
    "It is a truth universally acknowledged that a single man wants a wife. "
) * 8


@pytest.fixture
def tiny_cfg() -> ModelConfig:
    return ModelConfig(vocab_size=256, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=64)


@pytest.fixture
def tiny_model(tiny_cfg) -> Transformer:
    torch.manual_seed(0)
    return Transformer(tiny_cfg)


@pytest.fixture
def byte_tokens(tmp_path) -> TokenFile:
    """TEXT as byte-level tokens (vocab 256), with its exact byte count."""
    raw = TEXT.encode("utf-8")
    write_tokens(tmp_path / "bytes.bin", np.frombuffer(raw, dtype=np.uint8), vocab_size=256, n_bytes=len(raw))
    return TokenFile(tmp_path / "bytes.bin")
