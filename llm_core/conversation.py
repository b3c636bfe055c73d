"""A chat history in the model's context window: what fits, what is dropped.

A model sees at most ``window`` tokens (``model.cfg.max_seq_len``). A reply
needs room too, so a conversation prompt may use only

    budget = window - reserve      (reserve = the reply's max new tokens)

tokens. When the encoded history (``chat.encode_chat`` with a trailing
``<|assistant|>``) is longer than the budget, the oldest messages are dropped
whole until it fits (``chat.truncate_left``); only when the newest message
alone is too long is it cut, keeping its end. Many chat programs do this
silently; :func:`fit_history` returns what was dropped so a caller can show it,
and :meth:`ContextFit.near_full` says when the *next* turn will start dropping.

Used by ``forja chat`` and the dashboard's chat page (one rule for both).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from .chat import Message, encode_chat, truncate_left
from .tokenizer import ASSISTANT_ID, SYSTEM_ID, USER_ID

__all__ = ["ConversationError", "ContextFit", "fit_history", "NEAR_FULL"]

NEAR_FULL = 0.75  # share of the budget after which a warning is due: one more turn may not fit
_ROLE_STARTS = frozenset((SYSTEM_ID, USER_ID, ASSISTANT_ID))


class ConversationError(ValueError):
    """The window cannot hold a prompt and a reply of the asked-for length."""


@dataclass(frozen=True)
class ContextFit:
    """A conversation fitted to the window.

    ids:       the prompt to generate from (BOS ... ``<|assistant|>``).
    window:    the model's context in tokens; reserve: tokens kept for the reply.
    full:      tokens the whole history would need (``len(ids)`` when nothing was dropped).
    dropped:   messages left out, oldest first (a message cut in the middle counts as
               dropped and is also named in ``cut``).
    cut:       the index in ``messages`` of a message that was only partly kept, or None.
    """

    ids: list[int]
    window: int
    reserve: int
    full: int
    dropped: list[Message] = field(default_factory=list)
    cut: int | None = None

    @property
    def used(self) -> int:
        """Tokens of the window the prompt takes."""
        return len(self.ids)

    @property
    def budget(self) -> int:
        return self.window - self.reserve

    @property
    def share(self) -> float:
        """Fraction of the prompt budget in use (can pass 1.0 only before fitting: never here)."""
        return self.used / self.budget

    @property
    def overflowed(self) -> bool:
        return self.full > self.used

    def near_full(self, threshold: float = NEAR_FULL) -> bool:
        return self.full / self.budget >= threshold


def fit_history(tokenizer, messages: Sequence[Message], window: int, reserve: int) -> ContextFit:
    """Encode ``messages`` for a reply and fit them into ``window - reserve`` tokens.

    Raises ConversationError when ``reserve`` leaves fewer than 8 tokens for the
    prompt (a turn needs about five control tokens), and ValueError/TypeError for
    malformed messages (from ``chat.encode_chat``).
    """
    budget = window - reserve
    if reserve < 1 or budget < 8:
        raise ConversationError(f"a reply of {reserve} tokens does not fit a {window}-token window: "
                                f"ask for at most {max(window - 8, 0)} new tokens")
    enc = encode_chat(tokenizer, messages, add_generation_prompt=True)
    # The trailing <|assistant|> is set aside while fitting: truncate_left cuts at role
    # tokens, and a prompt cut at that one would keep none of the newest message.
    body, _, truncated = truncate_left(enc.ids[:-1], enc.loss_mask[:-1], budget - 1)
    ids = body + [ASSISTANT_ID]
    if not truncated:
        return ContextFit(ids, window, reserve, full=len(enc.ids))
    dropped_tokens = len(enc.ids) - len(ids)
    starts = _message_starts(enc.ids)  # position of each message's role token
    first_kept = 1 + dropped_tokens  # position in enc.ids of ids[1] (after the BOS)
    whole = sum(1 for s in starts if s < first_kept)
    # A kept start that is not a role token means the message before it was cut.
    cut = None if first_kept in starts else whole - 1
    dropped = [dict(m) for m in messages[:whole]]
    return ContextFit(ids, window, reserve, full=len(enc.ids), dropped=dropped, cut=cut)


def _message_starts(ids: Sequence[int]) -> list[int]:
    """Positions of the role tokens (text never produces control ids, so these are exactly the
    message starts), the trailing generation prompt excluded."""
    return [p for p, t in enumerate(ids[:-1]) if t in _ROLE_STARTS]
