"""Chat format, chat data files and fine-tuning batches.

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

Data files
----------

:func:`read_chat_file` reads OpenAI-style ``{"messages": [...]}`` JSONL, Alpaca
(``instruction``/``input``/``output``) and ShareGPT (``{"conversations":
[{"from", "value"}]}``), each as JSONL or as one JSON array, into
``list[Conversation]``. Malformed records raise :class:`ChatFormatError`
naming ``file:line``, or are skipped and counted in a :class:`ChatReadReport`.

Fine-tuning batches
-------------------

:func:`encode_conversations` encodes and left-truncates a data set;
:class:`ChatBatches` serves it as a ``BatchSource`` (one example per row,
right-padded, or several packed per row), where a batch is a pure function of
``(step, micro)``.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Union

import numpy as np
import torch

from .tokenizer import ASSISTANT_ID, BOS_ID, END_OF_TURN_ID, PAD_ID, SPECIAL_TOKENS, SYSTEM_ID, USER_ID, Tokenizer

log = logging.getLogger("llm_core.chat")

Message = dict[str, str]
Conversation = list[Message]

ROLES: tuple[str, ...] = ("system", "user", "assistant")
ROLE_IDS: dict[str, int] = {"system": SYSTEM_ID, "user": USER_ID, "assistant": ASSISTANT_ID}
_ROLE_ID_SET = frozenset(ROLE_IDS.values())
IGNORE_INDEX = -100  # target value the model's loss skips

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

    With ``max_len`` (use ``seq_len + 1`` for :class:`ChatBatches`), longer
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


# --------------------------------------------------------------------------- data files

ChatFormat = Literal["openai", "alpaca", "sharegpt"]
FORMATS: tuple[str, ...] = ("openai", "alpaca", "sharegpt")
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system"}

# Reasons a record is rejected (the keys of ChatReadReport.skipped).
NOT_JSON = "not_json"
NOT_OBJECT = "not_object"
UNKNOWN_FORMAT = "unknown_format"
MISSING_KEY = "missing_key"
BAD_TYPE = "bad_type"
UNKNOWN_ROLE = "unknown_role"
EMPTY_CONTENT = "empty_content"
NO_ASSISTANT = "no_assistant"


class ChatFormatError(ValueError):
    """A chat data file that cannot be read; the message starts with ``path:line:``."""


class _Bad(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass
class ChatReadReport:
    """What :func:`read_chat_file` kept and skipped; one report can collect several files."""

    records: int = 0  # non-blank records read
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> count
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few "path:line: message"
    formats: dict[str, str] = field(default_factory=dict)  # path -> format read
    max_examples: int = 3

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < self.max_examples:
            shown.append(where)

    def summary(self) -> str:
        text = f"{self.kept} conversations kept of {self.records} records"
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{r} {n}" for r, n in self.skipped.most_common())
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "kept": self.kept,
            "skipped": dict(self.skipped),
            "examples": {k: list(v) for k, v in self.examples.items()},
            "formats": dict(self.formats),
        }


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise _Bad(BAD_TYPE, f"{what} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise _Bad(EMPTY_CONTENT, f"{what} is empty")
    return value


def _need(obj: dict[str, Any], key: str, what: str = "record") -> Any:
    if key not in obj:
        raise _Bad(MISSING_KEY, f"{what} has no {key!r} key (keys: {sorted(obj)[:8]})")
    return obj[key]


def _turns(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Bad(BAD_TYPE, f"{key!r} must be a list, got {type(value).__name__}")
    if not value:
        raise _Bad(EMPTY_CONTENT, f"{key!r} is an empty list")
    return value


def _finish(conv: Conversation) -> Conversation:
    if not any(m["role"] == "assistant" for m in conv):
        raise _Bad(NO_ASSISTANT, "conversation has no assistant turn")
    return conv


def _parse_openai(obj: dict[str, Any]) -> Conversation:
    conv = []
    for i, m in enumerate(_turns(_need(obj, "messages"), "messages")):
        if not isinstance(m, dict):
            raise _Bad(BAD_TYPE, f"messages[{i}] must be an object")
        role = _need(m, "role", f"messages[{i}]")
        if role not in ROLE_IDS:
            raise _Bad(UNKNOWN_ROLE, f"messages[{i}] has unknown role {role!r}; expected system, user or assistant")
        conv.append({"role": role, "content": _text(_need(m, "content", f"messages[{i}]"), f"messages[{i}].content")})
    return _finish(conv)


def _parse_sharegpt(obj: dict[str, Any]) -> Conversation:
    conv = []
    for i, m in enumerate(_turns(_need(obj, "conversations"), "conversations")):
        if not isinstance(m, dict):
            raise _Bad(BAD_TYPE, f"conversations[{i}] must be an object")
        who = _need(m, "from", f"conversations[{i}]")
        if who not in _SHAREGPT_ROLES:
            raise _Bad(UNKNOWN_ROLE, f"conversations[{i}] has unknown 'from' {who!r}; expected human, gpt or system")
        value = _text(_need(m, "value", f"conversations[{i}]"), f"conversations[{i}].value")
        conv.append({"role": _SHAREGPT_ROLES[who], "content": value})
    return _finish(conv)


def _parse_alpaca(obj: dict[str, Any]) -> Conversation:
    instruction = _text(_need(obj, "instruction"), "instruction")
    output = _text(_need(obj, "output"), "output")
    extra = obj.get("input")
    if extra is not None and not isinstance(extra, str):
        raise _Bad(BAD_TYPE, f"input must be a string, got {type(extra).__name__}")
    user = instruction + ("\n\n" + extra if extra and extra.strip() else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": output}]


_PARSERS = {"openai": _parse_openai, "alpaca": _parse_alpaca, "sharegpt": _parse_sharegpt}


def _detect(obj: dict[str, Any]) -> str | None:
    if "messages" in obj:
        return "openai"
    if "conversations" in obj:
        return "sharegpt"
    if "instruction" in obj or "output" in obj:
        return "alpaca"
    return None


_NotJSON = object()


def _records(path: Path) -> Iterator[tuple[int, Any, str]]:
    """(line, parsed value or _NotJSON, error text) for each record of a JSONL file or JSON array."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.lstrip()[:1] == b"[":
        yield from _array_records(path, data)
        return
    for n, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw.decode("utf-8")), ""
        except UnicodeDecodeError as err:
            yield n, _NotJSON, f"not valid UTF-8 ({err.reason} at byte {err.start})"
        except json.JSONDecodeError as err:
            yield n, _NotJSON, f"not JSON ({err.msg} at column {err.colno})"


