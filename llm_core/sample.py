"""Text generation with the KV cache: one token at a time, as a stream.

`stream` is the core: it runs the prompt through the model once ("prefill"),
filling a preallocated `KVCache`, then feeds back one token per step, so each
new token costs one forward over a single position instead of the whole text.
Every step yields a `StepOutput` the moment the token exists (the dashboard
prints it as it arrives). `generate` collects a stream; `generate_text` adds
a tokenizer on both ends; `generate_batch` continues several prompts of one
length together, one forward per step for all of them.

How the next token is picked (`SampleConfig`):

1. temperature: the logits are divided by it (0 means greedy: take the argmax);
2. top-k: only the k most likely tokens stay (0 = off);
3. top-p (nucleus): of those, the smallest set of most likely tokens whose
   probabilities add up to at least p stays (1.0 = off); the most likely token
   always stays;
4. a token is drawn from the softmax of what is left, using a `torch.Generator`
   seeded from `cfg.seed` (same seed, same model, same prompt: same tokens).

The context window. The model has positions for `model.cfg.max_seq_len` tokens
only. When the text (prompt plus what was generated) no longer fits, generation
slides instead of stopping: the oldest tokens are dropped, the newest `keep`
tokens (by default three quarters of the window) are run through the model
again from position 0 into the same cache, and generation goes on from there.
From then on the model no longer sees the dropped beginning of the text. The
same rule crops a prompt that is longer than the window. Keeping less than the
whole window means a re-prefill happens only every `max_seq_len - keep` tokens
instead of on every token; `keep=max_seq_len` gives an exact sliding window
(the model always sees the last max_seq_len tokens) at the price of one full
forward per token once the window is full.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch

from .config import SampleConfig
from .model import KVCache

__all__ = [
    "StepOutput",
    "GenerationResult",
    "apply_top_k",
    "apply_top_p",
    "filter_logits",
    "stream",
    "generate",
    "generate_batch",
    "generate_text",
]


# --------------------------------------------------------------------------- filters


def apply_top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits along the last dimension; set the rest to -inf.

    k <= 0 or k >= vocabulary size: no cut. Tokens tied with the k-th largest
    value are all kept. Returns a new tensor (the input is not modified).
    """
    if k <= 0 or k >= logits.size(-1):
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def apply_top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Nucleus filter: keep the smallest set of most likely tokens whose
    probabilities (softmax of `logits`) sum to at least p; set the rest to -inf.

    The most likely token is always kept. p >= 1: no cut. Returns a new tensor.
    """
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = sorted_logits.float().softmax(dim=-1)
    # Probability mass strictly before each token in sorted order. A token is
    # needed while the mass before it is still short of p; the first token has
    # 0 before it, so it is always kept.
    before = probs.cumsum(dim=-1) - probs
    drop_sorted = before >= p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Top-k, then top-p, on (already temperature-scaled) logits of shape (..., vocab).

    As in Hugging Face's samplers, the nucleus is taken from the distribution
    left after the top-k cut (renormalised). Removed tokens get -inf.
    """
    return apply_top_p(apply_top_k(logits, top_k), top_p)


# --------------------------------------------------------------------------- results


@dataclass
class StepOutput:
    """One generated token.

    token_id:   the token that was picked.
    prob:       its probability under softmax(logits / temperature): the
                temperature-scaled distribution *before* the top-k / top-p cut,
                so it says how likely the model (at this temperature) found the
                token, not the renormalised chance it had after the cut. With
                temperature 0 (greedy) it is the plain softmax(logits), the
                temperature-1 probability, since the T -> 0 limit would always be 1.
    candidates: the `cfg.top_candidates` most likely tokens with their
                probabilities under softmax(logits) of the raw logits (temperature
                1, no cut): what the model itself "thinks", independent of the
                sampling settings. Sorted by probability, most likely first.
    is_stop:    the token is one of the stop tokens; it is the last step.
    """

    token_id: int
    prob: float
    candidates: list[tuple[int, float]] = field(default_factory=list)
    is_stop: bool = False


