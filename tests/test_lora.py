"""LoRA adapters: exactness at start, what trains, merging, saving, errors."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from llm_core.checkpoint import load_model, save_checkpoint
from llm_core.config import ConfigError, ModelConfig, TrainConfig, from_dict
from llm_core.data.loader import TokenWindows
from llm_core.lora import (LoRAConfig, LoRAError, LoRALinear, apply_lora, load_lora_state_dict, lora_state_dict,
                           merge_lora, trainable_parameters)
from llm_core.model import KVCache, Transformer
from llm_core.train import build_optimizer, estimate_loss, train

CFG = ModelConfig(vocab_size=128, dim=64, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=32)
TEXT = ("the quick brown fox jumps over the lazy dog. " * 40).encode("ascii")
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
MLP = ("gate_proj", "up_proj", "down_proj")


def _model(cfg=CFG, seed=0) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(cfg).eval()


def _idx(seed=1, batch=2, T=16) -> torch.Tensor:
    return torch.randint(0, CFG.vocab_size, (batch, T), generator=torch.Generator().manual_seed(seed))


def _randomise_adapters(model, seed=2, std=0.05) -> None:
    """B starts at zero (a no-op adapter); give it values so merges and caches are really tested."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.weight.copy_(torch.randn(m.lora_B.weight.shape, generator=g) * std)


def _expected_adapter_params(model, names, rank) -> int:
    return sum(rank * (model.get_submodule(n).in_features + model.get_submodule(n).out_features) for n in names)


@pytest.mark.parametrize("targets", [("q_proj", "v_proj"), MLP, ATTN + MLP])
def test_adapted_model_starts_exactly_equal_to_base(targets):
    model = _model()
    x = _idx()
    base_logits = model(x)[0]
    names = apply_lora(model, LoRAConfig(target_modules=targets))
    assert len(names) == CFG.n_layers * len(targets)
    assert all(n.rpartition(".")[2] in targets for n in names)
    assert all(isinstance(model.get_submodule(n), LoRALinear) for n in names)
    assert torch.equal(model(x)[0], base_logits)


@pytest.mark.parametrize("targets,rank", [(("q_proj", "v_proj"), 8), (MLP, 4), (("lm_head",) + ATTN, 2)])
def test_only_adapters_are_trainable_and_optimised(targets, rank):
    model = _model(ModelConfig(**{**CFG.__dict__, "tie_embeddings": False}))
    total_before = sum(p.numel() for p in model.parameters())
    names = apply_lora(model, LoRAConfig(rank=rank, target_modules=targets))
    trainable, total = trainable_parameters(model)
    expected = _expected_adapter_params(model, names, rank)
    assert trainable == expected
    assert total == total_before + expected
    lora_ids = {id(p) for n, p in model.named_parameters() if ".lora_" in n}
    assert len(lora_ids) == 2 * len(names)
    assert {id(p) for n, p in model.named_parameters() if p.requires_grad} == lora_ids
    opt = build_optimizer(model, TrainConfig(), torch.device("cpu"))
    assert {id(p) for g in opt.param_groups for p in g["params"]} == lora_ids


def test_training_moves_adapters_only_and_lowers_the_loss():
    model = _model()
    apply_lora(model, LoRAConfig(rank=8, alpha=16, target_modules=("q_proj", "v_proj")))
    base = {k: v.clone() for k, v in model.state_dict().items() if ".lora_" not in k}
    adapters = lora_state_dict(model)
    ids = np.frombuffer(TEXT, dtype=np.uint8).astype(np.int64)
    data = TokenWindows(ids, seq_len=32, batch_size=4, seed=1, eval_batches=2)
    cpu = torch.device("cpu")
    loss_before = estimate_loss(model, data, cpu)
    cfg = TrainConfig(max_steps=30, batch_size=4, seq_len=32, lr=1e-2, min_lr=1e-3, warmup_steps=3,
                      eval_interval=0, log_interval=10, device="cpu", precision="fp32")
    result = train(model, cfg, data, progress=False)
    assert result.steps == 30
    loss_after = estimate_loss(model, data, cpu)
    assert loss_after < loss_before - 0.15, (loss_before, loss_after)
    after = model.state_dict()
    for k, v in base.items():
        assert torch.equal(after[k], v), f"base weight {k} changed"
    for k, v in lora_state_dict(model).items():
        if k.endswith("lora_B.weight"):
            assert not torch.equal(v, adapters[k]), f"adapter {k} did not train"
            assert v.abs().max() > 0
    assert any(not torch.equal(v, adapters[k]) for k, v in lora_state_dict(model).items() if "lora_A" in k)


