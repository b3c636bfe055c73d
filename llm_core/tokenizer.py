"""SentencePiece BPE tokenizer for forja.

The model is a standard SentencePiece BPE model (``<prefix>.model``) so it can
later be shipped as ``tokenizer.model`` in a Hugging Face export. Choices that
matter:

* Fixed special ids: ``<pad>``=0, ``<unk>``=1, ``<|begin_of_text|>``=2,
  ``<|end_of_text|>``=3, then the chat control tokens ``<|system|>``=4,
  ``<|user|>``=5, ``<|assistant|>``=6, ``<|end_of_turn|>``=7. The chat tokens
  are SentencePiece *control symbols*: user text that literally contains
  ``"<|user|>"`` is encoded as ordinary characters, so only code that inserts
  the ids directly can produce them. Control ids decode to ``""``.
* Lossless: identity normalization, no dummy prefix, no whitespace collapsing
  and byte fallback, so ``decode(encode(s)) == s`` for any string (with one
  SentencePiece limitation: a literal ``"▁"`` (U+2581) decodes as a space).
  Newlines need no special piece: a newline absent from the vocab is emitted
  as the byte piece ``<0x0A>`` (the Llama 2 convention).
* Training reads lines, not documents: SentencePiece silently skips sentences
  longer than ``max_sentence_length`` bytes, so texts are split on newlines
  and over-long lines are cut into chunks below that limit.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import sentencepiece as spm

from .atomic import write_bytes

logger = logging.getLogger("llm_core.tokenizer")

# --- special tokens (ids are part of the model format: never reorder) -------

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
SYSTEM_ID, USER_ID, ASSISTANT_ID, END_OF_TURN_ID = 4, 5, 6, 7

# name -> piece, in id order.
SPECIAL_TOKENS: MappingProxyType[str, str] = MappingProxyType(
    {
        "pad": "<pad>",
        "unk": "<unk>",
        "bos": "<|begin_of_text|>",
        "eos": "<|end_of_text|>",
        "system": "<|system|>",
        "user": "<|user|>",
        "assistant": "<|assistant|>",
        "end_of_turn": "<|end_of_turn|>",
    }
)
SPECIAL_IDS: MappingProxyType[str, int] = MappingProxyType(
    {name: i for i, name in enumerate(SPECIAL_TOKENS)}
)
CONTROL_SYMBOLS: tuple[str, ...] = tuple(
    SPECIAL_TOKENS[name] for name in ("system", "user", "assistant", "end_of_turn")
)

# Every model has these pieces before any learned one: specials + 256 bytes.
NUM_RESERVED_PIECES = len(SPECIAL_TOKENS) + 256

_BYTE_PIECE = re.compile(r"^<0x([0-9A-F]{2})>$")
_WHITESPACE_MARK = "\u2581"  # "▁", how SentencePiece stores spaces


class Tokenizer:
    """Thin wrapper around a loaded ``SentencePieceProcessor``."""

    def __init__(self, processor: spm.SentencePieceProcessor, path: str | Path | None = None):
        self._sp = processor
        self._path = Path(path) if path is not None else None
        _check_special_layout(processor, self._path)

    # --- loading and saving ------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Tokenizer:
        """Load a ``.model`` file written by :func:`train_tokenizer` or :meth:`save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"tokenizer model file not found: {path}")
        processor = spm.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(path.read_bytes())
        except RuntimeError as err:
            raise ValueError(f"not a valid SentencePiece model: {path} ({err})") from err
        return cls(processor, path)

    def save(self, path: str | Path) -> Path:
        """Write the serialized model to ``path`` (e.g. ``.../tokenizer.model``)."""
        return write_bytes(path, self._sp.serialized_model_proto())

    @property
    def path(self) -> Path | None:
        """File the model was loaded from (``None`` if built in memory)."""
        return self._path

    @property
    def processor(self) -> spm.SentencePieceProcessor:
        """The underlying SentencePiece processor, for anything not wrapped here."""
        return self._sp

    # --- vocabulary ----------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size}, path={self._path!s})"

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    @property
    def bos_id(self) -> int:
        return BOS_ID

    @property
    def eos_id(self) -> int:
        return EOS_ID

    @property
    def system_id(self) -> int:
        return SYSTEM_ID

    @property
    def user_id(self) -> int:
        return USER_ID

    @property
    def assistant_id(self) -> int:
        return ASSISTANT_ID

    @property
    def end_of_turn_id(self) -> int:
        return END_OF_TURN_ID

    @property
    def special_ids(self) -> dict[str, int]:
        """Special token name -> id (a fresh dict, safe to modify)."""
        return dict(SPECIAL_IDS)

    def id_to_piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(self._checked_id(token_id))

    def piece_to_id(self, piece: str) -> int:
        """Id of ``piece``; unknown pieces give ``unk_id`` (SentencePiece behaviour)."""
        return self._sp.piece_to_id(piece)

    # --- encoding and decoding ---------------------------------------------

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"encode expects str, got {type(text).__name__}; use encode_batch")
        return self._sp.encode(text, out_type=int, add_bos=bos, add_eos=eos)

    def encode_batch(
        self,
        texts: Iterable[str],
        bos: bool = False,
        eos: bool = False,
        num_threads: int | None = None,
    ) -> list[list[int]]:
        """Encode many texts in one SentencePiece call (multi-threaded in C++).

        ``num_threads=None`` uses SentencePiece's default.
        """
        if isinstance(texts, str):
            raise TypeError("encode_batch expects an iterable of str, got a single str")
        batch = list(texts)
        if not batch:
            return []
        return self._sp.encode(
            batch, out_type=int, add_bos=bos, add_eos=eos, num_threads=num_threads
        )

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text. Control ids (bos/eos/chat tokens/pad) decode to ``""``.

        Accepts lists, tuples, numpy arrays and 1-D torch tensors.
        """
        return self._sp.decode(self._checked_ids(ids))

    def decode_batch(self, batch: Iterable[Iterable[int]]) -> list[str]:
        return [self.decode(ids) for ids in batch]

    # --- inspection helpers (dashboard, stats) -----------------------------

    def pieces(self, text: str) -> list[str]:
        """How ``text`` is split, as SentencePiece pieces (spaces shown as ``▁``)."""
        return self.pieces_for(self.encode(text))

    def pieces_for(self, ids: Iterable[int]) -> list[str]:
        """One readable piece per id: spaces as ``▁``, byte pieces like ``<0xC3>``
        and special tokens like ``<|user|>`` kept as-is."""
        return [self._sp.id_to_piece(i) for i in self._checked_ids(ids)]

    def token_bytes(self, token_id: int) -> bytes:
        """The UTF-8 bytes a token contributes to decoded text.

        Special tokens contribute nothing. Byte pieces give their single byte,
        which may be part of a multi-byte character.
        """
        token_id = self._checked_id(token_id)
        piece = self._sp.id_to_piece(token_id)
        if self._sp.is_byte(token_id):
            match = _BYTE_PIECE.match(piece)
            assert match is not None, piece
            return bytes([int(match.group(1), 16)])
        if self._sp.is_control(token_id) or self._sp.is_unknown(token_id):
            return b""
        return piece.replace(_WHITESPACE_MARK, " ").encode("utf-8")

    def bytes_per_token(self, texts: str | Iterable[str]) -> float:
        """Compression: total UTF-8 bytes / total tokens (no bos/eos)."""
        batch = [texts] if isinstance(texts, str) else list(texts)
        n_bytes = sum(len(t.encode("utf-8")) for t in batch)
        n_tokens = sum(len(ids) for ids in self.encode_batch(batch))
        if n_tokens == 0:
            raise ValueError("bytes_per_token needs at least one non-empty text")
        return n_bytes / n_tokens

    # --- internals -----------------------------------------------------------

    def _checked_id(self, token_id: int) -> int:
        token_id = int(token_id)
        if not 0 <= token_id < self.vocab_size:
            raise IndexError(f"token id {token_id} out of range [0, {self.vocab_size})")
        return token_id

    def _checked_ids(self, ids: Iterable[int]) -> list[int]:
        # numpy arrays and torch tensors: tolist() is much faster than iterating.
        tolist = getattr(ids, "tolist", None)
        values: Sequence[Any] = tolist() if callable(tolist) else list(ids)
        return [self._checked_id(i) for i in values]


def _check_special_layout(sp: spm.SentencePieceProcessor, path: Path | None) -> None:
    """Refuse models whose special tokens are not at forja's fixed ids: the
    id properties are constants, so a different layout would silently break chat."""
    where = f" in {path}" if path is not None else ""
    if sp.get_piece_size() < len(SPECIAL_TOKENS):
        raise ValueError(f"tokenizer model{where} has only {sp.get_piece_size()} pieces")
    for token_id, piece in enumerate(SPECIAL_TOKENS.values()):
        found = sp.id_to_piece(token_id)
        if found != piece:
            raise ValueError(
                f"tokenizer model{where} has {found!r} at id {token_id}, expected {piece!r}; "
                "it was not trained by llm_core.tokenizer.train_tokenizer"
            )


# --- training ----------------------------------------------------------------


@dataclass
class _CorpusStats:
    texts: int = 0
    bytes: int = 0
    sentences: int = 0
    split_lines: int = 0  # lines longer than max_sentence_length, cut into chunks
    error: BaseException | None = None  # raised inside the iterator SentencePiece consumed


def _split_to_byte_limit(line: str, max_bytes: int) -> Iterator[str]:
    """Cut ``line`` into chunks of at most ``max_bytes`` UTF-8 bytes, never inside
    a character and, where possible, just before a space so words stay whole."""
    data = line.encode("utf-8")
    start = 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        if end < len(data):
            while data[end] & 0xC0 == 0x80:  # continuation byte: step back to a char start
                end -= 1
            space = data.rfind(b" ", start + 1, end)
            if space > start:
                end = space
        yield data[start:end].decode("utf-8")
        start = end


def _training_sentences(
    texts: Iterable[str], max_bytes: int, stats: _CorpusStats
) -> Iterator[str]:
    """Yield non-empty lines (chunked to ``max_bytes``), counting what was read."""
    try:
        for text in texts:
            if not isinstance(text, str):
                raise TypeError(f"texts must be str, got {type(text).__name__}")
            stats.texts += 1
            stats.bytes += len(text.encode("utf-8"))
            for line in text.split("\n"):
                if len(line.encode("utf-8")) > max_bytes:
                    stats.split_lines += 1
                for chunk in _split_to_byte_limit(line, max_bytes):
                    stats.sentences += 1
                    yield chunk
    except Exception as err:
        # SentencePiece turns exceptions from the iterator into a bare RuntimeError;
        # keep the original so train_tokenizer can re-raise it.
        stats.error = err
        raise


def _peek(iterator: Iterator[str]) -> tuple[str | None, Iterator[str]]:
    first = next(iterator, None)
    if first is None:
        return None, iterator

    def chained() -> Iterator[str]:
        yield first
        yield from iterator

    return first, chained()


def _training_error(err: RuntimeError, vocab_size: int) -> Exception:
    """Turn SentencePiece's terse trainer errors into actionable ones."""
    msg = str(err)
    too_small = re.search(r"smaller than required_chars\. (\d+) vs (\d+)", msg)
    if too_small:
        return ValueError(
            f"vocab_size={vocab_size} is too small for this text: it needs at least "
            f"{too_small.group(2)} pieces ({len(SPECIAL_TOKENS)} special tokens, 256 byte "
            "pieces and every character kept by character_coverage); increase vocab_size "
            "or lower character_coverage"
        )
    too_high = re.search(r"Vocabulary size too high \((\d+)\).*<= (\d+)", msg)
    if too_high:
        return ValueError(
            f"vocab_size={vocab_size} is too large for this text: BPE can make at most "
            f"{too_high.group(2)} pieces from it; use more text or a smaller vocab_size"
        )
    return RuntimeError(f"SentencePiece training failed: {msg}")


def train_tokenizer(
    texts: Iterable[str],
    model_prefix: str | Path,
    vocab_size: int,
    character_coverage: float = 0.9995,
    max_sentence_length: int = 16384,
    num_threads: int = 2,
    input_sentence_size: int = 0,
    shuffle_input_sentence: bool = True,
) -> Tokenizer:
    """Train a byte-fallback BPE tokenizer and write ``<prefix>.model`` / ``<prefix>.vocab``.

    ``texts`` is consumed once, streaming (documents of any length; they are
    split on newlines and over-long lines are chunked below
    ``max_sentence_length`` bytes). ``input_sentence_size=0`` trains on every
    line; a positive value samples that many lines (shuffled if
    ``shuffle_input_sentence``). ``vocab_size`` is exact and includes the
    8 special tokens and 256 byte pieces.

    Raises ValueError for empty input or an impossible vocab_size.
    """
    if vocab_size <= NUM_RESERVED_PIECES:
        raise ValueError(
            f"vocab_size={vocab_size} is too small: {NUM_RESERVED_PIECES} ids are reserved "
            f"for {len(SPECIAL_TOKENS)} special tokens and 256 byte-fallback pieces"
        )
    if max_sentence_length < 4:  # one UTF-8 character can take 4 bytes
        raise ValueError(f"max_sentence_length must be >= 4 bytes, got {max_sentence_length}")

    stats = _CorpusStats()
    sentences = _training_sentences(texts, max_sentence_length, stats)
    first, sentences = _peek(sentences)
    if first is None:
        raise ValueError("cannot train a tokenizer on empty input: texts yielded no non-empty line")

    prefix = str(model_prefix)
    Path(prefix).parent.mkdir(parents=True, exist_ok=True)
    logger.info("training BPE tokenizer vocab_size=%d -> %s.model", vocab_size, prefix)
    started = time.perf_counter()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=sentences,
            model_prefix=prefix,
            vocab_size=vocab_size,
            model_type="bpe",
            character_coverage=character_coverage,
            max_sentence_length=max_sentence_length,
            num_threads=num_threads,
            input_sentence_size=input_sentence_size,
            shuffle_input_sentence=shuffle_input_sentence,
            # Lossless text <-> ids: no normalization, spaces kept exactly,
            # unseen characters become bytes instead of <unk>.
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=False,
            allow_whitespace_only_pieces=True,
            byte_fallback=True,
            split_digits=True,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            pad_piece=SPECIAL_TOKENS["pad"],
            unk_piece=SPECIAL_TOKENS["unk"],
            bos_piece=SPECIAL_TOKENS["bos"],
            eos_piece=SPECIAL_TOKENS["eos"],
            control_symbols=list(CONTROL_SYMBOLS),
            minloglevel=2,  # SentencePiece is very chatty; we log the summary below
        )
    except RuntimeError as err:
        if stats.error is not None:
            raise stats.error from err
        raise _training_error(err, vocab_size) from err
    elapsed = time.perf_counter() - started

    logger.info(
        "read %d texts (%d bytes) as %d training lines (%d over-long lines chunked); "
        "trained vocab_size=%d in %.2fs",
        stats.texts,
        stats.bytes,
        stats.sentences,
        stats.split_lines,
        vocab_size,
        elapsed,
    )
    return Tokenizer.load(prefix + ".model")
