import json
import math

import numpy as np
import pytest
import torch

from llm_core.config import ModelConfig
from llm_core.data.documents import Document
from llm_core.data.tokens import TokenFile, TokenWriter, write_tokens
from llm_core.evaluate import accuracy
from llm_core.evaluate.accuracy import (
    chat_answer,
    limit_per_task,
    task_accuracy,
    task_table,
)
from llm_core.evaluate.lm import (
    compressor_bits_per_byte,
    documents_from_tokens,
    evaluate_tokens,
    text_of_tokens,
)
from llm_core.evaluate.samples import (
    corpus_vocabulary,
    known_word_share,
    prompted_samples,
    recognisable_words,
    words,
)
from llm_core.model import Transformer
from llm_core.tasks.items import TaskItem


def _uniform_model(vocab=256):
    m = Transformer(ModelConfig(vocab_size=vocab, dim=32, n_layers=1, n_heads=2, max_seq_len=32, tie_embeddings=False))
    torch.nn.init.zeros_(m.lm_head.weight)  # every logit 0: a uniform guess
    return m


def test_uniform_model_scores_log_vocab_and_exact_bits_per_byte(byte_tokens):
    s = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, batch_size=3)
    assert s.tokens == len(byte_tokens) - 1  # every token but the first predicted once
    assert s.loss == pytest.approx(math.log(256), rel=1e-5)
    assert s.perplexity == pytest.approx(256, rel=1e-4)
    # byte-level tokens over ASCII-heavy text: 8 bits per predicted byte, scaled by bytes/token
    expected_bpb = 8.0 * s.tokens / s.bytes
    assert s.bits_per_byte == pytest.approx(expected_bpb, rel=1e-5)


def test_bits_per_byte_uses_the_byte_count_not_tokens(tmp_path):
    ids = np.arange(100) % 256
    write_tokens(tmp_path / "a.bin", ids, 256, n_bytes=400)  # each token stands for 4 bytes
    s = evaluate_tokens(_uniform_model(), TokenFile(tmp_path / "a.bin"), seq_len=32)
    assert s.bits_per_byte == pytest.approx(8.0 / 4, rel=1e-4)


def test_max_tokens_scores_a_prefix_and_scales_bytes(byte_tokens):
    s = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, max_tokens=100)
    assert s.tokens == 100
    assert s.bytes == pytest.approx(byte_tokens.n_bytes * 100 / len(byte_tokens))


def test_trained_model_beats_uniform(byte_tokens, tiny_model):
    from llm_core.config import TrainConfig
    from llm_core.data.loader import TokenWindows
    from llm_core.train import train

    before = evaluate_tokens(tiny_model, byte_tokens, seq_len=64).bits_per_byte
    train(tiny_model, TrainConfig(max_steps=30, batch_size=8, seq_len=64, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                                   eval_interval=0, device="cpu"), TokenWindows(byte_tokens, 64, 8), progress=False)
    after = evaluate_tokens(tiny_model, byte_tokens, seq_len=64).bits_per_byte
    assert after < before * 0.7


def test_token_file_round_trip_and_dtype(tmp_path):
    with TokenWriter(tmp_path / "t.bin", vocab_size=70000) as w:
        w.write([1, 2, 69999], n_bytes=5, documents=1)
        w.write([3], n_bytes=2, documents=1)
    tf = TokenFile(tmp_path / "t.bin")
    assert tf.ids.dtype == np.uint32 and list(tf.ids) == [1, 2, 69999, 3]
    assert tf.meta["documents"] == 2 and tf.n_bytes == 7
    write_tokens(tmp_path / "s.bin", [5, 6], vocab_size=300, n_bytes=2)
    assert TokenFile(tmp_path / "s.bin").ids.dtype == np.uint16