def _array_records(path: Path, data: bytes) -> Iterator[tuple[int, Any, str]]:
    """Elements of a JSON array with the line each starts on. A syntax error
    cannot be skipped (the next element's start is unknown): it raises."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ChatFormatError(f"{path}:{line}: not valid UTF-8 ({err.reason})") from None
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def fail(i: int, msg: str) -> ChatFormatError:
        return ChatFormatError(f"{path}:{text.count(chr(10), 0, i) + 1}: {msg}")

    i = ws(ws(0) + 1)  # past "["
    if i < len(text) and text[i] == "]":
        if ws(i + 1) != len(text):
            raise fail(ws(i + 1), "not JSON (text after the closing ']')")
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as err:
            raise fail(err.pos, f"not JSON ({err.msg}); a JSON array file cannot skip a broken element") from None
        yield text.count("\n", 0, i) + 1, value, ""
        i = ws(end)
        if i < len(text) and text[i] == ",":
            i = ws(i + 1)
        elif i < len(text) and text[i] == "]":
            if ws(i + 1) != len(text):
                raise fail(ws(i + 1), "not JSON (text after the closing ']')")
            return
        else:
            raise fail(i, "not JSON (expected ',' or ']' in the array)")


def read_chat_file(
    path: str | Path,
    format: str = "auto",
    on_error: str = "skip",
    report: ChatReadReport | None = None,
) -> list[Conversation]:
    """Read a chat data file into conversations (lists of ``{"role", "content"}``).

    ``format``: ``"openai"`` (``{"messages": [{"role", "content"}, ...]}``),
    ``"alpaca"`` (``instruction``, optional ``input``, ``output``; the user turn
    is ``instruction + "\\n\\n" + input`` when input is non-empty), ``"sharegpt"``
    (``{"conversations": [{"from": "human"|"gpt"|"system", "value"}]}``), or
    ``"auto"``: decided by the keys of the first JSON object that has
    ``messages``, ``conversations`` or ``instruction``/``output``. Files are
    JSONL (blank lines ignored) or, when the first character is ``[``, one JSON
    array. Content is kept verbatim.

    A malformed record (not JSON, not an object, missing key, wrong type,
    unknown role, empty content, no assistant turn, or no recognisable format
    before the format is known) raises ``ChatFormatError("path:line: ...")``
    with ``on_error="error"``; with ``on_error="skip"`` it is counted in
    ``report`` (by reason, with a few ``path:line: ...`` examples). A syntax
    error inside a JSON array always raises.
    """
    if format != "auto" and format not in _PARSERS:
        raise ValueError(f"format must be 'auto' or one of {', '.join(FORMATS)}; got {format!r}")
    if on_error not in ("skip", "error"):
        raise ValueError(f"on_error must be 'skip' or 'error'; got {on_error!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"chat data file not found: {path}")
    report = report if report is not None else ChatReadReport()
    fmt = None if format == "auto" else format
    out: list[Conversation] = []
    skipped_before = report.n_skipped
    for line, obj, error in _records(path):
        report.records += 1
        try:
            if obj is _NotJSON:
                raise _Bad(NOT_JSON, error)
            if not isinstance(obj, dict):
                raise _Bad(NOT_OBJECT, f"record must be a JSON object, got {type(obj).__name__}")
            if fmt is None:
                fmt = _detect(obj)
                if fmt is None:
                    raise _Bad(
                        UNKNOWN_FORMAT,
                        f"cannot tell the format: keys {sorted(obj)[:8]}; expected 'messages' (openai), "
                        "'conversations' (sharegpt) or 'instruction'/'output' (alpaca)",
                    )
            conv = _PARSERS[fmt](obj)
        except _Bad as bad:
            where = f"{path}:{line}: {bad.message}"
            if on_error == "error":
                raise ChatFormatError(where) from None
            report.skip(bad.reason, where)
            continue
        out.append(conv)
        report.kept += 1
    if fmt is not None:
        report.formats[str(path)] = fmt
    n_skipped = report.n_skipped - skipped_before
    if n_skipped:
        log.warning("%s: read %d conversations (%s), skipped %d malformed records; %s",
                    path, len(out), fmt, n_skipped, report.summary())
    return out


# --------------------------------------------------------------------------- batches

Example = Union[ChatTokens, tuple[Sequence[int], Sequence[bool]]]


@lru_cache(maxsize=4)
def _epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


class ChatBatches:
    """Fine-tuning batches from encoded conversations (a ``BatchSource`` and ``EvalSource``).

    An example of ``L <= seq_len + 1`` tokens fills ``L - 1`` positions of a
    row: ``x = ids[:-1]`` and ``y[i] = ids[i+1] if mask[i+1] else -100`` (the
    target at position i is the next token, trained on only where that token is
    in the loss mask). The rest of a row is padding: ``pad_id`` in x, -100 in y.

    Without ``pack`` a row holds one example; causal attention means padding on
    the right never changes the loss. With ``pack`` a row holds as many
    consecutive examples of the stream as fit, and the batch carries a third
    tensor of segment ids: the model restarts positions at each example and
    lets no example see another (``model.segment_layout``), so the loss equals
    the unpacked one while a step computes on 2-3x fewer padding positions.

    Order: the examples form an endless stream, epoch after epoch, each epoch a
    permutation drawn from ``(seed, epoch)`` and cut into rows (packed greedily
    in that order, no row spanning two epochs). Micro-batch ``(step, micro)`` on
    ``rank`` takes rows ``g * batch_size ... + batch_size - 1`` of the stream
    with ``g = (step * grad_accum + micro) * world_size + rank``, so a batch is
    a pure function of ``(step, micro)`` (exact resume) and every example is
    seen once per epoch (a batch may span two epochs).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        seq_len: int,
        batch_size: int,
        seed: int = 0,
        grad_accum: int = 1,
        rank: int = 0,
        world_size: int = 1,
        pad_id: int = PAD_ID,
        max_eval_batches: int | None = None,
        pack: bool = False,
    ):
        if seq_len < 1 or batch_size < 1 or grad_accum < 1 or world_size < 1:
            raise ValueError("seq_len, batch_size, grad_accum and world_size must be positive")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} out of range for world_size {world_size}")
        if not examples:
            raise ValueError("ChatBatches needs at least one example")
        lengths, ids_parts, mask_parts = [], [], []
        for k, ex in enumerate(examples):
            ids, mask = (ex.ids, ex.loss_mask) if isinstance(ex, ChatTokens) else ex
            if len(ids) != len(mask):
                raise ValueError(f"example {k}: ids ({len(ids)}) and mask ({len(mask)}) differ in length")
            if not 2 <= len(ids) <= seq_len + 1:
                raise ValueError(
                    f"example {k} has {len(ids)} tokens; it must have 2..seq_len+1 = {seq_len + 1} "
                    "(truncate with truncate_left(ids, mask, seq_len + 1) or encode_conversations)"
                )
            if not any(mask[1:]):
                raise ValueError(f"example {k} has no loss token after the first position (nothing to learn)")
            lengths.append(len(ids))
            ids_parts.append(np.asarray(ids, dtype=np.int64))
            mask_parts.append(np.asarray(mask, dtype=bool))
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self._ids = np.concatenate(ids_parts)
        self._mask = np.concatenate(mask_parts)
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.grad_accum, self.rank, self.world_size = grad_accum, rank, world_size
        self.pad_id, self.max_eval_batches, self.pack = pad_id, max_eval_batches, pack
        self._packed: dict[int, list[list[int]]] = {}  # rows of the last two epochs used
        self._row_counts: dict[int, int] = {}  # rows of every epoch seen

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.lengths)

    def fingerprint(self) -> str:
        """A digest of the examples (ids, masks, order): equal only for the same data."""
        h = hashlib.sha256()
        for a in (self.lengths, self._ids, self._mask):
            h.update(a.tobytes())
        return h.hexdigest()

    def rows_in_epoch(self, epoch: int) -> int:
        if not self.pack:
            return len(self)
        if epoch not in self._row_counts:
            self._row_counts[epoch] = len(self._packed_epoch(epoch))
        return self._row_counts[epoch]

    @property
    def steps_per_epoch(self) -> float:
        """Optimizer steps for one pass over the examples (all ranks together)."""
        return self.rows_in_epoch(0) / (self.batch_size * self.grad_accum * self.world_size)

    @property
    def loss_tokens(self) -> int:
        """Loss tokens in one epoch (targets that are not -100)."""
        starts = self.offsets[:-1]
        return int(self._mask.sum() - self._mask[starts].sum())

    def _pack(self, order: Iterable[int]) -> list[list[int]]:
        """Examples in `order`, cut greedily into rows of at most seq_len positions."""
        rows, row, used = [], [], 0
        for i in order:
            need = int(self.lengths[i]) - 1
            if row and used + need > self.seq_len:
                rows.append(row)
                row, used = [], 0
            row.append(i)
            used += need
        rows.append(row)
        return rows

    def _packed_epoch(self, epoch: int) -> list[list[int]]:
        """Epoch `epoch`'s permutation, packed into rows."""
        if epoch not in self._packed:
            if len(self._packed) >= 2:  # a batch spans at most two epochs
                del self._packed[min(self._packed)]
            self._packed[epoch] = self._pack(_epoch_permutation(self.seed, epoch, len(self)).tolist())
        return self._packed[epoch]

    def _stream_row(self, p: int) -> list[int]:
        """Example indices of row `p` of the endless stream."""
        if not self.pack:
            epoch, k = divmod(p, len(self))
            return [int(_epoch_permutation(self.seed, epoch, len(self))[k])]
        epoch = 0
        while p >= (n := self.rows_in_epoch(epoch)):
            p, epoch = p - n, epoch + 1
        return self._packed_epoch(epoch)[p]

    def rows(self, step: int, micro: int) -> list[list[int]]:
        """Example indices of each row of micro-batch ``(step, micro)``."""
        if step < 0 or not 0 <= micro < self.grad_accum:
            raise ValueError(f"step must be >= 0 and micro in [0, {self.grad_accum}); got ({step}, {micro})")
        g = (step * self.grad_accum + micro) * self.world_size + self.rank
        return [self._stream_row(p) for p in range(g * self.batch_size, (g + 1) * self.batch_size)]

    def indices(self, step: int, micro: int) -> list[int]:
        """Example indices of micro-batch ``(step, micro)``, in row order."""
        return [i for row in self.rows(step, micro) for i in row]

    def example(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, mask) of one example."""
        a, b = self.offsets[index], self.offsets[index + 1]
        return self._ids[a:b], self._mask[a:b]

    def _fill(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, ...]:
        x = np.full((len(rows), self.seq_len), self.pad_id, dtype=np.int64)
        y = np.full((len(rows), self.seq_len), IGNORE_INDEX, dtype=np.int64)
        seg = np.zeros((len(rows), self.seq_len), dtype=np.int64)
        for r, row in enumerate(rows):
            at = 0
            for s, i in enumerate(row):
                ids, mask = self.example(i)
                n = len(ids) - 1
                x[r, at : at + n] = ids[:-1]
                y[r, at : at + n] = np.where(mask[1:], ids[1:], IGNORE_INDEX)
                seg[r, at : at + n] = s
                at += n
            seg[r, at:] = len(row)  # padding is a segment of its own
        if not self.pack:
            return torch.from_numpy(x), torch.from_numpy(y)
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(seg)

    def batch(self, step: int, micro: int) -> tuple[torch.Tensor, ...]:
        """(x, y), both (batch_size, seq_len) int64 on CPU, y -100 where no loss;
        packed, also the (batch_size, seq_len) segment ids."""
        return self._fill(self.rows(step, micro))

    def eval_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """Every example in order (or the first ``max_eval_batches`` batches), in
        batches of ``batch_size`` rows (the last may be smaller): the same every
        call. Packed, consecutive examples share rows."""
        rows = self._pack(range(len(self))) if self.pack else [[i] for i in range(len(self))]
        n_batches = -(-len(rows) // self.batch_size)
        if self.max_eval_batches is not None:
            n_batches = min(n_batches, self.max_eval_batches)
        for b in range(n_batches):
            yield self._fill(rows[b * self.batch_size : (b + 1) * self.batch_size])
