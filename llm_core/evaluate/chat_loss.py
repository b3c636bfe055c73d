"""Held-out conversation loss: how well a model predicts the replies of conversations it
never trained on, in forja's chat format (llm_core.chat).

Only the assistant's tokens are scored (those fine-tuning trains: each reply's content and
the <|end_of_turn|> that closes it); the rest is context. With R the replies' UTF-8 bytes,

    loss          = (sum of -ln p(reply token | everything before)) / (reply tokens)
    bits per byte = (sum of -ln p(reply token | ...)) / ln 2 / R

so the base model (never shown the template) and the chat model can be set side by side:
the gap is what fine-tuning taught about answering.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from ..chat import encode_chat, truncate_left


@dataclass(frozen=True)
class ChatLoss:
    loss: float
    bits_per_byte: float
    tokens: int  # reply tokens scored
    bytes: int  # their text's bytes
    conversations: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@torch.no_grad()
def chat_loss(model, tokenizer, conversations: Sequence[list[dict[str, str]]]) -> ChatLoss:
    """Score the assistant replies of `conversations`, each cut from the left to the window."""
    if not conversations:
        raise ValueError("chat_loss needs at least one conversation")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    window = model.cfg.max_seq_len + 1  # the last token is only predicted
    nats, tokens, n_bytes = 0.0, 0, 0
    for conv in conversations:
        enc = encode_chat(tokenizer, conv)
        ids, mask, _ = truncate_left(enc.ids, enc.loss_mask, window)
        x = torch.tensor([ids[:-1]], device=device)
        y = torch.tensor([[t if m else -100 for t, m in zip(ids[1:], mask[1:])]], device=device)
        logits = model(x)[0]
        nats += float(F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-100,
                                      reduction="sum"))
        tokens += int((y != -100).sum())
        kept = [t for t, m in zip(ids, mask) if m and t != tokenizer.end_of_turn_id]
        n_bytes += len(tokenizer.decode(kept).encode("utf-8"))
    model.train(was_training)
    return ChatLoss(nats / max(tokens, 1), nats / math.log(2) / max(n_bytes, 1), tokens, n_bytes, len(conversations))
