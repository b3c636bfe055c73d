"""Generation with the KV cache (llm_core.sample), checked against plain
no-cache forwards of the same model."""
from __future__ import annotations

import pytest
import torch

from llm_core.config import ModelConfig, SampleConfig
from llm_core.model import KVCache, Transformer
from llm_core.sample import (
    StepOutput,
    apply_top_k,
    apply_top_p,
    filter_logits,
    generate,
    generate_text,
    stream,
)
from llm_core.sample import _sample  # the generation loop's sampler, tested directly below

VOCAB, WINDOW = 64, 64
PROMPT = [1, 5, 9, 2, 33, 17]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors: one intra-op thread is fastest and immune to a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> Transformer:
    torch.manual_seed(0)
    m = Transformer(
        ModelConfig(vocab_size=VOCAB, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=WINDOW)
    )
    # The default init (std 0.02) gives nearly uniform next-token distributions;
    # larger weights give peaked, varied ones, so that top-k / top-p cuts and
    # greedy argmaxes are decided by clear margins.
    with torch.no_grad():
        for p in m.parameters():
            if p.dim() == 2:
                p.normal_(0.0, 0.3)
    return m.eval()


def full_logits(model: Transformer, ids: list[int]) -> torch.Tensor:
    """(len(ids), vocab) logits of one forward without a cache: row i predicts ids[i + 1]."""
    with torch.no_grad():
        return model(torch.tensor([ids]))[0][0]


def step_logits(model: Transformer, prompt: list[int], new: list[int]) -> torch.Tensor:
    """No-cache logits that produced each of `new` (which must fit in the window)."""
    seq = prompt + new
    assert len(seq) <= WINDOW
    return full_logits(model, seq)[len(prompt) - 1 : len(seq) - 1]


def nucleus(logits: torch.Tensor, p: float) -> set[int]:
    """Smallest set of most likely tokens with total probability >= p, computed plainly."""
    probs = torch.softmax(logits.double(), dim=-1).tolist()
    order = sorted(range(len(probs)), key=lambda i: -probs[i])
    kept, total = set(), 0.0
    for i in order:
        kept.add(i)
        total += probs[i]
        if total >= p:
            break
    return kept


# --------------------------------------------------------------------------- the KV cache