def test_interrupted_lora_training_resumes_exactly(tmp_path):
    ids = np.frombuffer(TEXT, dtype=np.uint8).astype(np.int64)
    data = TokenWindows(ids, seq_len=32, batch_size=4, seed=1)
    cfg = TrainConfig(max_steps=4, batch_size=4, seq_len=32, warmup_steps=1, eval_interval=0, checkpoint_interval=2,
                      device="cpu", precision="fp32")

    def adapted():
        model = _model()
        apply_lora(model, LoRAConfig())
        return model

    class Stop(Exception):
        pass

    def stop_at_first_checkpoint(event, info):
        if event == "checkpoint":
            raise Stop

    straight = adapted()
    train(straight, cfg, data, progress=False)
    with pytest.raises(Stop):
        train(adapted(), cfg, data, out_dir=tmp_path, callbacks=[stop_at_first_checkpoint], progress=False)
    resumed = adapted()  # the adapters are part of the checkpoint; apply_lora before resuming
    result = train(resumed, cfg, data, out_dir=tmp_path, progress=False)
    assert result.steps == 4
    want, got = straight.state_dict(), resumed.state_dict()
    assert list(want) == list(got)
    for k in want:
        assert torch.equal(want[k], got[k]), k


@pytest.mark.parametrize("tie", [True, False])
@pytest.mark.parametrize("targets", [("q_proj", "v_proj"), ATTN + MLP])
def test_merge_matches_adapted_model_and_restores_plain_llama_names(tie, targets):
    cfg = ModelConfig(**{**CFG.__dict__, "tie_embeddings": tie})
    model = _model(cfg)
    original = model.state_dict()
    original_keys = list(original)
    apply_lora(model, LoRAConfig(rank=4, alpha=8, target_modules=targets))
    _randomise_adapters(model)
    x = _idx()
    adapted = model(x)[0]
    assert not torch.allclose(adapted, _model(cfg)(x)[0], atol=1e-4)  # the adapters do something
    assert merge_lora(model) is None
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert all(type(model.get_submodule(f"model.layers.0.{p}")) is nn.Linear
               for p in ("self_attn.q_proj", "self_attn.v_proj", "mlp.up_proj"))
    assert torch.allclose(model(x)[0], adapted, atol=1e-5)
    merged = model.state_dict()
    assert list(merged) == original_keys
    assert all(merged[k].shape == original[k].shape for k in original_keys)
    assert all(p.requires_grad for p in model.parameters())
    if tie:
        assert model.lm_head.weight is model.model.embed_tokens.weight
    fresh = Transformer(cfg).eval()
    fresh.load_state_dict(merged, strict=True)
    assert torch.allclose(fresh(x)[0], adapted, atol=1e-5)


def test_merged_model_round_trips_through_a_checkpoint(tmp_path):
    model = _model()
    apply_lora(model, LoRAConfig(target_modules=("q_proj", "v_proj", "down_proj")))
    _randomise_adapters(model)
    x = _idx()
    adapted = model(x)[0]
    merge_lora(model)
    save_checkpoint(tmp_path / "ck", model, state={"step": 30})
    loaded, ck = load_model(tmp_path / "ck")
    assert ck.step == 30
    assert torch.allclose(loaded.eval()(x)[0], adapted, atol=1e-5)
    assert loaded.lm_head.weight is loaded.model.embed_tokens.weight


