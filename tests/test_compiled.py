"""torch.compile with an eager fallback (llm_core.compiled), and the training loop with compile on."""
from __future__ import annotations

import functools
import logging

import pytest
import torch

from llm_core.compiled import Compiled
from llm_core.config import TrainConfig
from llm_core.data.loader import TokenWindows
from llm_core.train import train


def broken_backend(graph_module, example_inputs):
    raise RuntimeError("no C++ compiler on this machine")


def test_a_compiler_failure_warns_once_and_runs_the_model_uncompiled(tiny_model, caplog):
    compiled = Compiled(tiny_model, backend=broken_backend)
    x = torch.randint(0, 256, (2, 8))
    with caplog.at_level(logging.WARNING, logger="llm_core.compiled"):
        logits, loss, _ = compiled(x, x)
        compiled(x, x)
    assert not compiled.active and "no C++ compiler on this machine" in compiled.failure
    assert torch.equal(logits, tiny_model(x, x)[0])
    warnings = [r for r in caplog.records if "torch.compile failed" in r.getMessage()]
    assert len(warnings) == 1 and "uncompiled" in warnings[0].getMessage()


def test_an_error_of_the_model_itself_is_not_taken_for_a_compiler_failure(tiny_model):
    compiled = Compiled(tiny_model, backend="eager")  # dynamo traces; no code generation
    too_long = torch.zeros(1, tiny_model.cfg.max_seq_len + 1, dtype=torch.long)
    with pytest.raises(ValueError, match="exceeds the context window"):
        compiled(too_long)
    x = torch.randint(0, 256, (2, 8))
    assert torch.allclose(compiled(x, x)[0], tiny_model(x, x)[0], atol=1e-6) and compiled.active


def test_training_with_compile_on_falls_back_and_trains_the_same(tiny_cfg, byte_tokens, monkeypatch):
    from llm_core import train as train_module
    from llm_core.model import Transformer

    cfg = TrainConfig(max_steps=4, batch_size=2, seq_len=16, warmup_steps=0, eval_interval=0, log_interval=1,
                      device="cpu", precision="fp32")
    data = TokenWindows(byte_tokens, cfg.seq_len, cfg.batch_size, seed=0)
    runs = {}
    for name, compile_on in (("eager", False), ("compiled", True)):
        torch.manual_seed(0)
        model = Transformer(tiny_cfg)
        monkeypatch.setattr(train_module, "Compiled", functools.partial(Compiled, backend=broken_backend))
        runs[name] = train(model, TrainConfig(**{**cfg.__dict__, "compile": compile_on}), data, progress=False)
    assert runs["compiled"].train_loss == pytest.approx(runs["eager"].train_loss, abs=1e-6)
