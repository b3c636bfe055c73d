"""Multi-turn task dialogues: llm_core.tasks.dialogues (building), llm_core.evaluate.dialogues
(accuracy by turn) and llm_core.evaluate.chat_loss (held-out conversation loss)."""
import json
from types import SimpleNamespace

import pytest
import torch

from llm_core.chat import encode_chat
from llm_core.config import ModelConfig
from llm_core.model import Transformer
from llm_core.tasks import dialogues as dl
from llm_core.tasks.items import TASKS, make_item


def _items(split: str, per: int = 6) -> list:
    """Items of every task in both languages; `split` makes their prompts (and so units) distinct."""
    out = []
    for lang in ("es", "en"):
        for task in TASKS:
            for i in range(per):
                answer = {"arithmetic": str(i + 3), "count_words": str(i + 2)}.get(task, f"alfa beta {split}{i} gamma")
                out.append(make_item(task, lang, f"{task} {lang} {split} {i}?", answer, f"{split}-{task}-{i}"))
    return out


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    from llm_core.tokenizer import train_tokenizer

    return train_tokenizer(["hola mundo y algo más alfa beta gamma\n", "hello world and more 1 2 3\n"] * 50,
                           tmp_path_factory.mktemp("tok") / "t", vocab_size=300)


def test_dialogues_keep_one_language_distinct_tasks_and_their_split():
    train, held = _items("train"), _items("held")
    ds = dl.build_dialogues(train, 200, seed=1)
    assert len(ds) == 200 and {d.lang for d in ds} == {"es", "en"}
    train_ids = {i.id for i in train}
    for d in ds:
        tasks = [t.task for t in d.turns if t.task != dl.FOLLOW_UP]
        assert 2 <= len(tasks) <= 3 and len(set(tasks)) == len(tasks)
        assert all(t.lang == d.lang for t in d.turns)
        assert all(t.id in train_ids for t in d.turns if t.task != dl.FOLLOW_UP)
    assert 0.3 < sum(d.turns[-1].task == dl.FOLLOW_UP for d in ds) / len(ds) < 0.7
    hd = dl.build_dialogues(held, 20, seed=1, turns=(3,), follow_up_share=1.0)
    assert not {t.id for d in hd for t in d.turns if t.task != dl.FOLLOW_UP} & train_ids
    assert dl.build_dialogues(train, 200, seed=1) == ds  # the same every run


def test_rotated_dialogues_ask_every_item_at_every_turn():
    from collections import Counter

    held = _items("held", per=20)
    ds = dl.build_dialogues(held, 2 * 3 * 7, seed=3, turns=(3,), follow_up_share=1.0, rotate=True)
    for lang in ("es", "en"):
        mine = [[t.id for t in d.turns if t.task != dl.FOLLOW_UP] for d in ds if d.lang == lang]
        by_turn = [Counter(ids[k] for ids in mine) for k in range(3)]
        assert by_turn[0] == by_turn[1] == by_turn[2]  # the same questions at turn 1, 2 and 3
        assert set(by_turn[0].values()) == {1} and len(by_turn[0]) == 21  # each once per turn: 7 runs of 3
        tasks = [[t.task for t in d.turns if t.task != dl.FOLLOW_UP] for d in ds if d.lang == lang]
        assert all(len(set(ts)) == 3 for ts in tasks)  # still three different tasks in each
    plain = dl.build_dialogues(held, 42, seed=3, turns=(3,), follow_up_share=1.0)
    assert len({t.id for d in plain for t in d.turns if t.task != dl.FOLLOW_UP}) == 42 * 3  # no rotation: all new


def test_follow_ups_answer_from_the_previous_answer():
    rng = dl.Rng(0)
    for _ in range(30):
        f = dl.follow_up("uno dos tres", "es", rng)
        kind = f.source.split(":")[0]
        assert f.prompt in dl.FOLLOW_UPS[kind]["es"]
        assert f.answer == {"again": "uno dos tres", "count": "3", "reverse": "tres dos uno"}[kind]
    assert dl.follow_up("7", "en", rng, kinds=("plus_one",)).answer == "8"
    assert dl.follow_up("Spanish", "en", rng, kinds=("count", "reverse", "plus_one")) is None


