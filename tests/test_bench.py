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


def test_the_recipe_peer_trains_through_forjas_step_and_scores_like_forja():
    """bench.recipe's nanoGPT-style GPT-2 takes the loop's steps and learns a repeating text."""
    import numpy as np
    import pytest

    from bench.recipe import GPT2, RecipeError, parse
    from llm_core.data.loader import TokenWindows

    ids = np.tile(np.arange(16, dtype=np.int64), 64)
    data = TokenWindows(ids, 8, 4, seed=0)
    model = GPT2(vocab=16, dim=32, n_layers=2, n_heads=2, context=8)
    cfg = TrainConfig(max_steps=60, batch_size=4, seq_len=8, lr=3e-3, warmup_steps=5, device="cpu")
    opt = build_optimizer(model, cfg, torch.device("cpu"))
    losses = [train_step(model, opt, data, s, cfg, torch.device("cpu"), None) for s in range(60)]
    assert losses[-1] < 0.5 * losses[0], losses[::10]

    base_model = ModelConfig(vocab_size=64, dim=32, n_layers=2, n_heads=4, n_kv_heads=2)
    base_train = TrainConfig(max_steps=10, batch_size=16, seq_len=16, device="cpu")
    r = parse("forja:batch_size=8,dim=64,warmup=0.1", base_model, base_train)
    assert (r.train_cfg.batch_size, r.model_cfg.dim, r.warmup_share) == (8, 64, 0.1)
    peer = parse("nanogpt:n_heads=2", base_model, base_train)
    assert (peer.model_cfg.n_kv_heads, peer.train_cfg.lr, peer.train_cfg.beta2) == (2, 1e-3, 0.99)
    for bad, words in (("llama", "expected forja"), ("forja:dim", "not key=value"), ("forja:width=3", "unknown key"),
                       ("nanogpt:hidden_dim=64", "unknown key"), ("forja:lr=fast", "not a number")):
        with pytest.raises(RecipeError, match=words):
            parse(bad, base_model, base_train)


def test_a_vocabulary_variant_retokenizes_the_cleaned_text_with_its_own_tokenizer(tmp_path, monkeypatch):
    """bench.recipe --vocab N trains an N-token tokenizer on the cleaned shards as the tokenizer
    stage does and writes train/val token files of the same text (the same bytes, other cuts)."""
    import json
    import random
    import shutil

    import pytest

    from bench import recipe
    from llm_core.data.documents import Document, ShardWriter

    rng = random.Random(0)
    words = "hola mundo casa perro gato río hello world house dog cat river green verde".split()
    docs = [Document(f"d{i}", "s", " ".join(rng.choice(words) for _ in range(60)) + ".", {"lang": "es"})
            for i in range(300)]
    shards = tmp_path / "data" / "clean" / "shards"
    with ShardWriter(shards, max_docs=150) as w:
        w.write_all(docs)
    (shards.parent / "summary.json").write_text(json.dumps({"chars_out": sum(len(d.text) for d in docs)}))
    shutil.copy(recipe.REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.setattr(recipe, "VOCAB_DIR", tmp_path / "cache")
    small, large = (recipe.load_data(tmp_path, v) for v in (300, 400))
    assert (small[0].vocab_size, large[0].vocab_size) == (300, 400)
    total = sum(len(d.text.encode()) for d in docs)
    for train, val in (small, large):
        assert train.n_bytes + val.n_bytes == total and len(val) > 0  # every document, in one split
    assert len(small[0]) > len(large[0])  # a smaller vocabulary cuts the same text into more tokens
    (tmp_path / "bare").mkdir()
    shutil.copy(recipe.REPO / "params.yaml", tmp_path / "bare" / "params.yaml")
    with pytest.raises(SystemExit, match="run `make run`"):  # no cleaned text yet: say what makes it
        recipe.load_data(tmp_path / "bare", 300)


def test_the_gpu_benchmark_runs_end_to_end_at_a_tiny_size():
    """bench.gpu is made for a short GPU loan: every part must run before it is spent there."""
    from bench import gpu

    out = gpu.main(["--quick", "--device", "cpu", "--no-save", "--slice-seconds", "1", "--tokens", "/nonexistent"])
    for part in ("train", "generate_batch1", "generate_batch16", "pretrain_slice"):
        assert "error" not in out[part], out[part]
    assert out["train"]["models"]["forja"]["tokens_per_s"] > 0 and out["train"]["ratio_forja_over_hf"] > 0
    assert out["generate_batch16"]["models"]["forja"]["tokens_per_s"] > 0
    assert out["pretrain_slice"]["curve"] and out["pretrain_slice"]["tokens"] == "random tokens"
