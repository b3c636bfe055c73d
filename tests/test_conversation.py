"""llm_core.conversation: a chat history fitted to the window, with what was dropped."""
from __future__ import annotations

import pytest

from llm_core.chat import encode_chat
from llm_core.conversation import ConversationError, fit_history
from llm_core.tokenizer import ASSISTANT_ID, BOS_ID, train_tokenizer


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    texts = ["Hola, ¿qué tal? Muy bien, gracias.\n", "Hello there, how are you? Fine.\n"] * 40
    return train_tokenizer(texts, tmp_path_factory.mktemp("tok") / "spm", vocab_size=300)


def turns(n: int) -> list[dict]:
    return [{"role": "user" if i % 2 == 0 else "assistant", "content": f"mensaje número {i} hola qué tal"}
            for i in range(n)]


def test_a_short_conversation_is_kept_whole(tok):
    msgs = turns(3)
    fit = fit_history(tok, msgs, window=256, reserve=32)
    assert fit.ids == encode_chat(tok, msgs, add_generation_prompt=True).ids
    assert not fit.dropped and fit.cut is None and not fit.overflowed
    assert fit.used == fit.full and fit.share == fit.used / (256 - 32)


def test_oldest_messages_are_dropped_whole_and_named(tok):
    msgs = turns(12)
    full = len(encode_chat(tok, msgs, add_generation_prompt=True).ids)
    fit = fit_history(tok, msgs, window=full // 2 + 16, reserve=16)
    assert fit.overflowed and fit.used <= fit.budget
    assert fit.ids[0] == BOS_ID and fit.ids[-1] == ASSISTANT_ID
    kept = msgs[len(fit.dropped):]
    assert fit.ids == [BOS_ID] + encode_chat(tok, kept, add_generation_prompt=True).ids[1:]  # the newest whole turns
    assert fit.dropped == msgs[:len(fit.dropped)] and fit.cut is None


def test_a_last_message_longer_than_the_window_keeps_its_end(tok):
    msgs = [{"role": "user", "content": "hola " * 200}]
    fit = fit_history(tok, msgs, window=64, reserve=16)
    assert fit.used == 48 and fit.ids[-1] == ASSISTANT_ID and fit.cut == 0
    assert fit.dropped == msgs
    assert fit.ids[-2] == encode_chat(tok, msgs).ids[-1]  # its <|end_of_turn|>, the end of the message


def test_near_full_warns_before_anything_is_dropped(tok):
    msgs = turns(4)
    need = len(encode_chat(tok, msgs, add_generation_prompt=True).ids)
    fit = fit_history(tok, msgs, window=need + 10, reserve=10)
    assert not fit.dropped and fit.near_full()
    assert not fit_history(tok, msgs, window=need * 4, reserve=10).near_full()


def test_a_reply_that_leaves_no_room_is_an_error(tok):
    with pytest.raises(ConversationError, match="at most 56 new tokens"):
        fit_history(tok, turns(1), window=64, reserve=60)