def test_lora_state_dict_round_trip():
    model = _model()
    names = apply_lora(model, LoRAConfig(rank=4, target_modules=("q_proj", "v_proj")))
    _randomise_adapters(model, seed=5)
    sd = lora_state_dict(model)
    assert set(sd) == {f"{n}.lora_{ab}.weight" for n in names for ab in "AB"}
    assert not any(k.endswith(("q_proj.weight", "v_proj.weight")) for k in sd)
    x = _idx()
    adapted = model(x)[0]

    other = _model()  # same base weights, fresh adapters
    apply_lora(other, LoRAConfig(rank=4, target_modules=("q_proj", "v_proj")))
    assert not torch.allclose(other(x)[0], adapted, atol=1e-4)
    load_lora_state_dict(other, sd)
    assert torch.equal(other(x)[0], adapted)
    for k, v in lora_state_dict(other).items():
        assert torch.equal(v, sd[k])
    # the returned tensors are copies: changing the model does not change them
    with torch.no_grad():
        next(m for m in model.modules() if isinstance(m, LoRALinear)).lora_B.weight.add_(1.0)
    assert torch.equal(lora_state_dict(other)[f"{names[0]}.lora_B.weight"], sd[f"{names[0]}.lora_B.weight"])


def test_load_lora_state_dict_rejects_mismatches():
    model = _model()
    apply_lora(model, LoRAConfig(rank=4, target_modules=("q_proj", "v_proj")))
    sd = lora_state_dict(model)
    wrong_rank = _model()
    apply_lora(wrong_rank, LoRAConfig(rank=2, target_modules=("q_proj", "v_proj")))
    with pytest.raises(LoRAError, match="shape"):
        load_lora_state_dict(wrong_rank, sd)
    wrong_targets = _model()
    apply_lora(wrong_targets, LoRAConfig(rank=4, target_modules=("q_proj",)))
    with pytest.raises(LoRAError, match="unexpected.*v_proj"):
        load_lora_state_dict(wrong_targets, sd)
    with pytest.raises(LoRAError, match="no LoRA adapters"):
        load_lora_state_dict(_model(), sd)


def test_no_matching_target_names_targets_and_available_suffixes():
    model = _model()
    with pytest.raises(LoRAError) as err:
        apply_lora(model, LoRAConfig(target_modules=("query", "value")))
    msg = str(err.value)
    assert "query" in msg and "value" in msg
    for suffix in ATTN + MLP + ("lm_head",):
        assert suffix in msg
    # nothing was frozen or wrapped by the failed call
    assert all(p.requires_grad for p in model.parameters())
    assert not any(isinstance(m, LoRALinear) for m in model.modules())


def test_a_mistyped_target_among_good_ones_is_an_error():
    with pytest.raises(LoRAError, match="qproj"):
        apply_lora(_model(), LoRAConfig(target_modules=("qproj", "v_proj")))


def test_tied_head_cannot_be_a_target_but_untied_head_can():
    tied = _model()
    with pytest.raises(LoRAError, match="embed_tokens"):
        apply_lora(tied, LoRAConfig(target_modules=("lm_head",)))
    untied_cfg = ModelConfig(**{**CFG.__dict__, "tie_embeddings": False})
    untied = _model(untied_cfg)
    assert apply_lora(untied, LoRAConfig(target_modules=("lm_head",))) == ["lm_head"]
    _randomise_adapters(untied)
    x = _idx()
    adapted = untied(x)[0]
    embed = untied.model.embed_tokens.weight.clone()
    merge_lora(untied)
    assert torch.allclose(untied(x)[0], adapted, atol=1e-5)
    assert torch.equal(untied.model.embed_tokens.weight, embed)


def test_tied_model_keeps_its_tie_through_apply_and_merge():
    model = _model()
    n_base = model.num_params()  # the tied matrix once
    names = apply_lora(model, LoRAConfig(target_modules=ATTN + MLP))
    n_adapters = _expected_adapter_params(model, names, 8)
    assert trainable_parameters(model) == (n_adapters, n_base + n_adapters)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    assert not model.lm_head.weight.requires_grad
    merge_lora(model)
    assert model.lm_head.weight is model.model.embed_tokens.weight


def test_dotted_targets_pick_one_kind_of_module():
    names = apply_lora(_model(), LoRAConfig(target_modules=("mlp.up_proj", "layers.1.self_attn.q_proj")))
    assert names == ["model.layers.0.mlp.up_proj", "model.layers.1.self_attn.q_proj", "model.layers.1.mlp.up_proj"]