def test_token_file_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.bin"):
        TokenFile(tmp_path / "nope.bin")
    write_tokens(tmp_path / "t.bin", [1, 2, 3], 256, 3)
    meta = json.loads((tmp_path / "t.json").read_text())
    (tmp_path / "t.json").write_text(json.dumps({**meta, "tokens": 4}))
    with pytest.raises(ValueError, match=r"t\.bin: 6 bytes on disk but metadata says 4 tokens"):
        TokenFile(tmp_path / "t.bin")
    (tmp_path / "t.json").write_text("{")
    with pytest.raises(ValueError, match=r"t\.json: not valid JSON"):
        TokenFile(tmp_path / "t.bin")
    with pytest.raises(ValueError, match="out of range"):
        write_tokens(tmp_path / "u.bin", [1, 300], 256, 2)
    assert not (tmp_path / "u.bin").exists()  # a failed write leaves nothing behind


# ------------------------------------------- compressors, task accuracy, samples

def test_compressors_find_repetition():
    rep = b"abcabcabc" * 500
    noise = np.random.default_rng(0).integers(0, 256, 4500, dtype=np.uint8).tobytes()
    a, b = compressor_bits_per_byte(rep), compressor_bits_per_byte(noise)
    assert set(a) == {"gzip", "bz2", "xz"}
    assert all(a[k] < 0.5 for k in a) and all(b[k] > 7.5 for k in b)


def test_documents_from_tokens_splits_at_begin_of_text():
    ids = np.array([2, 5, 6, 2, 7, 2, 8, 9, 10])
    docs = documents_from_tokens(ids, bos_id=2)
    assert [d.tolist() for d in docs] == [[5, 6], [7], [8, 9, 10]]


def test_text_of_tokens_decodes_each_document(tok):
    ids = np.array(tok.encode("hola mundo", bos=True) + tok.encode("hello world", bos=True))
    assert text_of_tokens(ids, tok) == b"hola mundohello world"


def test_known_word_share_counts_words_not_punctuation():
    share, n = known_word_share(["Hola, mundo 42!", "zzqx hola"], {"hola", "mundo"})
    assert n == 4 and share == pytest.approx(3 / 4)


def test_corpus_vocabulary_is_every_lower_cased_word():
    docs = [Document("a", "s", "Hola, Mundo 42", {"lang": "es"}), Document("b", "s", "hello_world", {"lang": "en"})]
    assert corpus_vocabulary(docs, progress=False) == {"hola", "mundo", "hello", "world"}


def test_task_accuracy_is_per_task_and_macro():
    items = [TaskItem("arithmetic", "en", "What is 1 plus 1?", "2", "a"),
             TaskItem("arithmetic", "en", "What is 2 plus 2?", "4", "b"),
             TaskItem("repeat", "en", "Repeat: x y", "x y", "c")]
    acc, rows = task_accuracy(lambda it: {"a": "2", "b": "5", "c": "x y."}[it.id], items)
    assert acc["arithmetic"] == 0.5 and acc["repeat"] == 1.0 and acc["macro"] == 0.75
    assert [r["score"] for r in rows] == [1.0, 0.0, 1.0]


def test_limit_per_task_keeps_the_first_of_each_task_and_language():
    items = [TaskItem(t, lang, f"{t} {lang} {i}", "x", f"{t}-{lang}-{i}") for t in ("repeat", "lang_id")
             for i in range(4) for lang in ("en", "es")]
    assert limit_per_task(items, 0) == items
    kept = limit_per_task(items, 3)  # (3 + 1) // 2 = 2 per (task, language)
    assert [it.id for it in kept] == ["repeat-en-0", "repeat-es-0", "repeat-en-1", "repeat-es-1",
                                      "lang_id-en-0", "lang_id-es-0", "lang_id-en-1", "lang_id-es-1"]


