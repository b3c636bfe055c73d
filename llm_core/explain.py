"""What the dashboard's lessons show, computed on a real model: its tokens, embedding map,
parameter count by part, attention weights and next-token distribution.

Every number comes from the model itself; the formulas are the textbook ones:

    softmax with temperature T:   p_i = exp(z_i / T) / sum_j exp(z_j / T)
    top-k / top-p:                llm_core.sample.filter_logits (the sampler's own cut)
    embedding map (PCA):          X - mean(X) = U S V^T,   coords = (X - mean(X)) V[:, :2],
                                  explained share of axis k = S_k^2 / sum_j S_j^2
    nearest neighbours:           cos(a, b) = a . b / (|a| |b|) over the embedding rows
    context curve:                p(token | the last n tokens) for several n: what the
                                  model predicts with and without a text's beginning
    answer probability:           prod_i p(answer token i | prompt, answer tokens < i)
    attention:                    softmax(q k^T / sqrt(d_head)) with the causal mask
                                  (Transformer.attention_maps: rows sum to 1, zero above
                                  the diagonal)

Nothing here trains or samples; it reads the model in eval mode with gradients off.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from .chat import CONTENT_PREFIX, encode_chat
from .sample import filter_logits
from .tokenizer import Tokenizer

__all__ = ["ExplainError", "Token", "tokens", "chat_tokens", "parameter_groups", "word_tokens", "word_vector",
           "pca_2d", "embedding_map", "nearest", "token_languages", "word_language", "Distribution", "next_token",
           "context_curve", "answer_probability", "reply_probability", "attention"]

_WORD_PIECE = re.compile(r"^\u2581[^\W\d_]{2,}$")  # "▁casa": a whole word with its leading space
_LETTER_PIECE = re.compile(r"[^\W\d_]")  # any piece with a letter in it ("▁ca", "sa")


class ExplainError(ValueError):
    """An input a lesson cannot explain (empty text, a word the model has no tokens for, ...)."""


@dataclass(frozen=True)
class Token:
    """One token as a reader sees it: its id, SentencePiece's piece (spaces as "▁"), the text it
    adds, and whether it is a raw byte (byte fallback) or a special control token."""

    id: int
    piece: str
    text: str
    is_byte: bool
    is_special: bool


def _token(tok: Tokenizer, token_id: int) -> Token:
    sp = tok.processor
    raw = tok.token_bytes(token_id)
    return Token(token_id, tok.id_to_piece(token_id), raw.decode("utf-8", errors="replace"),
                 bool(sp.is_byte(token_id)), bool(sp.is_control(token_id)))


def tokens(tok: Tokenizer, text: str) -> list[Token]:
    """How the tokenizer cuts `text`, one Token per id (no BOS)."""
    return [_token(tok, i) for i in tok.encode(text)]


def chat_tokens(tok: Tokenizer, messages: Sequence[dict[str, str]]) -> tuple[list[Token], list[bool]]:
    """A conversation in forja's chat template (llm_core.chat) and, per token, whether
    fine-tuning learns it (only the assistant's words and their end-of-turn)."""
    encoded = encode_chat(tok, messages)
    return [_token(tok, i) for i in encoded.ids], list(encoded.loss_mask)


def parameter_groups(model) -> dict[str, int]:
    """Parameters by where they live: embeddings, attention, mlp, norms, head (0 when the
    head shares the embedding matrix). The values sum to model.num_params()."""
    groups = {"embeddings": 0, "attention": 0, "mlp": 0, "norms": 0, "head": 0}
    for name, p in model.named_parameters():  # a tied head is listed once, as the embedding
        if "embed_tokens" in name:
            groups["embeddings"] += p.numel()
        elif ".self_attn." in name:
            groups["attention"] += p.numel()
        elif ".mlp." in name:
            groups["mlp"] += p.numel()
        elif "norm" in name:
            groups["norms"] += p.numel()
        elif name.startswith("lm_head"):
            groups["head"] += p.numel()
        else:
            raise ExplainError(f"parameter {name!r} belongs to no known part of the model")
    return groups


def word_tokens(tok: Tokenizer, limit: int, whole: bool = True) -> list[int]:
    """Up to `limit` tokens that are a whole word with its leading space ("▁casa"), in id
    order. A BPE vocabulary is built merge by merge from the most frequent pair, so lower
    ids are, roughly, the more frequent words of the training text. whole=False takes any
    piece with a letter in it ("▁ca", "sa"): for a vocabulary too small to hold words."""
    if limit < 1:
        raise ExplainError(f"limit must be at least 1, got {limit}")
    sp = tok.processor
    pattern = _WORD_PIECE.match if whole else _LETTER_PIECE.search
    out = []
    for i in range(tok.vocab_size):
        if not (sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)) and pattern(tok.id_to_piece(i)):
            out.append(i)
            if len(out) == limit:
                break
    return out


