import json
import math

import numpy as np
import pytest
import torch

from llm_core.config import ModelConfig
from llm_core.data.tokens import TokenFile, TokenWriter, write_tokens
from llm_core.evaluate import evaluate_tokens
from llm_core.model import Transformer


def _uniform_model(vocab=256):
    m = Transformer(ModelConfig(vocab_size=vocab, dim=32, n_layers=1, n_heads=2, max_seq_len=32, tie_embeddings=False))
    torch.nn.init.zeros_(m.lm_head.weight)  # every logit 0: a uniform guess
    return m


def test_uniform_model_scores_log_vocab_and_exact_bits_per_byte(byte_tokens):
    s = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, batch_size=3)
    assert s.tokens == len(byte_tokens) - 1  # every token but the first predicted once
    assert s.loss == pytest.approx(math.log(256), rel=1e-5)
    assert s.perplexity == pytest.approx(256, rel=1e-4)
    # byte-level tokens over ASCII-heavy text: 8 bits per predicted byte, scaled by bytes/token
    expected_bpb = 8.0 * s.tokens / s.bytes
    assert s.bits_per_byte == pytest.approx(expected_bpb, rel=1e-5)


def test_bits_per_byte_uses_the_byte_count_not_tokens(tmp_path):
    ids = np.arange(100) % 256
    write_tokens(tmp_path / "a.bin", ids, 256, n_bytes=400)  # each token stands for 4 bytes
    s = evaluate_tokens(_uniform_model(), TokenFile(tmp_path / "a.bin"), seq_len=32)
    assert s.bits_per_byte == pytest.approx(8.0 / 4, rel=1e-4)


def test_max_tokens_scores_a_prefix_and_scales_bytes(byte_tokens):
    s = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, max_tokens=100)
    assert s.tokens == 100
    assert s.bytes == pytest.approx(byte_tokens.n_bytes * 100 / len(byte_tokens))


def test_trained_model_beats_uniform(byte_tokens, tiny_model):
    from llm_core.config import TrainConfig
    from llm_core.data.loader import TokenWindows
    from llm_core.train import train

    before = evaluate_tokens(tiny_model, byte_tokens, seq_len=64).bits_per_byte
    train(tiny_model, TrainConfig(max_steps=30, batch_size=8, seq_len=64, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                                   eval_interval=0, device="cpu"), TokenWindows(byte_tokens, 64, 8), progress=False)
    after = evaluate_tokens(tiny_model, byte_tokens, seq_len=64).bits_per_byte
    assert after < before * 0.7


def test_token_file_round_trip_and_dtype(tmp_path):
    with TokenWriter(tmp_path / "t.bin", vocab_size=70000) as w:
        w.write([1, 2, 69999], n_bytes=5, documents=1)
        w.write([3], n_bytes=2, documents=1)
    tf = TokenFile(tmp_path / "t.bin")
    assert tf.ids.dtype == np.uint32 and list(tf.ids) == [1, 2, 69999, 3]
    assert tf.meta["documents"] == 2 and tf.n_bytes == 7
    write_tokens(tmp_path / "s.bin", [5, 6], vocab_size=300, n_bytes=2)
    assert TokenFile(tmp_path / "s.bin").ids.dtype == np.uint16


def test_token_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        TokenFile(tmp_path / "nope.bin")
    write_tokens(tmp_path / "t.bin", [1, 2, 3], 256, 3)
    meta = json.loads((tmp_path / "t.json").read_text())
    (tmp_path / "t.json").write_text(json.dumps({**meta, "tokens": 4}))
    with pytest.raises(ValueError, match=r"t\.bin: 6 bytes on disk but metadata says 4 tokens"):
        TokenFile(tmp_path / "t.bin")
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(ValueError, match=r"t\.json: not valid JSON"):
        TokenFile(tmp_path / "t.bin")
    with pytest.raises(ValueError, match="out of range"):
        write_tokens(tmp_path / "u.bin", [1, 300], 256, 2)
    assert not (tmp_path / "u.bin").exists()  # a failed write leaves nothing behind