def test_task_table_asks_base_at_each_k_and_chat_once(monkeypatch):
    items = [TaskItem("arithmetic", "en", f"What is {i} plus 1?", str(i + 1), f"h{i}") for i in range(3)]
    pool = [TaskItem("arithmetic", "en", f"What is {i} plus 2?", str(i + 2), f"t{i}") for i in range(5)]
    asked = []

    def fake_base(model, tokenizer, item, shots, max_new_tokens=24):
        asked.append(("base", len(shots)))
        return item.answer if len(shots) == 3 else "0"

    monkeypatch.setattr(accuracy, "base_answer", fake_base)
    monkeypatch.setattr(accuracy, "chat_answer", lambda model, tokenizer, item: item.answer)
    table, rows = task_table("base", "chat", None, items, pool, [0, 3], progress=False)
    assert list(table) == ["base_0shot", "base_3shot", "chat_0shot"]
    assert table["base_0shot"]["macro"] == 0.0 and table["base_3shot"]["arithmetic"] == 1.0
    assert table["chat_0shot"] == {"arithmetic": 1.0, "macro": 1.0}
    assert asked == [("base", 0)] * 3 + [("base", 3)] * 3
    assert [r["model"] for r in rows] == ["base_0shot"] * 3 + ["base_3shot"] * 3 + ["chat_0shot"] * 3


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    from llm_core.tokenizer import train_tokenizer

    return train_tokenizer(["hola mundo y algo más\n", "hello world and more\n"] * 50,
                           tmp_path_factory.mktemp("tok") / "t", vocab_size=300)


def test_chat_answer_uses_the_template_and_stops_at_end_of_turn(tok, monkeypatch):
    from types import SimpleNamespace

    from llm_core.chat import encode_chat

    seen = {}

    def fake_generate(model, ids, cfg, stop_ids=()):
        seen.update(ids=list(ids), stop=list(stop_ids), temperature=cfg.temperature)
        return SimpleNamespace(ids=tok.encode(" 42\nmore"))

    monkeypatch.setattr(accuracy, "generate", fake_generate)
    model = SimpleNamespace(cfg=SimpleNamespace(max_seq_len=64))
    answer = chat_answer(model, tok, TaskItem("arithmetic", "en", "What is 40 plus 2?", "42", "x"))
    expected = encode_chat(tok, [{"role": "user", "content": "What is 40 plus 2?"}], add_generation_prompt=True).ids
    assert seen["ids"] == expected and tok.end_of_turn_id in seen["stop"] and seen["temperature"] == 0.0
    assert answer == "42"  # first line, stripped


def _sampling_model(tok):
    torch.manual_seed(0)
    return Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=64)).eval()


def test_prompted_samples_one_row_per_prompt_and_temperature(tok, capsys):
    from llm_core.config import SampleConfig

    model = _sampling_model(tok)
    prompts = {"es": ("hola", "algo"), "en": ("hello",)}
    cfg = lambda t: SampleConfig(max_new_tokens=4, temperature=t, top_k=5, seed=0)
    rows = prompted_samples(model, model, tok, prompts, (0.0, 0.8), cfg)
    assert [(r["lang"], r["prompt"], r["temperature"]) for r in rows] == [
        ("es", "hola", 0.0), ("es", "hola", 0.8), ("es", "algo", 0.0), ("es", "algo", 0.8),
        ("en", "hello", 0.0), ("en", "hello", 0.8)]
    assert all(isinstance(r["base"], str) and isinstance(r["chat"], str) for r in rows)
    assert "prompted samples" in capsys.readouterr().err  # progress on stderr
    assert prompted_samples(model, model, tok, prompts, (0.0, 0.8), cfg, progress=False) == rows