def test_targets_match_whole_name_parts_only():
    net = nn.Module()
    net.proj, net.out_proj, net.inner = nn.Linear(4, 4), nn.Linear(4, 4), nn.Module()
    net.inner.proj = nn.Linear(4, 2)
    assert apply_lora(net, LoRAConfig(rank=2, target_modules=("proj",))) == ["proj", "inner.proj"]
    assert type(net.out_proj) is nn.Linear and not net.out_proj.weight.requires_grad


def test_applying_twice_or_merging_nothing_is_an_error():
    model = _model()
    apply_lora(model, LoRAConfig())
    with pytest.raises(LoRAError, match="already"):
        apply_lora(model, LoRAConfig(target_modules=("k_proj",)))
    with pytest.raises(LoRAError, match="no LoRA adapters"):
        merge_lora(_model())


def test_kv_cache_forward_and_attention_maps_use_the_adapters():
    model = _model()
    x = _idx(T=12)
    base_maps = model.attention_maps(x)
    apply_lora(model, LoRAConfig(target_modules=ATTN + MLP))
    _randomise_adapters(model, std=0.2)
    full = model(x)[0]
    cache = KVCache.empty(CFG, batch=x.shape[0], device="cpu", dtype=torch.float32)
    parts = [model(x[:, :5], cache=cache)[0]]
    parts += [model(x[:, t : t + 1], cache=cache)[0] for t in range(5, 12)]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)
    maps = model.attention_maps(x)
    assert len(maps) == CFG.n_layers and maps[0].shape == (2, CFG.n_heads, 12, 12)
    assert torch.allclose(maps[0].sum(-1), torch.ones(2, CFG.n_heads, 12), atol=1e-5)
    assert not torch.allclose(maps[0], base_maps[0], atol=1e-4)  # q/k adapters change attention


def test_dropout_touches_only_the_adapter_path():
    model = _model()
    x = _idx()
    base = model(x)[0]
    apply_lora(model, LoRAConfig(dropout=0.5, target_modules=ATTN))
    model.train()
    assert torch.equal(model(x)[0], base)  # B = 0: dropout on the adapter input changes nothing
    _randomise_adapters(model, std=0.2)
    torch.manual_seed(0)
    a = model(x)[0]
    torch.manual_seed(1)
    b = model(x)[0]
    assert not torch.equal(a, b)  # dropout is active in training
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])


def test_lora_linear_computes_the_low_rank_update():
    torch.manual_seed(0)
    base = nn.Linear(6, 5, bias=True)
    lora = LoRALinear(base, rank=3, alpha=6.0)
    assert lora.weight is base.weight and lora.bias is base.bias
    assert not base.weight.requires_grad and not base.bias.requires_grad
    assert torch.count_nonzero(lora.lora_A.weight) > 0 and torch.count_nonzero(lora.lora_B.weight) == 0
    with torch.no_grad():
        lora.lora_B.weight.normal_()
    x = torch.randn(4, 6)
    A, B = lora.lora_A.weight, lora.lora_B.weight
    expected = base(x) + (x @ A.T @ B.T) * 2.0
    assert torch.allclose(lora(x), expected, atol=1e-6)
    merged = lora.merged()
    assert type(merged) is nn.Linear and merged.weight is base.weight
    assert torch.allclose(merged(x), expected, atol=1e-5)


def test_lora_config_from_dict_and_validation():
    cfg = from_dict(LoRAConfig, {"rank": 4, "alpha": 8, "target_modules": ["q_proj", "gate_proj"]}, where="lora")
    assert cfg == LoRAConfig(rank=4, alpha=8.0, target_modules=("q_proj", "gate_proj"))
    assert cfg.scale == 2.0
    assert LoRAConfig().rank == 8 and LoRAConfig().alpha == 16 and LoRAConfig().dropout == 0.0
    assert LoRAConfig().target_modules == ("q_proj", "v_proj")
    with pytest.raises(ConfigError, match="ranks"):
        from_dict(LoRAConfig, {"ranks": 4}, where="lora")
    with pytest.raises(ConfigError, match="rank"):
        LoRAConfig(rank=0)
    with pytest.raises(ConfigError, match="dropout"):
        LoRAConfig(dropout=1.0)
    with pytest.raises(ConfigError, match="target_modules"):
        LoRAConfig(target_modules="q_proj")
    with pytest.raises(ConfigError, match="target_modules"):
        LoRAConfig(target_modules=())
