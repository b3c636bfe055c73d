import pytest
import torch

from llm_core.config import ConfigError, ModelConfig, TrainConfig
from llm_core.model import Transformer
from llm_core.optim import MuonAdamW, build_optimizer, lr_at

CPU = torch.device("cpu")


def _model(tie: bool = True) -> Transformer:
    torch.manual_seed(0)
    return Transformer(ModelConfig(vocab_size=64, dim=32, n_layers=2, n_heads=2, max_seq_len=16, tie_embeddings=tie))


def test_wsd_warms_up_holds_then_decays_linearly_to_min_lr():
    cfg = TrainConfig(max_steps=100, lr=1.0, min_lr=0.1, warmup_steps=10, schedule="wsd", decay_share=0.2)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(x == 1.0 for x in lrs[10:80])  # stable until the last 20 steps
    decay = lrs[80:]
    assert all(a > b for a, b in zip(decay, decay[1:]))
    assert decay[-1] == pytest.approx(0.1)
    steps = [a - b for a, b in zip(decay, decay[1:])]
    assert max(steps) - min(steps) < 1e-9  # a straight line


def test_cosine_is_unchanged_by_the_wsd_fields():
    a = TrainConfig(max_steps=50, warmup_steps=5)
    b = TrainConfig(max_steps=50, warmup_steps=5, decay_share=0.5)
    assert [lr_at(s, a) for s in range(50)] == [lr_at(s, b) for s in range(50)]
    assert lr_at(49, a) == pytest.approx(a.min_lr, rel=0.05)


@pytest.mark.parametrize("tie", [True, False])
def test_muon_takes_the_hidden_matrices_and_adamw_the_rest(tie):
    model = _model(tie)
    opt = build_optimizer(model, TrainConfig(optimizer="muon"), CPU)
    assert isinstance(opt, MuonAdamW)
    muon, adamw = opt.parts
    muon_ids = {id(p) for g in muon.param_groups for p in g["params"]}
    names = {n for n, p in model.named_parameters() if id(p) in muon_ids}
    assert names and all("layers." in n and n.endswith("proj.weight") for n in names)
    others = {n for n, p in model.named_parameters() if id(p) not in muon_ids}
    assert "model.embed_tokens.weight" in others and ("lm_head.weight" in others) == (not tie)
    assert len(muon_ids) + sum(len(g["params"]) for g in adamw.param_groups) == len(list(model.parameters()))


def test_muon_state_round_trips_through_its_state_dict():
    model = _model()
    opt = build_optimizer(model, TrainConfig(optimizer="muon", lr=0.01), CPU)
    for _ in range(2):
        x = torch.randint(0, 64, (2, 16))
        model(x, x)[1].backward()
        opt.step()
        opt.zero_grad()
    sd = opt.state_dict()
    assert sorted(sd["state"]) == list(range(len(sd["state"])))  # one index space, like one optimizer
    other = build_optimizer(_model(), TrainConfig(optimizer="muon", lr=0.01), CPU)
    other.load_state_dict(sd)
    for a, b in zip(opt.parts, other.parts):
        for (i, sa), (j, sb) in zip(a.state_dict()["state"].items(), b.state_dict()["state"].items()):
            assert i == j and all(torch.equal(sa[k], sb[k]) for k in sa)
    with pytest.raises(ValueError, match="parameter groups"):
        other.load_state_dict({"state": {}, "param_groups": sd["param_groups"][:1]})


def test_a_muon_step_lowers_the_loss():
    model = _model()
    opt = build_optimizer(model, TrainConfig(optimizer="muon", lr=0.02, weight_decay=0.0), CPU)
    x = torch.randint(0, 64, (4, 16))
    first = float(model(x, x)[1])
    for _ in range(10):
        model(x, x)[1].backward()
        opt.step()
        opt.zero_grad()
    assert float(model(x, x)[1]) < first - 0.5


def test_bad_optimizer_or_schedule_is_refused_by_name():
    from llm_core.config import from_dict
    with pytest.raises(ConfigError, match="optimizer"):
        from_dict(TrainConfig, {"optimizer": "sgd"}, "train")
    with pytest.raises(ConfigError, match="decay_share"):
        TrainConfig(schedule="wsd", decay_share=0.0)


def test_orthogonalize_gives_singular_values_near_one_for_tall_and_wide():
    from llm_core.optim import orthogonalize

    torch.manual_seed(0)
    for shape in ((352, 128), (128, 352), (96, 48)):  # a square random matrix has singular values near 0
        g = torch.randn(*shape) * torch.logspace(-1.5, 0.5, shape[1])  # columns 100x apart in scale
        sv = torch.linalg.svdvals(orthogonalize(g))
        assert sv.shape[0] == min(shape) and 0.6 < sv.min() and sv.max() < 1.25


def test_forja_muon_takes_torch_muons_steps_in_float32():
    from llm_core.optim import Muon

    torch.manual_seed(0)
    ours = torch.nn.Parameter(torch.randn(96, 48))
    theirs = torch.nn.Parameter(ours.detach().clone())
    a = Muon([ours], lr=0.02, weight_decay=0.1, momentum=0.9)
    b = torch.optim.Muon([theirs], lr=0.02, weight_decay=0.1, momentum=0.9, adjust_lr_fn="match_rms_adamw")
    start = ours.detach().clone()
    for _ in range(4):
        g = torch.randn(96, 48)
        ours.grad, theirs.grad = g.clone(), g.clone()
        a.step()
        b.step()
    moved = (ours.detach() - start).norm()
    assert moved > 0.05 and (ours.detach() - theirs.detach()).norm() < 0.02 * moved  # torch's runs in bf16
    b.load_state_dict(a.state_dict())  # the same state layout
    assert torch.equal(b.state[theirs]["momentum_buffer"], a.state[ours]["momentum_buffer"])
    with pytest.raises(ValueError, match="matrices only"):
        Muon([torch.nn.Parameter(torch.ones(3))], lr=0.1)