def test_cached_logits_equal_uncached_logits(model):
    ids = [3, 14, 15, 9, 26, 53, 58, 9, 7, 9, 32, 38, 46, 26, 43]
    ref = full_logits(model, ids)
    cfg = model.cfg
    with torch.no_grad():
        # Prefill 5 tokens, then one token at a time.
        cache = KVCache.empty(cfg, 1, "cpu", torch.float32)
        rows = [model(torch.tensor([ids[:5]]), cache=cache)[0][0]]
        for t in ids[5:]:
            rows.append(model(torch.tensor([[t]]), cache=cache)[0][0])
        one_by_one = torch.cat(rows)
        # Prefill in two chunks (the second attends to the cached first with a mask).
        cache = KVCache.empty(cfg, 1, "cpu", torch.float32, max_len=len(ids))
        a = model(torch.tensor([ids[:6]]), cache=cache)[0][0]
        b = model(torch.tensor([ids[6:]]), cache=cache)[0][0]
        two_chunks = torch.cat([a, b])
    assert cache.pos == len(ids)
    torch.testing.assert_close(one_by_one, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(two_chunks, ref, atol=1e-5, rtol=0)


def test_greedy_equals_argmax_of_uncached_forward(model):
    res = generate(model, PROMPT, SampleConfig(max_new_tokens=40, temperature=0, top_candidates=3))
    assert len(res.ids) == 40
    logits = step_logits(model, PROMPT, res.ids)
    assert res.ids == logits.argmax(-1).tolist()
    # prob (greedy): the temperature-1 probability of the chosen token.
    probs = logits.softmax(-1)
    for i, s in enumerate(res.steps):
        assert s.prob == pytest.approx(probs[i, s.token_id].item(), abs=1e-5)


# --------------------------------------------------------------------------- filters


def test_filter_functions_keep_the_right_tokens():
    logits = torch.tensor([[2.0, 0.5, 3.0, -1.0, 1.0], [0.0, 0.0, 5.0, 4.0, 0.1]])
    k2 = apply_top_k(logits, 2)
    assert torch.isfinite(k2).tolist() == [[True, False, True, False, False], [False, False, True, True, False]]
    assert apply_top_k(logits, 0) is logits
    # Row 0 probs ~ [.23, .05, .63, .01, .08]: 0.6 needs only token 2; 0.8 needs 2 and 0.
    p = apply_top_p(logits[:1], 0.6)
    assert torch.isfinite(p).tolist() == [[False, False, True, False, False]]
    p = apply_top_p(logits[:1], 0.8)
    assert torch.isfinite(p).tolist() == [[True, False, True, False, False]]
    assert torch.isfinite(apply_top_p(logits, 1e-9)).sum(-1).tolist() == [1, 1]  # top token always kept
    kept = filter_logits(logits, 3, 0.999)
    assert torch.isfinite(kept).sum(-1).tolist() == [3, 3]
    assert torch.equal(kept[torch.isfinite(kept)], logits[torch.isfinite(kept)])  # kept values unchanged


def test_top_k_1_equals_greedy(model):
    greedy = generate(model, PROMPT, SampleConfig(max_new_tokens=30, temperature=0))
    for seed in range(3):
        k1 = generate(model, PROMPT, SampleConfig(max_new_tokens=30, temperature=1.5, top_k=1, seed=seed))
        assert k1.ids == greedy.ids


def test_top_k_samples_only_from_the_top_k(model):
    k = 3
    for seed in range(12):
        cfg = SampleConfig(max_new_tokens=WINDOW - len(PROMPT), temperature=2.0, top_k=k, seed=seed)
        res = generate(model, PROMPT, cfg)
        top = step_logits(model, PROMPT, res.ids).topk(k, dim=-1).indices.tolist()
        for tok, allowed in zip(res.ids, top):
            assert tok in allowed


def test_top_p_samples_only_from_the_nucleus(model):
    p, temperature = 0.6, 1.3
    sizes = []
    for seed in range(12):
        cfg = SampleConfig(max_new_tokens=WINDOW - len(PROMPT), temperature=temperature, top_p=p, seed=seed)
        res = generate(model, PROMPT, cfg)
        logits = step_logits(model, PROMPT, res.ids) / temperature
        for tok, row in zip(res.ids, logits):
            kept = nucleus(row, p)
            sizes.append(len(kept))
            assert tok in kept
    assert max(sizes) > 1  # the check is not vacuous: some nuclei hold several tokens


@pytest.mark.parametrize(
    "temperature, top_k, top_p",
    [(1.0, 0, 1.0), (0.5, 0, 1.0), (1.2, 4, 1.0), (1.0, 0, 0.7), (1.5, 6, 0.8)],
)
def test_first_token_frequencies_match_the_filtered_distribution(model, temperature, top_k, top_p):
    """Draw the first token under many seeds: every allowed token shows up about
    as often as its renormalised probability says, and nothing else shows up."""
    draws = 600
    counts = torch.zeros(VOCAB)
    for seed in range(draws):
        cfg = SampleConfig(max_new_tokens=1, temperature=temperature, top_k=top_k, top_p=top_p, seed=seed)
        counts[generate(model, PROMPT, cfg).ids[0]] += 1
    logits = full_logits(model, PROMPT)[-1] / temperature
    allowed = torch.ones(VOCAB, dtype=torch.bool)
    if top_k:
        allowed[:] = False
        allowed[logits.topk(top_k).indices] = True
    if top_p < 1.0:
        kept = nucleus(logits.masked_fill(~allowed, float("-inf")), top_p)
        allowed = torch.tensor([i in kept for i in range(VOCAB)])
    expected = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=-1)
    assert counts[~allowed].sum() == 0
    # About 4 standard deviations of a frequency estimated from 600 draws.
    tol = 4 * torch.sqrt(expected * (1 - expected) / draws) + 1e-3
    assert ((counts / draws - expected).abs() <= tol).all()
    assert (counts[allowed] > 0).sum() >= min(3, int(allowed.sum()))


@pytest.mark.parametrize("top_k, top_p", [(0, 1.0), (0, 0.9), (0, 0.3), (1500, 0.95), (300, 1.0)])
def test_fast_sampler_matches_filter_logits_on_a_large_vocabulary(top_k, top_p):
    """The generation loop samples without a full sort (a widening top-k on CPU,
    inverse-CDF draws). On a flat 3000-token distribution the nucleus is far
    wider than the first top-k it tries: every draw must be allowed by
    `filter_logits`, and draws must spread over the allowed tokens as their
    probabilities say (checked on 8 groups of tokens by rank)."""
    gen = torch.Generator().manual_seed(0)
    logp = torch.log_softmax(torch.randn(3000, generator=gen) * 0.5, dim=-1)
    expected = torch.softmax(filter_logits(logp, top_k, top_p), dim=-1)
    allowed = expected > 0
    draws = 4000
    toks = torch.cat([_sample(logp, top_k, top_p, gen, adaptive=True) for _ in range(draws)])
    assert allowed[toks].all()
    order = expected.argsort(descending=True)[: int(allowed.sum())]
    groups = order.tensor_split(8)
    for g in groups:
        want = expected[g].sum().item()
        got = torch.isin(toks, g).float().mean().item()
        assert abs(got - want) <= 4 * (want * (1 - want) / draws) ** 0.5 + 1e-3
    # The sort-based path (used off CPU) agrees too.
    toks = torch.cat([_sample(logp, top_k, top_p, gen, adaptive=False) for _ in range(500)])
    assert allowed[toks].all()


