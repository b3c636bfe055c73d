"""Tests for llm_core.tokenizer: a small bilingual tokenizer is trained once per module."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from llm_core.tokenizer import (
    NUM_RESERVED_PIECES,
    SPECIAL_IDS,
    SPECIAL_TOKENS,
    Tokenizer,
    _split_to_byte_limit,
    train_tokenizer,
)

VOCAB_SIZE = 400

SPANISH = """\
El niño comió una manzana roja en la cocina de su abuela.
¿Dónde está la biblioteca municipal? Está al lado de la plaza mayor.
¡Qué día tan bonito hace hoy! Vamos a caminar por el parque.
La canción del año pasado fue muy popular entre los jóvenes españoles.
Mañana por la mañana tengo una reunión con el equipo de investigación.
El señor Núñez compró pan, leche y huevos en la tienda de la esquina.
Los estudiantes aprendieron a programar en Python durante el verano.
¿Por qué el cielo es azul? Porque la luz se dispersa en la atmósfera.
Mi hermana pequeña quiere ser astronauta cuando sea mayor.
La economía del país creció un 3,5 por ciento el año pasado.
Ayer llovió tanto que las calles se convirtieron en ríos.
El tren sale de la estación a las 7:45 y llega a Sevilla a mediodía.
Después de la cena, leímos un libro de poesía en voz alta.
La inteligencia artificial está cambiando la forma en que trabajamos.
Un modelo de lenguaje predice la siguiente palabra de un texto.
¡Cuidado con el perro! Muerde a los desconocidos.
Las montañas del norte están cubiertas de nieve durante el invierno.
El informe de 2024 dice que 2024 fue un buen año, mejor que 2023.
El café de esta cafetería es el mejor de toda la ciudad.
"""

ENGLISH = """\
The quick brown fox jumps over the lazy dog near the river bank.
Where is the nearest train station? It is two blocks from here.
What a beautiful day! Let's go for a walk in the park.
Machine learning models need lots of data to train properly.
My grandmother baked an apple pie for the whole family yesterday.
The students learned how to write programs in Python this summer.
Why is the sky blue? Because sunlight is scattered by the atmosphere.
The economy grew by 3.5 percent last year, according to the report.
It rained so much that the streets turned into rivers.
The train leaves the station at 7:45 and arrives in London at noon.
After dinner, we read a book of poetry out loud together.
Artificial intelligence is changing the way people work and learn.
A language model predicts the next word in a piece of text.
Be careful with the dog! It bites strangers.
The mountains in the north are covered with snow during the winter.
The 2024 report says that 2024 was a good year, better than 2023.
This coffee shop serves the best coffee in the whole city.
"""

CODE = """\
def count_words(text):
    counts = {}
    for word in text.split():
        counts[word] = counts.get(word, 0) + 1
    return counts


class Stack:
    def __init__(self):
        self.items = []

    def push(self, item):
        self.items.append(item)
