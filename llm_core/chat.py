"""The chat template and its encoding: text <-> token ids and loss masks.

The chat template (forja's one format)
--------------------------------------

A conversation is a list of messages ``{"role": ..., "content": ...}`` with
role ``system``, ``user`` or ``assistant``. As text::

    <|begin_of_text|><|system|> Eres útil.<|end_of_turn|><|user|> Hola<|end_of_turn|><|assistant|> ¡Hola!<|end_of_turn|>

and, to ask the model for a reply, a trailing ``<|assistant|>``. Decisions:

* **One space between the role token and the content**, and no other
  separator: the content is tokenized on its own as ``encode(" " + content)``.
  Our tokenizer has no dummy prefix, so without that space a message's first
  word would be a different token than the same word inside a sentence
  (``make`` -> ``m ake`` instead of ``▁make``), and a small model could not copy
  a word from the question into its answer (measured: 0 % on the repeat task).
  Llama 2's ``[INST] ... [/INST] ...`` format puts spaces there for the same
  reason. Tokenizing each content apart keeps the ids independent of what came
  before; the role tokens are single special ids. :func:`decode_reply` drops
  the space again.
* Content is otherwise used verbatim: its own leading/trailing spaces and
  newlines are kept.
* One ``<|begin_of_text|>`` starts the conversation; there is no
  ``<|end_of_text|>``. An assistant turn ends with ``<|end_of_turn|>``, which is
  what generation stops on (the HF export lists it as an eos id).
* Loss mask: only the assistant's content tokens and the ``<|end_of_turn|>``
  closing an assistant turn are trained on (the model learns to answer and to
  stop). BOS, role tokens, system and user turns are context only.

:func:`encode_chat` builds ids by inserting the special ids directly, so text
that merely *looks* like a control token (a user typing ``"<|user|>"``) stays
ordinary text. :data:`CHAT_TEMPLATE_JINJA` renders the same format for Hugging
Face's ``tokenizer.apply_chat_template`` (stored by ``export_hf(...,
chat_template=CHAT_TEMPLATE_JINJA)``). That method tokenizes the rendered text
with ``add_special_tokens=False``, so the template writes the BOS itself and it
is never doubled. Its ``{% generation %}`` block makes
``return_assistant_tokens_mask=True`` give exactly our loss mask. The one
difference: HF turns a literal ``"<|user|>"`` inside *content* into the
special id unless called with ``sanitize_control_tokens=True``.

Encoding a data set
-------------------

:func:`encode_conversations` encodes and left-truncates a data set for
fine-tuning. Reading chat data files is `llm_core.data.chat_files`; serving
encoded examples as training batches is `llm_core.data.loader.ChatBatches`.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .tokenizer import ASSISTANT_ID, BOS_ID, END_OF_TURN_ID, SPECIAL_TOKENS, SYSTEM_ID, USER_ID, Tokenizer

log = logging.getLogger("llm_core.chat")

Message = dict[str, str]
Conversation = list[Message]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
ROLE_IDS: dict[str, int] = {"system": SYSTEM_ID, "user": USER_ID, "assistant": ASSISTANT_ID}
_ROLE_ID_SET = frozenset(ROLE_IDS.values())

# --------------------------------------------------------------------------- template

CHAT_TEMPLATE_JINJA = (
    "{#- forja chat format: <|begin_of_text|> then '<|role|> content<|end_of_turn|>' per message"
    " (one space after the role token); add_generation_prompt appends <|assistant|>. -#}\n"
    "{{- '<|begin_of_text|>' -}}\n"
    "{%- for message in messages -%}\n"
    "{%- if message['content'] is not string -%}"
    "{{- raise_exception('message content must be a string') -}}"
    "{%- endif -%}\n"
    "{%- if message['role'] == 'system' -%}"
    "{{- '<|system|> ' + message['content'] + '<|end_of_turn|>' -}}\n"
    "{%- elif message['role'] == 'user' -%}"
    "{{- '<|user|> ' + message['content'] + '<|end_of_turn|>' -}}\n"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- '<|assistant|>' -}}"
    "{%- generation -%}{{- ' ' + message['content'] + '<|end_of_turn|>' -}}{%- endgeneration -%}\n"
    "{%- else -%}"
    "{{- raise_exception('unknown role ' + message['role'] + '; expected system, user or assistant') -}}"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}{%- endif -%}"
)

CONTENT_PREFIX = " "  # between a role token and the content (see the module docstring)
_BOS_TEXT = SPECIAL_TOKENS["bos"]
_EOT_TEXT = SPECIAL_TOKENS["end_of_turn"]


@dataclass(frozen=True)
class ChatTokens:
    """Token ids of a conversation and, per token, whether it is trained on."""

    ids: list[int]
    loss_mask: list[bool]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.loss_mask):
            raise ValueError(f"ids ({len(self.ids)}) and loss_mask ({len(self.loss_mask)}) differ in length")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def n_loss(self) -> int:
        """Tokens the loss is computed on."""
        return sum(self.loss_mask)


def _check_messages(messages: Sequence[Message]) -> None:
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError(f"messages must be a list of {{'role', 'content'}} dicts, got {type(messages).__name__}")
    if not messages:
        raise ValueError("a conversation needs at least one message")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise ValueError(f"message {i} must be a dict with 'role' and 'content', got {m!r}")
        if m["role"] not in ROLE_IDS:
            raise ValueError(f"message {i}: unknown role {m['role']!r}; expected one of {', '.join(ROLES)}")
        if not isinstance(m["content"], str):
            raise TypeError(f"message {i}: content must be str, got {type(m['content']).__name__}")


def _assemble(messages: Sequence[Message], contents: Sequence[list[int]], add_generation_prompt: bool) -> ChatTokens:
    ids, mask = [BOS_ID], [False]
    for m, content in zip(messages, contents):
        trained = m["role"] == "assistant"
        ids.append(ROLE_IDS[m["role"]])
        mask.append(False)
        ids.extend(content)
        ids.append(END_OF_TURN_ID)
        mask.extend([trained] * (len(content) + 1))
    if add_generation_prompt:
        ids.append(ASSISTANT_ID)
        mask.append(False)
    return ChatTokens(ids, mask)


def encode_chat(tokenizer: Tokenizer, messages: Sequence[Message], add_generation_prompt: bool = False) -> ChatTokens:
    """Token ids and loss mask of a conversation in forja's chat format.

    ``[BOS] + for each message: [<|role|>] + encode(" " + content) + [<|end_of_turn|>]``
    and, with ``add_generation_prompt``, a final ``<|assistant|>`` (for inference).
    ``loss_mask`` is True exactly on assistant content tokens and their
    ``<|end_of_turn|>``. Raises ValueError/TypeError for an unknown role or
    non-string content.
    """
    _check_messages(messages)
    contents = [tokenizer.encode(CONTENT_PREFIX + m["content"]) for m in messages]
    return _assemble(messages, contents, add_generation_prompt)


def decode_reply(tokenizer: Tokenizer, ids: Sequence[int]) -> str:
    """The text of generated assistant tokens, without the template's space after
    ``<|assistant|>`` (kept if the model did not write one)."""
    return strip_content_prefix(tokenizer.decode(ids))


def strip_content_prefix(text: str) -> str:
    return text[len(CONTENT_PREFIX):] if text.startswith(CONTENT_PREFIX) else text


def render_chat(messages: Sequence[Message], add_generation_prompt: bool = False) -> str:
    """The conversation as text, exactly what :data:`CHAT_TEMPLATE_JINJA` renders
    (for display and debugging; train and generate from :func:`encode_chat`)."""
    _check_messages(messages)
    parts = [_BOS_TEXT]
    for m in messages:
        parts.append(SPECIAL_TOKENS[m["role"]] + CONTENT_PREFIX + m["content"] + _EOT_TEXT)
    if add_generation_prompt:
        parts.append(SPECIAL_TOKENS["assistant"])
    return "".join(parts)


# --------------------------------------------------------------------------- truncation


def truncate_left(ids: Sequence[int], mask: Sequence[bool], max_len: int) -> tuple[list[int], list[bool], bool]:
    """Fit a conversation into ``max_len`` tokens by dropping its oldest tokens.

    The leading BOS (if ``ids`` starts with one) is kept. Whole messages are
    dropped from the left, keeping as many of the most recent ones as fit, so
    the result still starts ``BOS, <|role|>``; only when the last message alone
    is too long is it cut mid-message (keeping its end). Works for training
    examples and for generation prompts (a trailing ``<|assistant|>`` is kept).

    Returns ``(ids, mask, truncated)``; unchanged copies and False if it fits.
    The result may have no loss token left; callers decide what to do with it.
    """
    if len(ids) != len(mask):
        raise ValueError(f"ids ({len(ids)}) and mask ({len(mask)}) differ in length")
    head = 1 if len(ids) > 0 and ids[0] == BOS_ID else 0
    if max_len < head + 1:
        raise ValueError(f"max_len={max_len} leaves no room after the BOS")
    if len(ids) <= max_len:
        return list(ids), list(mask), False
    budget = max_len - head
    earliest = len(ids) - budget  # first position that can be kept
    # Role tokens only come from encode_chat (text cannot produce control ids): message starts.
    cut = next((p for p in range(earliest, len(ids)) if ids[p] in _ROLE_ID_SET), earliest)
    return list(ids[:head]) + list(ids[cut:]), list(mask[:head]) + list(mask[cut:]), True


@dataclass
class EncodeStats:
    conversations: int = 0  # given
    examples: int = 0  # kept
    truncated: int = 0  # longer than max_len, cut from the left (and kept)
    dropped_no_loss: int = 0  # no assistant token left after truncation
    tokens: int = 0  # in kept examples
    loss_tokens: int = 0  # in kept examples

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def encode_conversations(
    tokenizer: Tokenizer, conversations: Iterable[Sequence[Message]], max_len: int | None = None
) -> tuple[list[ChatTokens], EncodeStats]:
    """Encode a data set for fine-tuning (one ``encode_batch`` call for all contents).

    With ``max_len`` (use ``seq_len + 1`` for ``loader.ChatBatches``), longer
    conversations are :func:`truncate_left`-ed and counted; examples left with
    no loss token are dropped and counted.
    """
    convs = list(conversations)
    for c in convs:
        _check_messages(c)
    flat = tokenizer.encode_batch([CONTENT_PREFIX + m["content"] for c in convs for m in c])
    stats = EncodeStats(conversations=len(convs))
    out: list[ChatTokens] = []
    pos = 0
    for c in convs:
        ex = _assemble(c, flat[pos : pos + len(c)], add_generation_prompt=False)
        pos += len(c)
        if max_len is not None:
            ids, mask, cut = truncate_left(ex.ids, ex.loss_mask, max_len)
            if cut:
                stats.truncated += 1
                ex = ChatTokens(ids, mask)
        if not any(ex.loss_mask[1:]):  # position 0 is never a target
            stats.dropped_no_loss += 1
            continue
        out.append(ex)
        stats.tokens += len(ex)
        stats.loss_tokens += ex.n_loss
    stats.examples = len(out)
    if stats.truncated or stats.dropped_no_loss:
        log.info(
            "encoded %d conversations: %d truncated to %s tokens, %d dropped with no assistant token left",
            stats.conversations, stats.truncated, max_len, stats.dropped_no_loss,
        )
    return out, stats
