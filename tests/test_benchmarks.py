import numpy as np
import pytest

from llm_core import benchmarks as bm
from llm_core.data import chat_corpus
from llm_core.tasks import TaskItem


def test_compressors_find_repetition():
    rep = b"abcabcabc" * 500
    noise = np.random.default_rng(0).integers(0, 256, 4500, dtype=np.uint8).tobytes()
    a, b = bm.compressor_bits_per_byte(rep), bm.compressor_bits_per_byte(noise)
    assert set(a) == {"gzip", "bz2", "xz"}
    assert all(a[k] < 0.5 for k in a) and all(b[k] > 7.5 for k in b)


def test_documents_from_tokens_splits_at_begin_of_text():
    ids = np.array([2, 5, 6, 2, 7, 2, 8, 9, 10])
    docs = bm.documents_from_tokens(ids, bos_id=2)
    assert [d.tolist() for d in docs] == [[5, 6], [7], [8, 9, 10]]


def test_known_word_share_counts_words_not_punctuation():
    share, n = bm.known_word_share(["Hola, mundo 42!", "zzqx hola"], {"hola", "mundo"})
    assert n == 4 and share == pytest.approx(3 / 4)


def test_task_accuracy_is_per_task_and_macro():
    items = [TaskItem("arithmetic", "en", "What is 1 plus 1?", "2", "a"),
             TaskItem("arithmetic", "en", "What is 2 plus 2?", "4", "b"),
             TaskItem("repeat", "en", "Repeat: x y", "x y", "c")]
    acc, rows = bm.task_accuracy(lambda it: {"a": "2", "b": "5", "c": "x y."}[it.id], items)
    assert acc["arithmetic"] == 0.5 and acc["repeat"] == 1.0 and acc["macro"] == 0.75
    assert [r["score"] for r in rows] == [1.0, 0.0, 1.0]


def test_chat_answer_uses_the_template_and_stops_at_end_of_turn(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from llm_core.chat import encode_chat
    from llm_core.tokenizer import train_tokenizer

    tok = train_tokenizer(["hola mundo y algo más\n", "hello world and more\n"] * 50, tmp_path / "t", vocab_size=300)
    seen = {}

    def fake_generate(model, ids, cfg, stop_ids=()):
        seen.update(ids=list(ids), stop=list(stop_ids), temperature=cfg.temperature)
        return SimpleNamespace(ids=tok.encode(" 42\nmore"))

    monkeypatch.setattr(bm, "generate", fake_generate)
    model = SimpleNamespace(cfg=SimpleNamespace(max_seq_len=64))
    answer = bm.chat_answer(model, tok, TaskItem("arithmetic", "en", "What is 40 plus 2?", "42", "x"))
    expected = encode_chat(tok, [{"role": "user", "content": "What is 40 plus 2?"}], add_generation_prompt=True).ids
    assert seen["ids"] == expected and tok.end_of_turn_id in seen["stop"] and seen["temperature"] == 0.0
    assert answer == "42"  # first line, stripped


def test_packaged_conversations_alternate_roles():
    from collections import Counter

    counts = Counter()
    es = list(chat_corpus.chatterbot("es", counts))
    assert len(es) > 200 and counts["chatterbot-es"] == len(es)
    for conv in es[:50]:
        assert [m["role"] for m in conv] == ["user", "assistant"] * (len(conv) // 2)
    chit = list(chat_corpus.chitchat(limit=20, counts=counts))
    assert len(chit) == 20 and counts["chitchat: over the limit"] > 1000
    assert chat_corpus.to_messages(["only a question"]) is None