@dataclass
class GenerationResult:
    """ids: the new tokens, the stop token excluded; steps: every StepOutput,
    the stop step included; stopped: "stop_token" or "max_new_tokens"."""

    ids: list[int]
    steps: list[StepOutput]
    stopped: str


# --------------------------------------------------------------------------- generation


def stream(
    model: torch.nn.Module,
    prompt_ids: Iterable[int],
    cfg: SampleConfig,
    stop_ids: Iterable[int] = (),
    *,
    keep: int | None = None,
) -> Iterator[StepOutput]:
    """Generate up to `cfg.max_new_tokens` tokens after `prompt_ids`, yielding
    each as soon as it is made (batch 1).

    Stops after max_new_tokens, or right after yielding a token from `stop_ids`
    (that step has is_stop=True; the caller decides whether to show it).
    `keep`: how many of the newest tokens stay when the text outgrows the
    context window (default: 3/4 of model.cfg.max_seq_len; see the module
    docstring). The model is put in eval mode and restored to its previous mode
    when the stream ends or is closed; the work runs under torch.inference_mode,
    which is switched off again while the caller handles each step.

    Raises ValueError at once (not on the first `next`) if the prompt is empty
    or `keep` is out of range.
    """
    prompt = [int(t) for t in prompt_ids]
    if not prompt:
        raise ValueError("cannot generate from an empty prompt: give at least one token (e.g. BOS)")
    window = model.cfg.max_seq_len
    if keep is None:
        keep = max(1, window - max(1, window // 4))
    if not 1 <= keep <= window:
        raise ValueError(f"keep must be between 1 and the context window ({window}), got {keep}")
    vocab = model.cfg.vocab_size
    bad = [t for t in prompt if not 0 <= t < vocab]
    if bad:
        raise ValueError(f"prompt token ids must be in [0, {vocab}), got {bad[:5]}")
    return _stream(model, prompt, cfg, frozenset(int(t) for t in stop_ids), keep)


@torch.inference_mode()
def _stream(model, prompt: list[int], cfg: SampleConfig, stops: frozenset[int], keep: int) -> Iterator[StepOutput]:
    # torch.inference_mode as a decorator on a generator function enters the
    # mode around each resumption only, so the caller's code between steps runs
    # in whatever grad mode it had (a `with` inside a generator would leak).
    n_new = cfg.max_new_tokens
    if n_new == 0:
        return
    window = model.cfg.max_seq_len
    weight = model.lm_head.weight
    device, dtype = weight.device, weight.dtype

    gen = torch.Generator(device=device)
    if cfg.seed is None:
        gen.seed()  # nondeterministic
    else:
        gen.manual_seed(cfg.seed)

    greedy = cfg.temperature == 0
    temperature = float(cfg.temperature)
    vocab = model.cfg.vocab_size
    top_k = cfg.top_k if 0 < cfg.top_k < vocab else 0
    top_p = cfg.top_p
    n_cand = min(max(cfg.top_candidates, 0), vocab)
    # On CPU a full-vocabulary sort costs far more than a partial top-k, so the
    # nucleus is searched among a growing top-k; elsewhere sorting is cheap.
    adaptive = device.type == "cpu"

    ctx = prompt if len(prompt) <= window else prompt[-keep:]
    # The tokens in the window now (those in the cache plus the newest), kept
    # only to re-prefill when the window slides.
    history = list(ctx)
    capacity = min(window, len(ctx) + n_new)

    # eval mode (no dropout), restoring each submodule's previous mode at the
    # end; flipping only the modules that were training is much cheaper than
    # model.eval() / model.train(), which matters for short generations.
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        cache = KVCache.empty(model.cfg, 1, device, dtype, max_len=capacity)
        logits = model(torch.tensor([ctx], dtype=torch.long, device=device), cache=cache)[0][0, -1]
        for step in range(n_new):
            raw = logits.float()
            if greedy:
                # One topk gives the argmax, its probability and the candidates.
                logp = torch.log_softmax(raw, dim=-1)
                vals, idx = torch.topk(logp, max(n_cand, 1))
                tok = idx[:1]
                packed = torch.cat((idx.float(), vals.exp()))
                k = idx.numel()
                # Ids travel as float32 in the packed tensor: exact below 2**24.
                host = packed.tolist()  # the one device -> host sync of this step
                token_id, prob = int(host[0]), host[k]
                cands = list(zip((int(i) for i in host[:n_cand]), host[k : k + n_cand]))
            else:
                scaled = raw if temperature == 1.0 else raw / temperature
                logp_t = torch.log_softmax(scaled, dim=-1)  # tempered, before the cuts
                tok = _sample(logp_t, top_k, top_p, gen, adaptive)
                parts = [tok.float(), logp_t.gather(0, tok).exp()]
                if n_cand:
                    logp_raw = logp_t if temperature == 1.0 else torch.log_softmax(raw, dim=-1)
                    vals, idx = torch.topk(logp_raw, n_cand)
                    parts += [idx.float(), vals.exp()]
                host = torch.cat(parts).tolist()  # the one device -> host sync of this step
                token_id, prob = int(host[0]), host[1]
                cands = list(zip((int(i) for i in host[2 : 2 + n_cand]), host[2 + n_cand :]))

            is_stop = token_id in stops
            yield StepOutput(token_id, prob, cands, is_stop)
            if is_stop or step == n_new - 1:
                return  # no forward for a token nobody will read

            history.append(token_id)
            if cache.pos < window:
                logits = model(tok.view(1, 1), cache=cache)[0][0, -1]
            else:
                # Window full: slide. Drop the oldest tokens and re-encode the
                # newest `keep` (the token just made included) from position 0,
                # overwriting the same cache.
                cache.pos = 0
                history = history[-keep:]
                logits = model(torch.tensor([history], dtype=torch.long, device=device), cache=cache)[0][0, -1]
    finally:
        for m in training:
            m.training = True


def _draw(probs: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Index (shape (1,)) drawn with chance proportional to the 1-D `probs`
    (unnormalised is fine; zero entries are never drawn), by inverting the
    cumulative sum with one uniform number: much cheaper on CPU than
    torch.multinomial, which draws a random number per entry."""
    cdf = probs.cumsum(0)
    total = cdf[-1:]
    u = torch.rand(1, generator=gen, device=probs.device, dtype=cdf.dtype) * total
    u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))  # u < total even after rounding
    return torch.searchsorted(cdf, u, right=True)  # first i with cdf[i] > u


def _sample(logp: torch.Tensor, top_k: int, top_p: float, gen: torch.Generator, adaptive: bool) -> torch.Tensor:
    """Draw a token id (shape (1,)) from the 1-D log-probabilities `logp`
    (temperature already applied) after the top-k and top-p cuts; the same
    cuts as `filter_logits`, without touching the whole vocabulary when it can."""
    if not top_k and top_p >= 1.0:
        return _draw(logp.exp(), gen)
    vocab = logp.numel()
    if top_k:
        vals, idx = torch.topk(logp, top_k)  # sorted, most likely first
        probs = torch.softmax(vals, dim=0)  # renormalised after the top-k cut
        cdf = probs.cumsum(0)
    elif adaptive:
        # Most nuclei are small: look among the top 256, widening until they
        # hold at least p of the mass (the whole vocabulary at worst).
        k = min(256, vocab)
        while True:
            vals, idx = torch.topk(logp, k)
            probs = vals.exp()
            cdf = probs.cumsum(0)
            if k == vocab or float(cdf[-1]) >= top_p:
                break
            k = min(4 * k, vocab)
    else:
        vals, idx = torch.sort(logp, descending=True)
        probs = vals.exp()
        cdf = probs.cumsum(0)
    if top_p < 1.0:
        # Keep a token while the mass before it is short of p (the first always).
        probs = probs * ((cdf - probs) < top_p)
    return idx[_draw(probs, gen)]


def generate(
    model: torch.nn.Module,
    prompt_ids: Iterable[int],
    cfg: SampleConfig,
    stop_ids: Iterable[int] = (),
    *,
    keep: int | None = None,
) -> GenerationResult:
    """Run `stream` to the end. `.ids` excludes the stop token, `.steps` keeps it."""
    steps = list(stream(model, prompt_ids, cfg, stop_ids, keep=keep))
    stopped = "stop_token" if steps and steps[-1].is_stop else "max_new_tokens"
    ids = [s.token_id for s in steps if not s.is_stop]
    return GenerationResult(ids=ids, steps=steps, stopped=stopped)


@torch.inference_mode()
def generate_batch(
    model: torch.nn.Module,
    prompts: list[list[int]],
    cfg: SampleConfig,
    stop_ids: Iterable[int] = (),
) -> list[list[int]]:
    """Continue several prompts of the same length at once, one forward per step for
    all rows (what a server or an evaluation over many prompts wants: the matmuls of
    B rows cost little more than one row's on a GPU). Each row stops at its first stop
    token (excluded from its ids) or after cfg.max_new_tokens; rows that stopped keep
    riding along until every row has. The text must fit the context window (no
    sliding, unlike `stream`). Temperature, top-k and top-p as in `stream`, the draws
    from one generator seeded by cfg.seed; no per-step candidates."""
    if not prompts or any(len(p) != len(prompts[0]) for p in prompts) or not prompts[0]:
        raise ValueError(f"generate_batch needs non-empty prompts of one length, got lengths {sorted({len(p) for p in prompts})}")
    window, n_new = model.cfg.max_seq_len, cfg.max_new_tokens
    if len(prompts[0]) + n_new > window:
        raise ValueError(f"prompt ({len(prompts[0])}) + max_new_tokens ({n_new}) exceed the context window ({window})")
    device, dtype = model.lm_head.weight.device, model.lm_head.weight.dtype
    gen = torch.Generator(device=device)
    if cfg.seed is None:
        gen.seed()
    else:
        gen.manual_seed(cfg.seed)
    stops = torch.tensor(sorted({int(t) for t in stop_ids}) or [-1], device=device)
    rows = len(prompts)
    out = torch.empty(rows, n_new, dtype=torch.long, device=device)
    done = torch.zeros(rows, dtype=torch.bool, device=device)
    lengths = torch.full((rows,), n_new, dtype=torch.long, device=device)
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        cache = KVCache.empty(model.cfg, rows, device, dtype, max_len=len(prompts[0]) + n_new)
        logits = model(torch.tensor(prompts, dtype=torch.long, device=device), cache=cache)[0][:, -1]
        for step in range(n_new):
            if cfg.temperature == 0:
                tok = logits.argmax(dim=-1)
            else:
                probs = filter_logits(logits.float() / cfg.temperature, cfg.top_k, cfg.top_p).softmax(dim=-1)
                tok = torch.multinomial(probs, 1, generator=gen).squeeze(1)
            out[:, step] = tok
            stopped = torch.isin(tok, stops) & ~done
            lengths = torch.where(stopped, step, lengths)
            done |= stopped
            if step == n_new - 1 or bool(done.all()):  # the one device -> host sync of a step
                break
            logits = model(tok.view(rows, 1), cache=cache)[0][:, -1]
    finally:
        for m in training:
            m.training = True
    return [row[:n] for row, n in zip(out.tolist(), lengths.tolist())]


def generate_text(
    model: torch.nn.Module,
    tokenizer: Any,
    prompt: str,
    cfg: SampleConfig,
    stop_ids: Iterable[int] | None = None,
    *,
    keep: int | None = None,
) -> str:
    """Encode `prompt` (with BOS), generate, and decode the new tokens.

    `tokenizer` needs `encode(text, bos=...)` and `decode(ids)`. With
    stop_ids=None the tokenizer's `eos_id` and `end_of_turn_id` (those it has)
    stop generation; the stop token is not part of the returned text.
    """
    if stop_ids is None:
        stop_ids = [
            t
            for t in (getattr(tokenizer, "eos_id", None), getattr(tokenizer, "end_of_turn_id", None))
            if t is not None and t >= 0
        ]
    ids = tokenizer.encode(prompt, bos=True)
    return tokenizer.decode(generate(model, ids, cfg, stop_ids, keep=keep).ids)