def word_vector(model, tok: Tokenizer, word: str) -> tuple[list[int], torch.Tensor]:
    """A word's token ids (as it is written after a space) and its vector: the embedding row
    of its one token, or the mean of its tokens' rows."""
    word = word.strip()
    if not word:
        raise ExplainError("type a word to see its vector")
    ids = tok.encode(CONTENT_PREFIX + word)
    if not ids:
        raise ExplainError(f"{word!r} gives no tokens")
    return ids, _embeddings(model)[ids].mean(dim=0)


def token_languages(tok: Tokenizer, texts: Iterable[tuple[str, str, str]], chars_per_source: int = 200_000
                    ) -> dict[str, Counter]:
    """How often each token occurs in each language's text: {lang: Counter(id -> count)}.
    `texts`: (lang, source, text) triples; at most `chars_per_source` characters are read
    from each source, so one long book does not stand for its whole language."""
    taken: dict[str, list[str]] = {}
    room: dict[tuple[str, str], int] = {}
    for lang, source, text in texts:
        left = room.setdefault((lang, source), chars_per_source)
        if left > 0:
            taken.setdefault(lang, []).append(text[:left])
            room[lang, source] = left - min(left, len(text))
    return {lang: Counter(i for ids in tok.encode_batch(chunk) for i in ids) for lang, chunk in taken.items()}


def word_language(counts: dict[str, Counter], token_id: int, ratio: float = 3.0) -> str | None:
    """The language a token belongs to: the one whose text uses it `ratio` times more often
    (per token of that text) than any other; "both" when none does; None when unseen."""
    rates = {lang: c[token_id] / max(1, sum(c.values())) for lang, c in counts.items()}
    if not any(rates.values()):
        return None
    best = max(rates, key=rates.__getitem__)
    others = max((r for lang, r in rates.items() if lang != best), default=0.0)
    return best if rates[best] >= ratio * others else "both"


def _embeddings(model) -> torch.Tensor:
    return model.model.embed_tokens.weight.detach().float()