"""

CORPUS = [SPANISH, ENGLISH, CODE] * 3

ROUND_TRIP_CASES = {
    "spanish": "¿Qué tal, señor Muñoz? ¡Mañana comeremos piñones y jalapeños en Cádiz!",
    "english": "Hello world, this is a simple English sentence.",
    "emoji_seen_and_unseen": "Fiesta 🎉🦜 ok 👍🏽 fin",
    "code_indent": "def f(x):\n    if x:\n        return 1\n    return 0\n",
    "tabs": "\tcol1\tcol2\n\t\tnested",
    "multiple_spaces": "a  b   c    d",
    "leading_spaces": "   leading spaces",
    "trailing_whitespace": "trailing spaces   \t",
    "blank_lines": "first\n\n\nsecond\n\n",
    "only_newlines": "\n\n",
    "single_space": " ",
    "crlf": "windows\r\nline\r\n",
    "literal_control_token": "hola <|user|> y <|assistant|>x<|end_of_turn|>",
    "unseen_script": "Ωψ 日本語 Привет",
    "empty": "",
}


@pytest.fixture(scope="module")
def tok_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tokenizer")


@pytest.fixture(scope="module")
def tok(tok_dir: Path) -> Tokenizer:
    return train_tokenizer(CORPUS, tok_dir / "bilingual", vocab_size=VOCAB_SIZE)


# --- training output -----------------------------------------------------------


def test_training_writes_model_and_vocab(tok: Tokenizer, tok_dir: Path) -> None:
    assert (tok_dir / "bilingual.model").is_file()
    assert (tok_dir / "bilingual.vocab").is_file()
    assert tok.path == tok_dir / "bilingual.model"
    assert tok.vocab_size == len(tok) == VOCAB_SIZE


def test_vocab_has_learned_merges(tok: Tokenizer) -> None:
    # Guards against a degenerate model that only has specials + bytes + chars.
    learned = [tok.id_to_piece(i) for i in range(NUM_RESERVED_PIECES, tok.vocab_size)]
    assert any(len(p) >= 3 for p in learned)


# --- round trip ----------------------------------------------------------------


@pytest.mark.parametrize("text", ROUND_TRIP_CASES.values(), ids=ROUND_TRIP_CASES.keys())
def test_round_trip_is_exact(tok: Tokenizer, text: str) -> None:
    ids = tok.encode(text)
    assert tok.unk_id not in ids
    assert tok.decode(ids) == text


def test_unseen_emoji_uses_byte_fallback(tok: Tokenizer) -> None:
    pieces = tok.pieces("🦜")
    assert pieces == ["<0xF0>", "<0x9F>", "<0xA6>", "<0x9C>"]


def test_digits_are_split(tok: Tokenizer) -> None:
    # "2024" is frequent in the corpus; split_digits must still keep one digit per piece.
    assert tok.pieces("2024") == ["2", "0", "2", "4"]


def test_newline_is_a_byte_piece(tok: Tokenizer) -> None:
    # Documents the design choice: no user-defined "\n" piece, byte fallback instead.
    assert tok.pieces("\n") == ["<0x0A>"]


# --- special tokens ------------------------------------------------------------


def test_special_ids_are_fixed(tok: Tokenizer) -> None:
    expected = {
        "pad": 0,
        "unk": 1,
        "bos": 2,
        "eos": 3,
        "system": 4,
        "user": 5,
        "assistant": 6,
        "end_of_turn": 7,
    }
    assert tok.special_ids == expected == dict(SPECIAL_IDS)
    got = [
        tok.pad_id,
        tok.unk_id,
        tok.bos_id,
        tok.eos_id,
        tok.system_id,
        tok.user_id,
        tok.assistant_id,
        tok.end_of_turn_id,
    ]
    assert got == list(range(8))
    for name, token_id in expected.items():
        assert tok.id_to_piece(token_id) == SPECIAL_TOKENS[name]
        assert tok.piece_to_id(SPECIAL_TOKENS[name]) == token_id


def test_literal_control_text_is_not_special(tok: Tokenizer) -> None:
    special = set(SPECIAL_IDS.values())
    for name in ("system", "user", "assistant", "end_of_turn"):
        ids = tok.encode(SPECIAL_TOKENS[name])
        assert not special & set(ids), (name, tok.pieces_for(ids))
        assert tok.decode(ids) == SPECIAL_TOKENS[name]


def test_control_ids_decode_to_empty(tok: Tokenizer) -> None:
    ids = [tok.bos_id, tok.user_id, *tok.encode("hola"), tok.end_of_turn_id, tok.eos_id]
    assert tok.decode(ids) == "hola"


def test_bos_eos_flags(tok: Tokenizer) -> None:
    text = "Hola mundo"
    plain = tok.encode(text)
    assert plain and tok.bos_id not in plain and tok.eos_id not in plain
    assert tok.encode(text, bos=True) == [tok.bos_id, *plain]
    assert tok.encode(text, eos=True) == [*plain, tok.eos_id]
    assert tok.encode(text, bos=True, eos=True) == [tok.bos_id, *plain, tok.eos_id]


# --- batch, inspection, stats --------------------------------------------------


@pytest.mark.parametrize("flags", [{}, {"bos": True, "eos": True}])
def test_encode_batch_matches_encode(tok: Tokenizer, flags: dict[str, bool]) -> None:
    texts = list(ROUND_TRIP_CASES.values())
    assert tok.encode_batch(texts, **flags) == [tok.encode(t, **flags) for t in texts]
    assert tok.encode_batch(texts, num_threads=1, **flags) == tok.encode_batch(texts, **flags)
    assert tok.encode_batch([]) == []


def test_decode_accepts_tensors(tok: Tokenizer) -> None:
    torch = pytest.importorskip("torch")
    text = ROUND_TRIP_CASES["spanish"]
    assert tok.decode(torch.tensor(tok.encode(text))) == text


def test_out_of_range_id_is_rejected(tok: Tokenizer) -> None:
    with pytest.raises(IndexError, match="out of range"):
        tok.decode([tok.vocab_size])
    with pytest.raises(IndexError):
        tok.id_to_piece(-1)


def test_pieces_for_is_readable(tok: Tokenizer) -> None:
    ids = [tok.user_id, *tok.encode(" ñ🦜")]
    pieces = tok.pieces_for(ids)
    assert len(pieces) == len(ids)
    assert pieces[0] == "<|user|>"
    assert pieces[1] == "▁"
    assert pieces[2] == "ñ"  # seen in training: one piece, not bytes
    assert pieces[-4:] == ["<0xF0>", "<0x9F>", "<0xA6>", "<0x9C>"]


@pytest.mark.parametrize("key", ["spanish", "code_indent", "emoji_seen_and_unseen"])
def test_token_bytes_concatenate_to_text(tok: Tokenizer, key: str) -> None:
    text = ROUND_TRIP_CASES[key]
    ids = tok.encode(text, bos=True, eos=True)
    assert b"".join(tok.token_bytes(i) for i in ids) == text.encode("utf-8")


@pytest.mark.parametrize("text", [SPANISH, ENGLISH], ids=["spanish", "english"])
def test_bytes_per_token_compresses(tok: Tokenizer, text: str) -> None:
    lines = text.splitlines()
    bpt = tok.bytes_per_token(lines)
    assert bpt > 1.5
    total = sum(len(t.encode()) for t in lines) / sum(len(tok.encode(t)) for t in lines)
    assert bpt == pytest.approx(total)


def test_bytes_per_token_rejects_empty(tok: Tokenizer) -> None:
    with pytest.raises(ValueError):
        tok.bytes_per_token([""])


# --- save / load ---------------------------------------------------------------


def test_save_load_round_trip(tok: Tokenizer, tmp_path: Path) -> None:
    saved = tok.save(tmp_path / "export" / "tokenizer.model")
    loaded = Tokenizer.load(saved)
    assert loaded.path == saved
    assert loaded.vocab_size == tok.vocab_size
    texts = list(ROUND_TRIP_CASES.values())
    assert loaded.encode_batch(texts, bos=True) == tok.encode_batch(texts, bos=True)
    assert saved.read_bytes() == tok.path.read_bytes()


def test_load_missing_file_names_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "tokenizer.model"
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        Tokenizer.load(missing)


@pytest.mark.parametrize("content", [b"this is not a sentencepiece model", b""])
def test_load_garbage_file_names_path(tmp_path: Path, content: bytes) -> None:
    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(str(garbage))):
        Tokenizer.load(garbage)


def test_load_rejects_other_special_layout(tok: Tokenizer, tmp_path: Path) -> None:
    model_pb2 = pytest.importorskip("sentencepiece.sentencepiece_model_pb2")  # needs protobuf
    proto = model_pb2.ModelProto()
    proto.ParseFromString(tok.processor.serialized_model_proto())
    proto.pieces[5].piece = "<|usuario|>"
    other = tmp_path / "other.model"
    other.write_bytes(proto.SerializeToString())
    with pytest.raises(ValueError, match=re.escape(str(other))):
        Tokenizer.load(other)


# --- training errors and long lines --------------------------------------------


@pytest.mark.parametrize("texts", [[], [""], ["\n\n\n"]], ids=["no_texts", "empty", "newlines"])
def test_train_on_empty_input_raises(tmp_path: Path, texts: list[str]) -> None:
    with pytest.raises(ValueError, match="empty"):
        train_tokenizer(iter(texts), tmp_path / "empty", vocab_size=VOCAB_SIZE)


@pytest.mark.parametrize("vocab_size", [100, NUM_RESERVED_PIECES + 5])
def test_train_with_too_small_vocab_raises(tmp_path: Path, vocab_size: int) -> None:
    # 100 is caught before training; 269 only fails once SentencePiece counts the characters.
    with pytest.raises(ValueError, match=f"vocab_size={vocab_size} is too small"):
        train_tokenizer(CORPUS, tmp_path / "small", vocab_size=vocab_size)


def test_train_with_too_large_vocab_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocab_size=50000 is too large"):
        train_tokenizer([ENGLISH], tmp_path / "large", vocab_size=50_000)


def test_train_rejects_non_str(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="bytes"):
        train_tokenizer([ENGLISH, b"raw bytes"], tmp_path / "bad", vocab_size=VOCAB_SIZE)


def test_very_long_line_is_not_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Greek appears only in one 25 KB line (over the 16 KB default limit).
    # SentencePiece would skip that line whole, leaving Ω/ψ as byte fallback.
    long_line = "Ωψ ψΩ " * 2500
    assert len(long_line.encode("utf-8")) > 20_000 and "\n" not in long_line
    texts = [ENGLISH, long_line]
    total_bytes = sum(len(t.encode("utf-8")) for t in texts)

    with caplog.at_level(logging.INFO, logger="llm_core.tokenizer"):
        tok = train_tokenizer(texts, tmp_path / "long", vocab_size=NUM_RESERVED_PIECES + 60)

    assert tok.pieces("Ωψ") in (["Ωψ"], ["Ω", "ψ"])
    log = caplog.text
    assert f"read 2 texts ({total_bytes} bytes)" in log
    assert "1 over-long lines chunked" in log


@pytest.mark.parametrize("line", ["ñ" * 1001, "ab🦜" * 300, "palabra " * 200, "x"])
def test_long_line_chunks_respect_byte_limit_and_characters(line: str) -> None:
    chunks = list(_split_to_byte_limit(line, 37))
    assert "".join(chunks) == line
    assert all(0 < len(c.encode("utf-8")) <= 37 for c in chunks)


def test_hf_transformers_reproduces_ids(tok: Tokenizer, tmp_path: Path) -> None:
    """The .model stays standard: transformers' LlamaTokenizer gives the same ids.

    transformers needs add_prefix_space=False (we train without a dummy prefix)
    and split_special_tokens=True (so literal "<|user|>" text stays plain text).
    """
    transformers = pytest.importorskip("transformers")
    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("checked against transformers 5 (tokenizers-backed LlamaTokenizer)")
    tok.save(tmp_path / "tokenizer.model")
    config = {
        "tokenizer_class": "LlamaTokenizer",
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "split_special_tokens": True,
        "bos_token": SPECIAL_TOKENS["bos"],
        "eos_token": SPECIAL_TOKENS["eos"],
        "pad_token": SPECIAL_TOKENS["pad"],
        "unk_token": SPECIAL_TOKENS["unk"],
    }
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert (hf.bos_token_id, hf.eos_token_id, hf.pad_token_id) == (2, 3, 0)
    for text in ROUND_TRIP_CASES.values():
        ids = hf.encode(text, add_special_tokens=False)
        assert ids == tok.encode(text), text
        assert hf.decode(ids) == text
