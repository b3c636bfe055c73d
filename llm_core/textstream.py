"""Streaming detokenization: turn generated token ids into text as they arrive.

Decoding one token at a time and printing each piece is wrong for two reasons:

* Byte fallback. A character the vocabulary lacks (an emoji, a rare kanji) is
  generated as its UTF-8 bytes, one byte token each: 😀 is <0xF0> <0x9F>
  <0x98> <0x80>. Until the last byte has arrived the text ends in an
  incomplete sequence, which decodes to U+FFFD ("\ufffd", the replacement
  character). Printing it would show garbage that later turns into an emoji
  the screen can no longer fix, so text ending in U+FFFD is held back until
  the next token completes it.
* Context. SentencePiece decodes a sequence, not a token (spaces, byte runs),
  so the text of the held-back tokens is always decoded together.

The stream keeps the index of the first token not yet printed. Each `push`
decodes the tokens from there on: if that text ends in U+FFFD it may still
change, so nothing is printed; otherwise it is final, printed, and the index
moves past it. Concatenating everything `push` and `flush` return gives
exactly `tokenizer.decode(ids)` (with `reply`, `decode_reply(tokenizer, ids)`),
and each push costs a decode of the few held-back tokens, not of the whole text.

    ts = TextStream(tokenizer, reply=True)  # reply: an assistant turn
    for step in stream(model, prompt_ids, cfg, stop_ids=[...]):
        if step.is_stop:
            break
        print(ts.push(step.token_id), end="", flush=True)
    print(ts.flush())

With `reply`, the tokens are an assistant turn of forja's chat template, whose
content starts with one space (`chat.CONTENT_PREFIX`): that space is not shown.
Nothing here knows about terminals or Streamlit; callers write the strings.
"""
from __future__ import annotations

from typing import Protocol

from .chat import strip_content_prefix

REPLACEMENT = "\ufffd"  # what an incomplete UTF-8 sequence decodes to


class _Decoder(Protocol):
    def decode(self, ids: list[int]) -> str: ...


class TextStream:
    """Printable text of a growing list of token ids (see the module docstring)."""

    def __init__(self, tokenizer: _Decoder, reply: bool = False):
        self.tokenizer = tokenizer
        self.reply = reply
        self.ids: list[int] = []
        self.text = ""  # everything returned so far
        self._start = 0  # ids[_start:] are not printed yet: their text may still change
        self._strip = reply  # the reply's leading space is still ahead

    def push(self, token_id: int) -> str:
        """Add one token; return the text that became final ("" while a character is incomplete)."""
        self.ids.append(int(token_id))
        pending = self.tokenizer.decode(self.ids[self._start:])
        if pending.endswith(REPLACEMENT):
            return ""  # maybe the first bytes of a character: wait for the rest
        return self._commit(pending)

    def flush(self) -> str:
        """The held-back text (at the end of generation: an unfinished character shows as U+FFFD)."""
        if self._start == len(self.ids):
            return ""
        return self._commit(self.tokenizer.decode(self.ids[self._start:]))

    def _commit(self, piece: str) -> str:
        self._start = len(self.ids)
        if self._strip and piece:
            piece, self._strip = strip_content_prefix(piece), False
        self.text += piece
        return piece