def test_recognisable_words_per_language(tok):
    from llm_core.config import SampleConfig

    model = _sampling_model(tok)
    cfgs = []

    def cfg(i):
        cfgs.append(i)
        return SampleConfig(max_new_tokens=6, temperature=0.8, top_k=20, seed=i)

    out, texts = recognisable_words(model, tok, {"es": ("hola",), "en": ("hello", "world")}, 3, cfg,
                                    vocabulary=set(), progress=False)
    assert set(out) == {"known_words_es", "generated_words_es", "known_words_en", "generated_words_en"}
    assert out["known_words_es"] == 0.0 and [len(texts[k]) for k in ("es", "en")] == [3, 3]
    assert cfgs == [0, 1, 2, 0, 1, 2]
    everything = {w for ts in texts.values() for t in ts for w in words(t)}
    again, _ = recognisable_words(model, tok, {"es": ("hola",), "en": ("hello", "world")}, 3, cfg,
                                  vocabulary=everything, progress=False)
    assert all(again[f"known_words_{k}"] == (1.0 if again[f"generated_words_{k}"] else 0.0) for k in ("es", "en"))


def test_evaluate_tokens_progress_on_stderr_only(byte_tokens, capsys):
    quiet = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, progress=False)
    assert capsys.readouterr().err == ""
    shown = evaluate_tokens(_uniform_model(), byte_tokens, seq_len=32, desc="base: validation loss")
    captured = capsys.readouterr()
    assert "base: validation loss" in captured.err and captured.out == ""
    assert shown == quiet


def test_a_reply_is_scored_for_language_sentence_and_chrf():
    from llm_core.evaluate.replies import score

    vocab = {"hola", "en", "qué", "te", "puedo", "ayudar", "hello", "how", "can", "i", "help", "you"}
    refs = ("¡Hola! ¿En qué te puedo ayudar?",)
    good = score("¡Hola! ¿En qué te puedo ayudar?", "es", refs, vocab)
    assert good == {"language": 1.0, "sentence": 1.0, "chrf": pytest.approx(1.0), "known": 1.0, "words": 6}
    wrong_lang = score("Hello, how can I help you?", "es", refs, vocab)
    assert wrong_lang["language"] == 0.0 and wrong_lang["sentence"] == 1.0 and wrong_lang["chrf"] < 0.5
    assert score("10", "es", refs, vocab) == {"language": 0.0, "sentence": 0.0, "chrf": pytest.approx(0.0, abs=0.05),
                                              "known": 0.0, "words": 0}
    babble = score("Siés plurf zanq", "es", refs, vocab)
    assert babble["sentence"] == 0.0 and babble["known"] == 0.0  # three words, none of them the corpus's


def test_reply_scores_ask_through_the_template_and_average_per_language(tok, monkeypatch):
    from types import SimpleNamespace

    from llm_core.evaluate import replies

    answers = {"Hola": "¡Hola! ¿En qué te puedo ayudar?", "Hello": "xq"}
    monkeypatch.setattr(replies, "reply", lambda model, tokenizer, prompt, max_new_tokens: answers[prompt])
    held = [{"topic": "greeting", "lang": "es", "prompt": "Hola", "references": ["¡Hola! ¿En qué te puedo ayudar?"]},
            {"topic": "greeting", "lang": "en", "prompt": "Hello", "references": ["Hello! How can I help you?"]}]
    vocab = {"hola", "en", "qué", "te", "puedo", "ayudar"}
    scores, rows = replies.reply_scores(SimpleNamespace(), tok, held, vocab, progress=False)
    assert scores["reply_prompts"] == 2 and scores["reply_language_es"] == 1.0 and scores["reply_sentence_en"] == 0.0
    assert scores["reply_sentence"] == 0.5 and [r["reply"] for r in rows] == list(answers.values())
    assert scores["reply_known_words"] == round(6 / 7, 4)  # by words: six known, "xq" not
    assert scores["reply_known_words_es"] == 1.0 and scores["reply_known_words_en"] == 0.0

    monkeypatch.undo()  # the real path: a tiny model's greedy reply through the chat template
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=64)).eval()
    text = replies.reply(model, tok, "Hola", max_new_tokens=8)
    assert isinstance(text, str) and text == replies.reply(model, tok, "Hola", max_new_tokens=8)  # greedy
