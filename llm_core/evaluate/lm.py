"""Language-model quality on a token file: loss, perplexity, bits per byte.

Bits per byte is the figure to compare across models: loss per token depends
on how much text a token holds, so it favours big vocabularies; bits per byte
charges the model for the whole text however it was cut,

    bits per byte = (sum of -ln p(token) over the predicted tokens) / ln 2 / (bytes of their text)

and lines up directly with what gzip, bz2 or xz reach on the same bytes
(`compressor_bits_per_byte`): a language model is a compressor.
"""
from __future__ import annotations

import bz2
import gzip
import lzma
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data.tokens import TokenFile
from ..device import autocast
from ..model import Transformer
from ..tokenizer import Tokenizer


@dataclass(frozen=True)
class LMScores:
    loss: float  # mean nats per predicted token
    perplexity: float
    bits_per_byte: float
    tokens: int  # tokens predicted
    bytes: float  # text bytes those tokens stand for

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@torch.no_grad()
def evaluate_tokens(model: Transformer, tokens: TokenFile, seq_len: int | None = None, batch_size: int = 8,
                    max_tokens: int | None = None, amp_dtype: torch.dtype | None = None, *,
                    progress: bool = True, desc: str = "validation loss") -> LMScores:
    """Score every token of the file (or its first `max_tokens`) in back-to-back
    windows, so each token is predicted once. `progress` shows a bar on stderr."""
    seq_len = seq_len or model.cfg.max_seq_len
    ids = tokens.ids if max_tokens is None else tokens.ids[: max_tokens + 1]
    n = len(ids)
    if n < 2:
        raise ValueError(f"{tokens.path}: needs at least 2 tokens to evaluate, has {n}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nats, count = 0.0, 0
    starts = list(range(0, n - 1, seq_len))
    with tqdm(total=len(starts), desc=desc, unit="window", disable=not progress, dynamic_ncols=True) as bar:
        for i in range(0, len(starts), batch_size):
            chunk = starts[i : i + batch_size]
            nats_b, count_b = _score_windows(model, ids, chunk, seq_len, device, amp_dtype)
            nats += nats_b
            count += count_b
            bar.update(len(chunk))
    model.train(was_training)
    # The byte count is for all tokens of the file; the first one is never
    # predicted (and a prefix may be all we scored), so charge the mean bytes per token.
    n_bytes = tokens.n_bytes * count / len(tokens.ids)
    loss = nats / count
    return LMScores(loss, math.exp(min(loss, 50.0)), nats / math.log(2) / max(n_bytes, 1e-9), count, n_bytes)


def _score_windows(model, ids: np.ndarray, starts: list[int], seq_len: int, device, amp_dtype) -> tuple[float, int]:
    rows = [np.asarray(ids[s : s + seq_len + 1], dtype=np.int64) for s in starts]
    width = max(len(r) for r in rows)
    x = torch.zeros(len(rows), width - 1, dtype=torch.long)
    y = torch.full((len(rows), width - 1), -100, dtype=torch.long)
    for j, r in enumerate(rows):
        t = torch.from_numpy(r)
        x[j, : len(r) - 1], y[j, : len(r) - 1] = t[:-1], t[1:]
    x, y = x.to(device), y.to(device)
    with autocast(device, amp_dtype):
        logits = model(x)[0]
    nll = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100, reduction="sum")
    return float(nll), int((y != -100).sum())


def compressor_bits_per_byte(text: bytes) -> dict[str, float]:
    """Bits per byte of the strongest setting of each standard compressor."""
    n = max(1, len(text))
    return {
        "gzip": 8 * len(gzip.compress(text, compresslevel=9)) / n,
        "bz2": 8 * len(bz2.compress(text, compresslevel=9)) / n,
        "xz": 8 * len(lzma.compress(text, preset=9 | lzma.PRESET_EXTREME)) / n,
    }


def documents_from_tokens(ids: np.ndarray, bos_id: int) -> list[np.ndarray]:
    """Split a token file back into its documents (each starts with begin-of-text)."""
    cuts = np.flatnonzero(ids == bos_id)
    return [ids[a + 1 : b] for a, b in zip(cuts, list(cuts[1:]) + [len(ids)])]


def text_of_tokens(ids: np.ndarray, tokenizer: Tokenizer) -> bytes:
    """The UTF-8 text a token array stands for, decoded document by document: what
    the compressors are given, to set beside the model's bits per byte."""
    docs = documents_from_tokens(ids, tokenizer.bos_id)
    return "".join(tokenizer.decode(d.tolist()) for d in docs).encode("utf-8")
