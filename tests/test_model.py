import torch

from llm_core.config import ModelConfig, TrainConfig
from llm_core.data.loader import TokenWindows
from llm_core.model import KVCache, Transformer
from llm_core.train import train


def test_parameter_names_follow_hf_llama(tiny_model):
    names = set(tiny_model.state_dict())
    for n in ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight",
              "model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.o_proj.weight",
              "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.down_proj.weight",
              "model.layers.0.input_layernorm.weight", "model.layers.0.post_attention_layernorm.weight"]:
        assert n in names
    assert not any("rope" in n for n in names)  # rotary tables are rebuilt, never saved


def test_gqa_shapes_and_tied_head(tiny_model, tiny_cfg):
    attn = tiny_model.model.layers[0].self_attn
    assert attn.k_proj.weight.shape == (tiny_cfg.kv_heads * tiny_cfg.head_dim, tiny_cfg.dim)
    assert tiny_model.lm_head.weight is tiny_model.model.embed_tokens.weight
    untied = Transformer(ModelConfig(**{**tiny_cfg.__dict__, "tie_embeddings": False}))
    assert untied.lm_head.weight is not untied.model.embed_tokens.weight
    assert untied.num_params() == tiny_model.num_params() + tiny_cfg.vocab_size * tiny_cfg.dim


def test_causality_future_tokens_do_not_change_past_logits(tiny_model):
    tiny_model.eval()
    x = torch.randint(0, 256, (1, 20))
    y = x.clone()
    y[0, 10:] = torch.randint(0, 256, (10,))
    with torch.no_grad():
        a, b = tiny_model(x)[0], tiny_model(y)[0]
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:], atol=1e-3)


def test_kv_cache_logits_equal_full_forward(tiny_model, tiny_cfg):
    tiny_model.eval()
    x = torch.randint(0, 256, (2, 30))
    with torch.no_grad():
        full = tiny_model(x)[0]
        cache = KVCache.empty(tiny_cfg, 2, "cpu", torch.float32)
        parts = [tiny_model(x[:, :11], cache=cache)[0]]  # prefill
        parts += [tiny_model(x[:, i : i + 1], cache=cache)[0] for i in range(11, 20)]  # one by one
        parts.append(tiny_model(x[:, 20:], cache=cache)[0])  # a chunk after the cache
    assert cache.pos == 30
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


def test_attention_maps_are_causal_distributions(tiny_model, tiny_cfg):
    x = torch.randint(0, 256, (1, 12))
    maps = tiny_model.attention_maps(x)
    assert len(maps) == tiny_cfg.n_layers
    a = maps[0]
    assert a.shape == (1, tiny_cfg.n_heads, 12, 12)
    assert torch.allclose(a.sum(-1), torch.ones(1, tiny_cfg.n_heads, 12), atol=1e-5)
    assert torch.all(a.triu(diagonal=1) == 0)
    # the explicit path gives the same output as the fused one
    with torch.no_grad():
        assert torch.allclose(tiny_model(x, want_attn=True)[0], tiny_model(x)[0], atol=1e-5)


def test_context_window_is_enforced(tiny_model, tiny_cfg):
    import pytest

    with pytest.raises(ValueError, match="context window"):
        tiny_model(torch.zeros(1, tiny_cfg.max_seq_len + 1, dtype=torch.long))


def test_overfits_a_short_text_to_near_zero_loss(tiny_model, byte_tokens):
    cfg = TrainConfig(max_steps=200, batch_size=8, seq_len=64, lr=5e-3, min_lr=3e-4, warmup_steps=10,
                      eval_interval=0, log_interval=1000, device="cpu")
    result = train(tiny_model, cfg, TokenWindows(byte_tokens, 64, 8), progress=False)
    assert result.train_loss < 0.15, result.train_loss


def test_flops_per_token_counts_head_once(tiny_model, tiny_cfg):
    n_matmul = tiny_model.num_params() - sum(p.numel() for n, p in tiny_model.named_parameters() if "norm" in n)
    expected = 6 * n_matmul + 12 * tiny_cfg.n_layers * tiny_cfg.dim * 64
    # norms are tiny; the head (tied) must be counted as a matmul
    assert abs(tiny_model.flops_per_token(64) - expected) / expected < 0.01


def test_segment_layout_restarts_positions_and_blocks_other_segments():
    from llm_core.model import segment_layout

    seg = torch.tensor([[0, 0, 0, 1, 1, 2], [0, 0, 0, 0, 0, 0]])
    pos, mask = segment_layout(seg)
    assert pos.tolist() == [[0, 1, 2, 0, 1, 0], [0, 1, 2, 3, 4, 5]]
    assert mask.shape == (2, 1, 6, 6)
    assert mask[0, 0, 4].tolist() == [False, False, False, True, True, False]
    assert torch.equal(mask[1, 0], torch.ones(6, 6, dtype=torch.bool).tril())


def test_rerunning_a_finished_run_reports_its_logged_losses(tiny_cfg, byte_tokens, tmp_path):
    cfg = TrainConfig(max_steps=6, batch_size=2, seq_len=32, warmup_steps=1, eval_interval=3, eval_batches=1,
                      log_interval=2, device="cpu")
    data, val = TokenWindows(byte_tokens, 32, 2), TokenWindows(byte_tokens, 32, 2, eval_batches=1)
    torch.manual_seed(0)
    first = train(Transformer(tiny_cfg), cfg, data, val, out_dir=tmp_path, progress=False)
    again = train(Transformer(tiny_cfg), cfg, data, val, out_dir=tmp_path, progress=False)
    assert (first.resumed_from, again.resumed_from, again.steps) == (0, 6, 6)
    assert again.train_loss == first.train_loss and again.val_loss == first.val_loss
