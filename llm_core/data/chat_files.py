"""Chat data files: OpenAI messages, Alpaca and ShareGPT, as JSONL or a JSON array.

One concern: turning a file the user points fine-tuning at into
``list[Conversation]`` (``[{"role", "content"}, ...]`` lists, content
verbatim), or saying exactly which record is wrong. :func:`read_chat_file`
reads OpenAI-style ``{"messages": [...]}``, Alpaca
(``instruction``/``input``/``output``) and ShareGPT (``{"conversations":
[{"from", "value"}]}``), each as JSONL or as one JSON array. A malformed
record raises :class:`ChatFormatError` naming ``file:line``, or is skipped and
counted by reason in a :class:`ChatReadReport` (a `llm_core.ledger.Ledger`
plus the records read and kept and the format of each file).

The conversations that ship inside PyPI packages (chatterbot-corpus,
chitchat-dataset) are read by `chat_corpus`: fixed, known corpora found by
package name, not user files with a format to detect and records to check.
The chat template and encoding live in `llm_core.chat`.
"""
from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..chat import ROLE_IDS, Conversation
from ..ledger import Ledger, check_on_error

log = logging.getLogger("llm_core.data.chat_files")

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
    """What :func:`read_chat_file` kept and skipped; one report can collect several files.

    The skips are a `Ledger` (reason -> count, ``max_examples`` ``"path:line:
    message"`` examples per reason); the report adds the records read and kept
    and the format each file was read as."""

    records: int = 0  # non-blank records read
    kept: int = 0
    formats: dict[str, str] = field(default_factory=dict)  # path -> format read
    max_examples: int = 3  # per reason
    ledger: Ledger = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.ledger = Ledger(per_reason=self.max_examples, error=ChatFormatError)

    @property
    def skipped(self) -> Counter:
        """reason -> records skipped."""
        return self.ledger.counts

    @property
    def examples(self) -> dict[str, list[str]]:
        """reason -> a few ``"path:line: message"``."""
        return self.ledger.examples_by_reason()

    @property
    def n_skipped(self) -> int:
        return self.ledger.total

    def skip(self, reason: str, where: str, on_error: str = "skip") -> None:
        """Count a bad record; with on_error "error", raise ``ChatFormatError(where)`` instead."""
        self.ledger.skip(reason, example=where, message=where, on_error=on_error)

    def summary(self) -> str:
        text = f"{self.kept} conversations kept of {self.records} records"
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{r} {n}" for r, n in self.skipped.most_common())
        return text

    def as_dict(self) -> dict[str, Any]:
        led = self.ledger.to_dict(examples_by_reason=True)
        return {
            "records": self.records,
            "kept": self.kept,
            "skipped": led["reasons"],
            "examples": led["examples"],
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
    check_on_error(on_error)
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
            reason, where = bad.reason, f"{path}:{line}: {bad.message}"
        else:
            out.append(conv)
            report.kept += 1
            continue
        report.skip(reason, where, on_error)  # outside the except: the error is raised without the _Bad behind it
    if fmt is not None:
        report.formats[str(path)] = fmt
    n_skipped = report.n_skipped - skipped_before
    if n_skipped:
        log.warning("%s: read %d conversations (%s), skipped %d malformed records; %s",
                    path, len(out), fmt, n_skipped, report.summary())
    return out