def test_only_the_assistant_turns_are_trained_on(tok):
    d = dl.build_dialogues(_items("train"), 1, seed=2, turns=(3,), follow_up_share=1.0)[0]
    enc = encode_chat(tok, d.messages())
    trained = tok.decode([t for t, m in zip(enc.ids, enc.loss_mask) if m and t != tok.end_of_turn_id])
    assert all(t.answer in trained for t in d.turns)
    assert not any(t.prompt in trained for t in d.turns)


def test_dialogues_round_trip_and_a_bad_line_is_named(tmp_path):
    ds = dl.build_dialogues(_items("train"), 5, seed=3)
    dl.save_dialogues(tmp_path / "d.jsonl", ds)
    assert dl.load_dialogues(tmp_path / "d.jsonl") == ds
    (tmp_path / "bad.jsonl").write_text(json.dumps({"id": "x", "lang": "es", "turns": [{"task": "repeat"}]}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: turn 1: missing"):
        dl.load_dialogues(tmp_path / "bad.jsonl")


def test_turn_accuracy_uses_the_models_own_history_and_previous_answer(tok, monkeypatch):
    from llm_core.evaluate import dialogues as ev

    d = dl.Dialogue("dialogue-es-0-0", "es", (
        make_item("repeat", "es", "Repite: uno dos", "uno dos", "a"),
        make_item("count_words", "es", "Cuenta las palabras: a b c", "3", "b"),
        make_item("repeat", "es", "Repite: tres", "tres", "c"),
        make_item(dl.FOLLOW_UP, "es", "Repítelo, por favor.", "tres", "again:tres")))
    # In the conversation turns 2 and 3 are wrong and the follow-up repeats its own answer; asked
    # alone (a single message), turn 2 is right and turn 3 still wrong.
    replies = iter(["uno dos", "4", "3", "cuatro", "cinco", "cuatro"])
    seen = []
    monkeypatch.setattr(ev, "_reply", lambda model, tokenizer, msgs, n: seen.append(list(msgs)) or next(replies))
    rows = ev.dialogue_rows(SimpleNamespace(), tok, [d], progress=False)
    assert [r["score"] for r in rows] == [1.0, 0.0, 0.0, 1.0]
    assert [r["alone_score"] for r in rows] == [None, 1.0, 0.0, None]  # asked alone: task turns after the first
    assert seen[2] == [{"role": "user", "content": "Cuenta las palabras: a b c"}]  # alone: no history at all
    assert seen[5][-2] == {"role": "assistant", "content": "cuatro"}  # what it said, not the right answer
    scores = ev.turn_scores(rows)
    assert scores == {"dialogues": 1, "turn_1": 1.0, "turn_2": 0.0, "turn_2_alone": 1.0, "turn_3": 0.0,
                      "turn_3_alone": 0.0, "follow_up": 1.0, "follow_up_again": 1.0}
    assert ev.turn_items(rows, "turn_2_alone") == 1 and ev.turn_items(rows, "turn_1") == 1

    monkeypatch.undo()  # the real path: a tiny model answering every turn greedily
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=64)).eval()
    rows = ev.dialogue_rows(model, tok, [d], max_new_tokens=4, progress=False)
    assert [r["position"] for r in rows] == [1, 2, 3, 4] and all(0.0 <= r["score"] <= 1.0 for r in rows)


def test_held_out_chat_loss_scores_only_replies_and_drops_with_training(tok):
    from llm_core.evaluate.chat_loss import chat_loss

    convs = [[{"role": "user", "content": "hola mundo"}, {"role": "assistant", "content": "alfa beta gamma"}]] * 4
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=64))
    before = chat_loss(model, tok, convs)
    enc = encode_chat(tok, convs[0])
    assert before.tokens == 4 * enc.n_loss and before.bytes == 4 * len(" alfa beta gamma".encode())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.tensor([enc.ids[:-1]])
    y = torch.tensor([[t if m else -100 for t, m in zip(enc.ids[1:], enc.loss_mask[1:])]])
    for _ in range(30):
        model.train()
        model(x, y)[1].backward()
        opt.step()
        opt.zero_grad()
    after = chat_loss(model, tok, convs)
    assert after.loss < before.loss / 2 and after.bits_per_byte < before.bits_per_byte
    with pytest.raises(ValueError, match="at least one"):
        chat_loss(model, tok, [])
