"""TextStream: generated ids become text as they arrive, never showing half a character."""
import random

import pytest

from llm_core.chat import decode_reply
from llm_core.textstream import TextStream
from llm_core.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    texts = ["Hola, ¿qué tal? Muy bien, gracias. Adiós.\n", "Hello there, how are you? Fine, thanks.\n"] * 40
    return train_tokenizer(texts, tmp_path_factory.mktemp("tok") / "spm", vocab_size=300)


def _pushes(ts, ids):
    return [ts.push(i) for i in ids]


def test_emoji_split_over_byte_tokens_is_held_back_then_printed_whole(tok):
    ids = tok.encode("Hola 😀 bien")
    emoji = [i for i in ids if tok.pieces_for([i])[0].startswith("<0x")]
    assert len(emoji) == 4  # not in the vocabulary: one token per UTF-8 byte
    ts = TextStream(tok)
    outs = _pushes(ts, ids)
    first = ids.index(emoji[0])
    assert outs[first:first + 3] == ["", "", ""]  # its first three bytes show nothing
    assert "😀" in outs[first + 3]  # the last byte prints the whole character
    assert not any("\ufffd" in o for o in outs)
    assert "".join(outs) + ts.flush() == tok.decode(ids) == ts.text == "Hola 😀 bien"
    assert ts.ids == ids


def test_reply_drops_the_templates_leading_space(tok):
    ids = tok.encode(" Muy bien")
    ts = TextStream(tok, reply=True)
    outs = _pushes(ts, ids)
    assert not next(o for o in outs if o).startswith(" ")
    assert "".join(outs) + ts.flush() == "Muy bien" == decode_reply(tok, ids)


def test_reply_keeps_a_space_the_model_wrote_after_the_templates(tok):
    ids = [tok.end_of_turn_id - 1, *tok.encode("  two")]  # a control id first decodes to ""
    ts = TextStream(tok, reply=True)
    assert "".join(_pushes(ts, ids)) + ts.flush() == " two" == decode_reply(tok, ids)


def test_flush_shows_an_unfinished_character(tok):
    ids = tok.encode("ok 😀")[:-1]  # the emoji's last byte never came
    ts = TextStream(tok)
    shown = "".join(_pushes(ts, ids))
    assert shown == "ok "
    rest = ts.flush()
    assert rest.endswith("\ufffd") and shown + rest == tok.decode(ids)
    assert ts.flush() == ""  # nothing left


@pytest.mark.parametrize("reply", [False, True])
def test_concatenated_pushes_equal_decode_for_any_ids(tok, reply):
    rng = random.Random(0)
    decode = (lambda ids: decode_reply(tok, ids)) if reply else tok.decode
    for _ in range(300):  # most ids of a 300-piece model are byte pieces: valid and invalid UTF-8
        ids = [rng.randrange(tok.vocab_size) for _ in range(rng.randint(1, 24))]
        ts = TextStream(tok, reply=reply)
        assert "".join(_pushes(ts, ids)) + ts.flush() == decode(ids) == ts.text, ids