def pca_2d(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 2) coordinates on the two main axes of `vectors` (N, D), and the share of the
    variance each axis explains. Exact SVD of the centred matrix (N and D are small here)."""
    if vectors.ndim != 2 or vectors.shape[0] < 3:
        raise ExplainError(f"a map needs at least 3 vectors in a 2-D tensor, got shape {tuple(vectors.shape)}")
    x = vectors.float() - vectors.float().mean(dim=0, keepdim=True)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    # an SVD's signs are arbitrary: make each axis point where most of its weight is, so
    # the same model draws the same map on every machine and every run
    signs = torch.sign(vh[:2].sum(dim=1))
    signs[signs == 0] = 1
    axes = vh[:2] * signs[:, None]
    share = s[:2] ** 2 / (s**2).sum()
    return x @ axes.T, share


def embedding_map(model, tok: Tokenizer, ids: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """pca_2d of the embedding rows of `ids` (the real matrix the model reads tokens with)."""
    return pca_2d(_embeddings(model)[list(ids)])


def nearest(model, tok: Tokenizer, word: str, k: int = 10, candidates: Sequence[int] | None = None
            ) -> tuple[list[int], list[tuple[int, float]]]:
    """(the word's token ids, its k nearest tokens by cosine similarity). A word of several
    tokens is the mean of their vectors; its own tokens are not listed. `candidates`: the
    ids to search (default: every whole-word token)."""
    ids, query = word_vector(model, tok, word)
    emb = _embeddings(model)
    pool = list(candidates) if candidates is not None else word_tokens(tok, tok.vocab_size)
    pool = [i for i in pool if i not in set(ids)]
    sims = torch.nn.functional.cosine_similarity(emb[pool], query[None, :], dim=1)
    best = torch.topk(sims, min(k, len(pool)))
    return ids, [(pool[i], float(v)) for v, i in zip(best.values.tolist(), best.indices.tolist())]


@dataclass(frozen=True)
class Distribution:
    """The next token after a prompt. `probs`: softmax(logits / T) over the vocabulary;
    `kept`: the tokens top-k / top-p leave; `sampled`: what the sampler draws from (probs
    renormalised over `kept`). Greedy (T = 0) puts all of it on the most likely token."""

    logits: torch.Tensor
    probs: torch.Tensor
    kept: torch.Tensor
    sampled: torch.Tensor
    temperature: float

    def top(self, n: int) -> list[tuple[int, float, float, bool]]:
        """The n most likely tokens: (id, probability, probability when sampling, kept)."""
        order = torch.argsort(self.probs, descending=True)[:n].tolist()
        return [(i, float(self.probs[i]), float(self.sampled[i]), bool(self.kept[i])) for i in order]


@torch.no_grad()
def next_token(model, ids: Sequence[int], temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0
               ) -> Distribution:
    """The model's next-token distribution after `ids` (the last max_seq_len of them)."""
    if not ids:
        raise ExplainError("the prompt has no tokens")
    if temperature < 0:
        raise ExplainError(f"temperature must be 0 or more, got {temperature}")
    window = list(ids)[-model.cfg.max_seq_len:]
    logits = model(torch.tensor([window]))[0][0, -1].float()
    if temperature == 0:  # greedy: the argmax, whatever the cut-offs
        probs = torch.zeros_like(logits)
        probs[int(logits.argmax())] = 1.0
        return Distribution(logits, probs, probs > 0, probs, 0.0)
    scaled = logits / temperature
    filtered = filter_logits(scaled, top_k=top_k, top_p=top_p)
    return Distribution(logits, scaled.softmax(-1), torch.isfinite(filtered), filtered.softmax(-1), temperature)


@torch.no_grad()
def context_curve(model, ids: Sequence[int], token_id: int, sizes: Sequence[int]) -> list[tuple[int, float]]:
    """How likely `token_id` is to come next when the model sees only the last n tokens of
    `ids`, for each n in `sizes` (each n at most the window and at most len(ids)): what the
    model can predict with and without the beginning of a text. Temperature 1, no cut."""
    if not ids:
        raise ExplainError("the text has no tokens")
    if not 0 <= token_id < model.cfg.vocab_size:
        raise ExplainError(f"token {token_id} is not in the vocabulary of {model.cfg.vocab_size}")
    out = []
    for n in sizes:
        if not 1 <= n <= min(len(ids), model.cfg.max_seq_len):
            raise ExplainError(f"{n} tokens: expected 1 to {min(len(ids), model.cfg.max_seq_len)}")
        logits = model(torch.tensor([list(ids)[-n:]]))[0][0, -1].float()
        out.append((n, float(logits.softmax(-1)[token_id])))
    return out


def answer_probability(model, tok: Tokenizer, prompt: str, answer: str) -> float:
    """The probability that the base model continues the plain text `prompt` with " " +
    `answer`: the product of its tokens' probabilities, each given everything before it."""
    prompt_ids = tok.encode(prompt, bos=True)
    full = tok.encode(prompt + CONTENT_PREFIX + answer, bos=True)
    if full[:len(prompt_ids)] != prompt_ids:  # the tokenizer merged across the seam: score the answer alone
        full = prompt_ids + tok.encode(CONTENT_PREFIX + answer)
    return _continuation_probability(model, full, len(full) - len(prompt_ids))


def reply_probability(model, tok: Tokenizer, prompt: str, reply: str, with_end: bool = True) -> float:
    """The probability that the chat model answers the user message `prompt` with `reply`
    through the chat template (llm_core.chat): its tokens and, with_end, the end of turn
    after them (without: the reply may go on)."""
    ask = encode_chat(tok, [{"role": "user", "content": prompt}], add_generation_prompt=True).ids
    full = encode_chat(tok, [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]).ids
    if not with_end:
        full = full[:-1]
    if full[:len(ask)] != ask:
        raise ExplainError("the reply does not follow the prompt's tokens in the chat template")
    return _continuation_probability(model, full, len(full) - len(ask))


@torch.no_grad()
def _continuation_probability(model, ids: list[int], n: int) -> float:
    """prod of p(ids[i] | ids[:i]) over the last n ids (the rest cut from the left to fit)."""
    if n < 1:
        raise ExplainError("the answer gives no tokens")
    if n >= model.cfg.max_seq_len:
        raise ExplainError(f"the answer is {n} tokens: it does not fit the window of {model.cfg.max_seq_len}")
    ids = ids[-model.cfg.max_seq_len:]
    logp = model(torch.tensor([ids[:-1]]))[0][0].float().log_softmax(-1)
    targets = torch.tensor(ids[1:])
    # summed in float64: a long answer's probability underflows float32 long before it is 0
    return math.exp(float(logp[torch.arange(len(targets)), targets][-n:].double().sum()))


def attention(model, ids: Sequence[int]) -> list[torch.Tensor]:
    """Per layer, the (n_heads, T, T) attention weights of one sequence: row t is how much
    token t looks at each token 0..t (they sum to 1; later tokens get exactly 0)."""
    if not ids:
        raise ExplainError("the text has no tokens")
    if len(ids) > model.cfg.max_seq_len:
        raise ExplainError(f"{len(ids)} tokens do not fit the model's window of {model.cfg.max_seq_len}")
    return [a[0].float() for a in model.attention_maps(torch.tensor([list(ids)]))]