def test_reported_probabilities(model):
    cfg = SampleConfig(max_new_tokens=30, temperature=0.7, top_k=10, top_p=0.9, seed=1, top_candidates=4)
    res = generate(model, PROMPT, cfg)
    logits = step_logits(model, PROMPT, res.ids)
    tempered = (logits / 0.7).softmax(-1)  # prob: after temperature, before the cuts
    plain = logits.softmax(-1)  # candidates: temperature 1, no cuts
    for i, s in enumerate(res.steps):
        assert s.prob == pytest.approx(tempered[i, s.token_id].item(), abs=1e-5)
        vals, idx = plain[i].topk(4)
        assert [c[0] for c in s.candidates] == idx.tolist()
        assert [c[1] for c in s.candidates] == pytest.approx(vals.tolist(), abs=1e-5)


def test_candidates_sorted_counted_and_bounded(model):
    for temperature in (0.0, 1.0, 0.5):
        cfg = SampleConfig(max_new_tokens=20, temperature=temperature, seed=3, top_candidates=5)
        for s in stream(model, PROMPT, cfg):
            assert isinstance(s, StepOutput)
            assert len(s.candidates) == 5
            probs = [pr for _, pr in s.candidates]
            assert probs == sorted(probs, reverse=True)
            assert all(0.0 <= pr <= 1.0 for pr in probs)
            assert sum(probs) <= 1.0 + 1e-6
            assert len({t for t, _ in s.candidates}) == 5
    none = generate(model, PROMPT, SampleConfig(max_new_tokens=3, temperature=0, top_candidates=0))
    assert all(s.candidates == [] for s in none.steps)


# --------------------------------------------------------------------------- seeds


def test_same_seed_same_tokens_different_seed_different_tokens(model):
    def run(seed):
        return generate(model, PROMPT, SampleConfig(max_new_tokens=30, temperature=1.0, seed=seed)).ids

    assert run(7) == run(7)
    assert run(7) != run(8)
    assert run(None) != run(None)  # unseeded: fresh randomness each time (fails with chance ~0)


# --------------------------------------------------------------------------- stopping


def test_stops_at_first_stop_token_and_excludes_it(model):
    free = generate(model, PROMPT, SampleConfig(max_new_tokens=30, temperature=0))
    # A stop token whose first appearance is a few steps in.
    at = next(i for i, t in enumerate(free.ids) if i >= 3 and t not in free.ids[:i])
    stop = free.ids[at]
    res = generate(model, PROMPT, SampleConfig(max_new_tokens=30, temperature=0), stop_ids=[stop, VOCAB + 5])
    assert res.stopped == "stop_token"
    assert res.ids == free.ids[:at]
    assert len(res.steps) == at + 1
    assert res.steps[-1].token_id == stop and res.steps[-1].is_stop
    assert not any(s.is_stop for s in res.steps[:-1])


def test_max_new_tokens_respected(model):
    for n in (0, 1, 7):
        res = generate(model, PROMPT, SampleConfig(max_new_tokens=n, temperature=0.9, seed=0))
        assert len(res.ids) == len(res.steps) == n
        assert res.stopped == "max_new_tokens"


def test_stream_yields_lazily_and_restores_modes(model):
    model.train()
    it = stream(model, PROMPT, SampleConfig(max_new_tokens=5, temperature=0))
    first = next(it)
    assert isinstance(first, StepOutput)
    # Between steps the caller is not left in inference mode.
    assert not torch.is_inference_mode_enabled()
    assert torch.is_grad_enabled()
    assert len(list(it)) == 4
    assert all(m.training for m in model.modules())  # previous mode restored
    # Mixed modes come back exactly as they were; during generation nothing trains.
    model.eval()
    model.model.layers[0].train()
    seen = []
    for _ in stream(model, PROMPT, SampleConfig(max_new_tokens=2, temperature=0)):
        seen.append(any(m.training for m in model.modules()))
    assert seen == [False, False]
    assert [m.training for m in model.modules()] == [m in set(model.model.layers[0].modules()) for m in model.modules()]
    model.eval()


def test_bad_inputs_raise_clearly(model):
    with pytest.raises(ValueError, match="empty prompt"):
        stream(model, [], SampleConfig())  # raised at the call, not at the first next()
    with pytest.raises(ValueError, match="keep"):
        stream(model, PROMPT, SampleConfig(), keep=WINDOW + 1)


# --------------------------------------------------------------------------- the context window


def _reference_sliding_greedy(model, prompt, n, keep):
    """The documented sliding rule, with a full no-cache forward per token."""
    history = list(prompt)
    ctx = list(prompt) if len(prompt) <= WINDOW else list(prompt[-keep:])
    out = []
    for _ in range(n):
        tok = int(full_logits(model, ctx)[-1].argmax())
        out.append(tok)
        history.append(tok)
        ctx.append(tok)
        if len(ctx) > WINDOW:
            ctx = history[-keep:]
    return out


@pytest.mark.parametrize("keep", [None, 40, WINDOW])
def test_generation_past_the_context_window(model, keep):
    prompt = [(7 * i + 3) % VOCAB for i in range(WINDOW - 4)]
    n = 90  # far more than fits
    res = generate(model, prompt, SampleConfig(max_new_tokens=n, temperature=0), keep=keep)
    assert len(res.ids) == n and res.stopped == "max_new_tokens"
    expect_keep = keep if keep is not None else WINDOW - WINDOW // 4
    assert res.ids == _reference_sliding_greedy(model, prompt, n, expect_keep)
    # Sampling works past the window too.
    sampled = generate(model, prompt, SampleConfig(max_new_tokens=n, temperature=1.0, seed=0), keep=keep)
    assert len(sampled.ids) == n


def test_prompt_longer_than_the_window(model):
    prompt = [(5 * i + 1) % VOCAB for i in range(WINDOW + 30)]
    res = generate(model, prompt, SampleConfig(max_new_tokens=10, temperature=0), keep=50)
    assert res.ids == _reference_sliding_greedy(model, prompt, 10, 50)


# --------------------------------------------------------------------------- text helper


class _CharTokenizer:
    """Duck-typed stand-in: one token per character code (mod VOCAB), BOS = 1."""

    eos_id = 2
    end_of_turn_id = None

    def encode(self, text, bos=False, eos=False):
        return ([1] if bos else []) + [3 + ord(c) % (VOCAB - 3) for c in text]

    def decode(self, ids):
        return "".join(chr(97 + i % 26) for i in ids)


def test_generate_text(model):
    tok = _CharTokenizer()
    cfg = SampleConfig(max_new_tokens=12, temperature=0)
    text = generate_text(model, tok, "hello", cfg)
    res = generate(model, tok.encode("hello", bos=True), cfg, stop_ids=[2])
    assert text == tok.decode(res.ids)


def test_generate_batch_continues_each_row_as_generate_does(tiny_model):
    from llm_core.sample import generate_batch

    g = torch.Generator().manual_seed(3)
    prompts = torch.randint(0, 256, (4, 6), generator=g).tolist()
    cfg = SampleConfig(max_new_tokens=10, temperature=0.0)
    rows = generate_batch(tiny_model, prompts, cfg)
    assert rows == [generate(tiny_model, p, cfg).ids for p in prompts]
    stop = rows[1][3]  # row 1 stops there (and any row that makes the same token)
    stopped = generate_batch(tiny_model, prompts, cfg, stop_ids=[stop])
    assert stopped[1] == rows[1][: rows[1].index(stop)]
    assert all(stop not in r for r in stopped)
    sampled = generate_batch(tiny_model, prompts, SampleConfig(max_new_tokens=10, temperature=1.0, top_k=20, seed=5))
    assert sampled == generate_batch(tiny_model, prompts, SampleConfig(max_new_tokens=10, temperature=1.0, top_k=20, seed=5))
    assert all(len(r) == 10 for r in sampled)


def test_generate_batch_refuses_what_it_cannot_do(tiny_model):
    from llm_core.sample import generate_batch

    with pytest.raises(ValueError, match=r"prompts of one length, got lengths \[2, 3\]"):
        generate_batch(tiny_model, [[1, 2], [1, 2, 3]], SampleConfig(max_new_tokens=2))
    with pytest.raises(ValueError, match="exceed the context window"):
        generate_batch(tiny_model, [[1] * 60], SampleConfig(max_new_tokens=10))
