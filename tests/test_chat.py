"""Chat format (llm_core.chat), chat data files (llm_core.data.chat_files) and fine-tuning batches
(llm_core.data.chat_batches)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from llm_core.chat import (
    decode_reply,
    CHAT_TEMPLATE_JINJA,
    ChatTokens,
    encode_chat,
    encode_conversations,
    render_chat,
    truncate_left,
)
from llm_core.config import ModelConfig
from llm_core.data.chat_batches import ChatBatches
from llm_core.data.chat_files import ChatFormatError, ChatReadReport, read_chat_file
from llm_core.model import Transformer
from llm_core.tokenizer import (
    ASSISTANT_ID,
    BOS_ID,
    END_OF_TURN_ID,
    PAD_ID,
    SYSTEM_ID,
    USER_ID,
    Tokenizer,
    train_tokenizer,
)

CORPUS = [
    """Buenos días. ¿Cómo estás? Estoy bien, gracias, ¿y tú? Hoy hace sol y vamos a la playa.
La estación de tren está al lado de la panadería, a dos calles de la plaza mayor.
Mi abuela cocina una tortilla de patatas riquísima; la receta lleva huevos, patatas, cebolla y aceite.
El pingüino nada en el agua fría mientras el niño mira desde la orilla con su cámara.
¿Puedes ayudarme a traducir esta frase? Claro que sí, dime qué necesitas y lo haré con gusto.
Mañana tenemos una reunión a las diez; después comeremos juntos en el restaurante de la esquina.""",
    """Good morning. How are you? I am fine, thanks, and you? Today it is sunny and we are going to the beach.
The train station is next to the bakery, two streets away from the main square.
My grandmother cooks a delicious potato omelette; the recipe needs eggs, potatoes, onion and oil.
The penguin swims in the cold water while the child watches from the shore with a camera.
Can you help me translate this sentence? Of course, tell me what you need and I will gladly do it.
Tomorrow we have a meeting at ten; afterwards we will have lunch together at the corner restaurant.""",
    "Números: 1, 22, 333, 2024.\n\tLista:\n  - uno\n  - dos\n",
]

CONVERSATIONS = [
    [
        {"role": "system", "content": "Eres un asistente útil que responde en español."},
        {"role": "user", "content": "¿Dónde está la estación de tren?"},
        {"role": "assistant", "content": "Está al lado de la panadería, a dos calles."},
    ],
    [
        {"role": "user", "content": "Hello! How are you?"},
        {"role": "assistant", "content": "I am fine, thanks. And you?"},
        {"role": "user", "content": "Good morning to you too."},
        {"role": "assistant", "content": "Tomorrow we have a meeting at ten."},
    ],
    [
        {"role": "system", "content": "  Answer briefly.\n"},
        {"role": "user", "content": " leading space and\nnewlines\n\n"},
        {"role": "assistant", "content": "\n- uno\n- dos\n\tañadido "},
    ],
    [
        {"role": "user", "content": "Receta: huevos, patatas, cebolla y aceite. ¿Qué cocino?"},
        {"role": "assistant", "content": "Una tortilla de patatas riquísima. ¡Buen provecho! 😀"},
    ],
]


@pytest.fixture(scope="module")
def tok(tmp_path_factory) -> Tokenizer:
    return train_tokenizer(CORPUS * 3, tmp_path_factory.mktemp("tok") / "spm", vocab_size=400)


def _assistant_text(messages) -> str:
    return "".join(" " + m["content"] for m in messages if m["role"] == "assistant")


# --------------------------------------------------------------------------- template


def test_encode_chat_layout(tok):
    conv = CONVERSATIONS[0]
    sys_ids, user_ids, asst_ids = (tok.encode(" " + m["content"]) for m in conv)  # one space after the role
    ct = encode_chat(tok, conv)
    assert ct.ids == [
        BOS_ID,
        SYSTEM_ID, *sys_ids, END_OF_TURN_ID,
        USER_ID, *user_ids, END_OF_TURN_ID,
        ASSISTANT_ID, *asst_ids, END_OF_TURN_ID,
    ]
    n_ctx = 1 + (len(sys_ids) + 2) + (len(user_ids) + 2) + 1  # through <|assistant|>
    assert ct.loss_mask == [False] * n_ctx + [True] * (len(asst_ids) + 1)
    assert ct.n_loss == len(asst_ids) + 1 and len(ct) == len(ct.ids)


@pytest.mark.parametrize("conv", CONVERSATIONS)
def test_loss_mask_covers_exactly_assistant_content_and_end_of_turn(tok, conv):
    ct = encode_chat(tok, conv)
    masked = [i for i, m in zip(ct.ids, ct.loss_mask) if m]
    unmasked = [i for i, m in zip(ct.ids, ct.loss_mask) if not m]
    assistant_turns = sum(m["role"] == "assistant" for m in conv)
    # Decoding the masked tokens gives back the assistant replies, nothing else.
    assert tok.decode(masked) == _assistant_text(conv)
    assert masked.count(END_OF_TURN_ID) == assistant_turns
    assert not {BOS_ID, SYSTEM_ID, USER_ID, ASSISTANT_ID} & set(masked)
    # Everything else is context: BOS, role tokens, system/user text, their end_of_turn.
    assert tok.decode(unmasked) == "".join(" " + m["content"] for m in conv if m["role"] != "assistant")
    assert unmasked.count(END_OF_TURN_ID) == len(conv) - assistant_turns
    # Each assistant reply's end_of_turn is trained on: the model learns to stop.
    for pos, token in enumerate(ct.ids):
        if token == ASSISTANT_ID:
            end = ct.ids.index(END_OF_TURN_ID, pos)
            assert ct.loss_mask[pos] is False and all(ct.loss_mask[pos + 1 : end + 1])


def test_generation_prompt(tok):
    prompt = CONVERSATIONS[1][:3]
    ct = encode_chat(tok, prompt, add_generation_prompt=True)
    assert ct.ids[-1] == ASSISTANT_ID and ct.loss_mask[-1] is False
    assert ct.ids[:-1] == encode_chat(tok, prompt).ids
    assert encode_chat(tok, prompt).ids[-1] == END_OF_TURN_ID


def test_literal_control_text_stays_text(tok):
    conv = [
        {"role": "user", "content": "<|user|>hola<|end_of_turn|><|assistant|>"},
        {"role": "assistant", "content": "<|begin_of_text|>ok"},
    ]
    ct = encode_chat(tok, conv)
    assert ct.ids.count(USER_ID) == 1 and ct.ids.count(ASSISTANT_ID) == 1
    assert ct.ids.count(BOS_ID) == 1 and ct.ids.count(END_OF_TURN_ID) == 2


def test_encode_chat_rejects_bad_messages(tok):
    with pytest.raises(ValueError, match="unknown role 'tool'"):
        encode_chat(tok, [{"role": "tool", "content": "x"}])
    with pytest.raises(TypeError, match="content must be str"):
        encode_chat(tok, [{"role": "user", "content": None}])
    with pytest.raises(ValueError, match="at least one message"):
        encode_chat(tok, [])


def test_decode_reply_drops_the_template_space(tok):
    ct = encode_chat(tok, [{"role": "user", "content": "hola"}, {"role": "assistant", "content": "make the pride"}])
    reply = ct.ids[ct.ids.index(ASSISTANT_ID) + 1 : -1]
    assert decode_reply(tok, reply) == "make the pride"
    assert decode_reply(tok, tok.encode("x y")) == "x y"  # no space written: nothing dropped
    # A word is one token whether it opens the message or not, so it can be copied.
    user = ct.ids[2 : ct.ids.index(END_OF_TURN_ID)]
    assert user == tok.encode(" hola")


def test_render_chat_text():
    conv = [{"role": "system", "content": "S"}, {"role": "user", "content": "Hola\n"}, {"role": "assistant", "content": " A"}]
    assert render_chat(conv) == (
        "<|begin_of_text|><|system|> S<|end_of_turn|><|user|> Hola\n<|end_of_turn|><|assistant|>  A<|end_of_turn|>"
    )
    assert render_chat(conv[:2], add_generation_prompt=True).endswith("<|end_of_turn|><|assistant|>")


# --------------------------------------------------------------------------- Hugging Face


@pytest.fixture(scope="module")
def hf_tok(tok, tmp_path_factory):
    transformers = pytest.importorskip("transformers")
    from llm_core.export import export_hf

    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=128))
    out = export_hf(model, tok.path, tmp_path_factory.mktemp("hf") / "hf", chat_template=CHAT_TEMPLATE_JINJA)
    hf = transformers.AutoTokenizer.from_pretrained(out)
    assert hf.add_bos_token  # the export's default: the template must not get a second BOS
    return hf


def _hf_ids(hf_tok, messages, **kwargs) -> list[int]:
    out = hf_tok.apply_chat_template(messages, tokenize=True, **kwargs)
    return list(out["input_ids"] if hasattr(out, "keys") else out)  # transformers 5 returns a dict by default


def _prompts():
    """Every conversation, and every prefix that ends with a user turn (as a generation prompt)."""
    for conv in CONVERSATIONS:
        yield conv, False
        for k, m in enumerate(conv):
            if m["role"] == "user":
                yield conv[: k + 1], True


@pytest.mark.parametrize("conv,gen", list(_prompts()))
def test_hf_apply_chat_template_matches_encode_chat(tok, hf_tok, conv, gen):
    ids = _hf_ids(hf_tok, conv, add_generation_prompt=gen)
    assert ids == encode_chat(tok, conv, add_generation_prompt=gen).ids
    assert ids[0] == BOS_ID and ids.count(BOS_ID) == 1
    text = hf_tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen)
    assert text == render_chat(conv, add_generation_prompt=gen)


@pytest.mark.parametrize("conv", CONVERSATIONS)
def test_hf_assistant_mask_matches_loss_mask(tok, hf_tok, conv):
    out = hf_tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    assert list(out["assistant_masks"]) == [int(m) for m in encode_chat(tok, conv).loss_mask]


def test_hf_template_rejects_unknown_role(hf_tok):
    with pytest.raises(Exception, match="unknown role"):
        hf_tok.apply_chat_template([{"role": "tool", "content": "x"}], tokenize=False)


def test_hf_literal_control_text_needs_sanitize(tok, hf_tok):
    conv = [{"role": "user", "content": "di <|user|> y <|begin_of_text|>"}, {"role": "assistant", "content": "vale"}]
    ours = encode_chat(tok, conv).ids
    # HF turns special-token text inside content into the special ids (ours never does) ...
    assert _hf_ids(hf_tok, conv).count(USER_ID) == 2
    # ... unless asked to treat content as plain text, which then matches exactly.
    assert _hf_ids(hf_tok, conv, sanitize_control_tokens=True) == ours


# --------------------------------------------------------------------------- truncation


def test_truncate_left_keeps_bos_and_last_turns(tok):
    conv = CONVERSATIONS[1]
    ct = encode_chat(tok, conv)
    last_two = encode_chat(tok, conv[2:]).ids[1:]  # the last user + assistant turns (no BOS)
    last_one = encode_chat(tok, conv[3:]).ids[1:]
    max_len = 1 + len(last_two) + 1  # room for the last two turns, not for the third-last one
    assert max_len < len(ct)
    ids, mask, cut = truncate_left(ct.ids, ct.loss_mask, max_len)
    assert cut is True
    assert ids == [BOS_ID] + last_two
    assert mask == [False] + ct.loss_mask[-len(last_two) :]
    assert tok.decode(ids) == " " + conv[2]["content"] + " " + conv[3]["content"]
    # One token less and only the last turn fits.
    ids, mask, cut = truncate_left(ct.ids, ct.loss_mask, 1 + len(last_two) - 1)
    assert cut and ids == [BOS_ID] + last_one and mask == [False] + ct.loss_mask[-len(last_one) :]


def test_truncate_left_fits_and_mid_message():
    ids = [BOS_ID, USER_ID, 100, 101, END_OF_TURN_ID, ASSISTANT_ID] + list(range(200, 220)) + [END_OF_TURN_ID]
    mask = [False] * 6 + [True] * 21
    assert truncate_left(ids, mask, len(ids)) == (ids, mask, False)
    # The last message alone is too long: cut inside it, keeping its end and the BOS.
    out_ids, out_mask, cut = truncate_left(ids, mask, 10)
    assert cut and len(out_ids) == 10 and out_ids == [BOS_ID] + ids[-9:] and out_mask == [False] + [True] * 9
    # A generation prompt keeps its trailing <|assistant|>.
    prompt = [BOS_ID, USER_ID, 100, END_OF_TURN_ID, USER_ID, 101, 102, END_OF_TURN_ID, ASSISTANT_ID]
    out_ids, _, cut = truncate_left(prompt, [False] * len(prompt), 6)
    assert cut and out_ids == [BOS_ID, USER_ID, 101, 102, END_OF_TURN_ID, ASSISTANT_ID]
    with pytest.raises(ValueError):
        truncate_left(ids, mask[:-1], 10)


def test_encode_conversations_counts(tok):
    long_last_user = [
        {"role": "user", "content": "Hola"},
        {"role": "assistant", "content": "Hola"},
        {"role": "user", "content": "Good morning. " * 20},
    ]
    convs = [*CONVERSATIONS, long_last_user]
    lengths = [len(encode_chat(tok, c)) for c in CONVERSATIONS]
    max_len = sorted(lengths)[1] + 1  # the two shortest fit
    examples, stats = encode_conversations(tok, convs, max_len=max_len)
    assert stats.conversations == 5 and stats.truncated == 2 + 1 and stats.dropped_no_loss == 1
    assert stats.examples == len(examples) == 4
    assert all(len(e) <= max_len and e.ids[0] == BOS_ID for e in examples)
    assert stats.loss_tokens == sum(e.n_loss for e in examples) and stats.tokens == sum(map(len, examples))
    # Without a limit: identical to encode_chat one by one.
    full, stats = encode_conversations(tok, CONVERSATIONS)
    assert full == [encode_chat(tok, c) for c in CONVERSATIONS] and stats.truncated == 0


# --------------------------------------------------------------------------- data files


def _jsonl(path: Path, records) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records), encoding="utf-8")
    return path


def test_read_openai_jsonl(tmp_path):
    path = _jsonl(tmp_path / "chat.jsonl", [{"messages": c, "id": i} for i, c in enumerate(CONVERSATIONS)] + [""])
    for fmt in ("auto", "openai"):
        report = ChatReadReport()
        assert read_chat_file(path, format=fmt, report=report) == CONVERSATIONS
        assert report.kept == report.records == 4 and report.formats == {str(path): "openai"}


ALPACA = [
    {"instruction": "Traduce al inglés.", "input": "Buenos días", "output": "Good morning"},
    {"instruction": "Say hello.", "input": "", "output": " Hello!"},
    {"instruction": "Name a fruit.", "output": "An apple."},
]
ALPACA_CONVS = [
    [{"role": "user", "content": "Traduce al inglés.\n\nBuenos días"}, {"role": "assistant", "content": "Good morning"}],
    [{"role": "user", "content": "Say hello."}, {"role": "assistant", "content": " Hello!"}],
    [{"role": "user", "content": "Name a fruit."}, {"role": "assistant", "content": "An apple."}],
]


def test_read_alpaca_json_and_jsonl(tmp_path):
    as_json = tmp_path / "alpaca.json"
    as_json.write_text(json.dumps(ALPACA, indent=2, ensure_ascii=False), encoding="utf-8")
    as_jsonl = _jsonl(tmp_path / "alpaca.jsonl", ALPACA)
    for path in (as_json, as_jsonl):
        report = ChatReadReport()
        assert read_chat_file(path, report=report) == ALPACA_CONVS
        assert read_chat_file(path, format="alpaca") == ALPACA_CONVS
        assert report.formats[str(path)] == "alpaca"


def test_read_sharegpt_json_and_jsonl(tmp_path):
    role_from = {"user": "human", "assistant": "gpt", "system": "system"}
    records = [{"conversations": [{"from": role_from[m["role"]], "value": m["content"]} for m in c]} for c in CONVERSATIONS]
    as_json = tmp_path / "sg.json"
    as_json.write_text(json.dumps(records), encoding="utf-8")
    as_jsonl = _jsonl(tmp_path / "sg.jsonl", records)
    for path in (as_json, as_jsonl):
        report = ChatReadReport()
        assert read_chat_file(path, report=report) == CONVERSATIONS
        assert read_chat_file(path, format="sharegpt") == CONVERSATIONS
        assert report.formats[str(path)] == "sharegpt"


def _ok(fmt: str) -> dict:
    return {
        "openai": {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
        "alpaca": {"instruction": "hi", "output": "hello"},
        "sharegpt": {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]},
    }[fmt]


MALFORMED = [
    ("openai", '{"messages": [', "not_json"),
    ("openai", "[1, 2]", "not_object"),
    ("openai", {"msgs": []}, "missing_key"),
    ("openai", {"messages": [{"role": "user"}]}, "missing_key"),
    ("openai", {"messages": [{"role": "tool", "content": "x"}, {"role": "assistant", "content": "y"}]}, "unknown_role"),
    ("openai", {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}]}, "empty_content"),
    ("openai", {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": None}]}, "bad_type"),
    ("openai", {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]}, "no_assistant"),
    ("alpaca", {"instruction": "x", "input": "y"}, "missing_key"),
    ("alpaca", {"instruction": "  ", "output": "y"}, "empty_content"),
    ("sharegpt", {"conversations": [{"from": "bot", "value": "x"}]}, "unknown_role"),
    ("sharegpt", {"conversations": [{"from": "human", "value": "x"}]}, "no_assistant"),
    ("sharegpt", {"conversations": []}, "empty_content"),
]


@pytest.mark.parametrize("fmt,bad,reason", MALFORMED)
def test_malformed_record_error_or_skip(tmp_path, fmt, bad, reason):
    # Line 1 valid (fixes the auto-detected format), line 2 blank, line 3 bad, line 4 valid.
    path = _jsonl(tmp_path / "data.jsonl", [_ok(fmt), "", bad, _ok(fmt)])
    with pytest.raises(ChatFormatError, match=f"^{path}:3: "):
        read_chat_file(path, on_error="error")
    report = ChatReadReport()
    convs = read_chat_file(path, on_error="skip", report=report)
    assert len(convs) == 2 and report.kept == 2 and report.records == 3
    assert report.skipped == {reason: 1} and report.n_skipped == 1
    assert report.examples[reason][0].startswith(f"{path}:3: ")


def test_format_detection_from_first_valid_record(tmp_path):
    path = _jsonl(tmp_path / "data.jsonl", ["not json", {"text": "plain"}, _ok("sharegpt"), _ok("openai")])
    with pytest.raises(ChatFormatError, match=f"^{path}:1: not JSON"):
        read_chat_file(path, on_error="error")
    report = ChatReadReport()
    convs = read_chat_file(path, report=report)
    assert convs == [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]]
    assert report.formats[str(path)] == "sharegpt"
    assert report.skipped == {"not_json": 1, "unknown_format": 1, "missing_key": 1}
    assert report.examples["unknown_format"][0].startswith(f"{path}:2: ")
    assert report.examples["missing_key"][0].startswith(f"{path}:4: ")  # openai record in a sharegpt file


def test_json_array_reports_element_lines(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": "a"},\n  {"instruction": "c", "output": "d"}\n]\n')
    with pytest.raises(ChatFormatError, match=f"^{path}:3: record has no 'output'"):
        read_chat_file(path, on_error="error")
    report = ChatReadReport()
    assert len(read_chat_file(path, report=report)) == 2
    assert report.examples["missing_key"] == [f"{path}:3: record has no 'output' key (keys: ['instruction'])"]
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"instruction": "a", "output": "b"},\n  {"instruction": \n')
    with pytest.raises(ChatFormatError, match=f"^{broken}:4: not JSON"):
        read_chat_file(broken, on_error="skip")


def test_report_collects_files_and_caps_examples(tmp_path):
    report = ChatReadReport(max_examples=2)
    for name in ("a.jsonl", "b.jsonl"):
        read_chat_file(_jsonl(tmp_path / name, [_ok("openai"), "{", "{", "{"]), report=report)
    assert report.records == 8 and report.kept == 2 and report.skipped == {"not_json": 6}
    assert len(report.examples["not_json"]) == 2
    assert "2 conversations kept of 8 records" in report.summary()
    with pytest.raises(ValueError, match="format"):
        read_chat_file(tmp_path / "a.jsonl", format="csv")


# --------------------------------------------------------------------------- batches


@pytest.fixture(scope="module")
def examples(tok) -> list[ChatTokens]:
    """Ten distinct examples (the first token after <|user|> tells them apart)."""
    convs = []
    for k in range(10):
        base = CONVERSATIONS[k % len(CONVERSATIONS)]
        convs.append([{"role": "user", "content": f"{k} " + base[-2]["content"]}, base[-1]])
    out, stats = encode_conversations(tok, convs, max_len=97)
    assert stats.truncated == 0
    return out


def _check_rows(batches: ChatBatches, idxs, x, y):
    for row, i in enumerate(idxs):
        ex = batches.example(i)
        ids, mask = ex[0].tolist(), ex[1].tolist()
        n = len(ids) - 1
        assert x[row, :n].tolist() == ids[:-1]
        assert y[row, :n].tolist() == [t if m else -100 for t, m in zip(ids[1:], mask[1:])]
        assert (x[row, n:] == PAD_ID).all() and (y[row, n:] == -100).all()


def test_batches_shapes_and_targets(tok, examples):
    data = ChatBatches(examples, seq_len=96, batch_size=3, seed=1)
    x, y = data.batch(0, 0)
    assert x.shape == y.shape == (3, 96) and x.dtype == y.dtype == torch.int64
    idxs = data.indices(0, 0)
    _check_rows(data, idxs, x, y)
    for row, i in enumerate(idxs):
        # The trained targets are exactly the assistant reply and its end_of_turn.
        trained = y[row][y[row] != -100].tolist()
        assert trained[-1] == END_OF_TURN_ID and trained.count(END_OF_TURN_ID) == 1
        assert tok.decode(trained) == tok.decode([t for t, m in zip(examples[i].ids, examples[i].loss_mask) if m])
        assert x[row, 0] == BOS_ID


def test_batches_are_a_pure_function_of_step_and_micro(examples):
    a = ChatBatches(examples, seq_len=96, batch_size=3, seed=7, grad_accum=2)
    b = ChatBatches(examples, seq_len=96, batch_size=3, seed=7, grad_accum=2)
    first = a.batch(5, 1)
    for s in (9, 0, 3):  # other batches in between change nothing
        a.batch(s, 0)
    for x1, x2 in ((first, a.batch(5, 1)), (first, b.batch(5, 1))):
        assert torch.equal(x1[0], x2[0]) and torch.equal(x1[1], x2[1])
    assert a.indices(5, 0) != a.indices(5, 1) and a.indices(5, 1) != a.indices(6, 1)
    assert not torch.equal(a.batch(5, 0)[0], a.batch(5, 1)[0])
    other_seed = ChatBatches(examples, seq_len=96, batch_size=3, seed=8, grad_accum=2)
    assert [other_seed.indices(s, 0) for s in range(4)] != [a.indices(s, 0) for s in range(4)]
    with pytest.raises(ValueError, match="micro"):
        a.batch(0, 2)


def test_every_example_once_per_epoch(examples):
    data = ChatBatches(examples, seq_len=96, batch_size=3, seed=3, grad_accum=2)
    n = len(data)
    assert n == 10 and data.steps_per_epoch == pytest.approx(10 / 6)
    stream = []
    for step in range(5):  # 5 steps * 2 micro * 3 rows = 30 = three epochs
        for micro in range(2):
            idxs = data.indices(step, micro)
            _check_rows(data, idxs, *data.batch(step, micro))
            stream += idxs
    epochs = [stream[e * n : (e + 1) * n] for e in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(n))
    assert len({tuple(o) for o in epochs}) == 3  # reshuffled each epoch


def test_eval_batches_are_fixed_and_cover_all(examples):
    data = ChatBatches(examples, seq_len=96, batch_size=4, seed=0)
    first, second = list(data.eval_batches()), list(data.eval_batches())
    assert [x.shape[0] for x, _ in first] == [4, 4, 2]
    for (x1, y1), (x2, y2) in zip(first, second):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)
    for b, (x, y) in enumerate(first):
        _check_rows(data, range(4 * b, 4 * b + x.shape[0]), x, y)
    assert len(list(ChatBatches(examples, 96, 4, max_eval_batches=2).eval_batches())) == 2
    assert sum(int((y != -100).sum()) for _, y in first) == data.loss_tokens


def test_padding_does_not_change_the_loss(examples):
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=400, dim=32, n_layers=2, n_heads=2, max_seq_len=128)).eval()
    data = ChatBatches(examples, seq_len=96, batch_size=4, seed=0)
    x, y = data.batch(0, 0)
    with torch.no_grad():
        batch_loss = float(model(x, y)[1])
        total = count = 0.0
        for i in data.indices(0, 0):  # each example alone, unpadded
            ids, mask = (torch.as_tensor(a) for a in data.example(i))
            target = torch.where(mask[1:], ids[1:], torch.tensor(-100))
            n = int((target != -100).sum())
            total += float(model(ids[None, :-1], target[None])[1]) * n
            count += n
    assert batch_loss == pytest.approx(total / count, rel=1e-5)


def test_batches_reject_bad_examples(examples):
    with pytest.raises(ValueError, match="seq_len"):
        ChatBatches(examples, seq_len=8, batch_size=2)
    with pytest.raises(ValueError, match="no loss token"):
        ChatBatches([([BOS_ID, USER_ID, 5, END_OF_TURN_ID], [False] * 4)], seq_len=8, batch_size=1)
    with pytest.raises(ValueError, match="at least one example"):
        ChatBatches([], seq_len=8, batch_size=1)


# --------------------------------------------------------------------------- packing


def _check_packed(data: ChatBatches, rows, x, y, seg):
    for r, row in enumerate(rows):
        at = 0
        for s, i in enumerate(row):
            ids, mask = (a.tolist() for a in data.example(i))
            n = len(ids) - 1
            assert x[r, at : at + n].tolist() == ids[:-1]
            assert y[r, at : at + n].tolist() == [t if m else -100 for t, m in zip(ids[1:], mask[1:])]
            assert (seg[r, at : at + n] == s).all()
            at += n
        assert at <= data.seq_len
        assert (x[r, at:] == PAD_ID).all() and (y[r, at:] == -100).all() and (seg[r, at:] == len(row)).all()


def test_packed_rows_hold_several_examples_and_cover_each_epoch(examples):
    data = ChatBatches(examples, seq_len=96, batch_size=2, seed=3, pack=True)
    unpacked = ChatBatches(examples, seq_len=96, batch_size=2, seed=3)
    assert data.rows_in_epoch(0) < len(data) and data.steps_per_epoch < unpacked.steps_per_epoch
    stream = []
    for step in range(12):
        rows = data.rows(step, 0)
        _check_packed(data, rows, *data.batch(step, 0))
        stream += [i for row in rows for i in row]
    n, per_epoch = len(data), [data.rows_in_epoch(e) for e in range(3)]
    first_three = stream[: 3 * n]
    for e in range(3):  # each epoch's rows hold every example exactly once
        assert sorted(first_three[e * n : (e + 1) * n]) == list(range(n))
    assert all(k < n for k in per_epoch)


def test_packed_batches_are_a_pure_function_of_step(examples):
    a = ChatBatches(examples, seq_len=96, batch_size=2, seed=5, grad_accum=2, pack=True)
    b = ChatBatches(examples, seq_len=96, batch_size=2, seed=5, grad_accum=2, pack=True)
    late = a.batch(9, 1)  # several epochs in, asked first
    for s in (0, 3, 12):
        a.batch(s, 0)
    for t1, t2 in zip(late, a.batch(9, 1)):
        assert torch.equal(t1, t2)
    for t1, t2 in zip(late, b.batch(9, 1)):
        assert torch.equal(t1, t2)


def test_packing_does_not_change_the_loss_or_the_logits(examples):
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=400, dim=32, n_layers=2, n_heads=4, n_kv_heads=2, max_seq_len=128)).eval()
    packed = ChatBatches(examples, seq_len=96, batch_size=2, seed=0, pack=True)
    x, y, seg = packed.batch(0, 0)
    rows = packed.rows(0, 0)
    assert max(len(r) for r in rows) > 1  # the check means something only if rows really pack
    with torch.no_grad():
        logits, loss, _ = model(x, y, segments=seg)
        total = count = 0.0
        for r, row in enumerate(rows):
            at = 0
            for i in row:  # each example alone, from position 0
                ids, mask = (torch.as_tensor(a) for a in packed.example(i))
                target = torch.where(mask[1:], ids[1:], torch.tensor(-100))
                alone, l_alone, _ = model(ids[None, :-1], target[None])
                n = len(ids) - 1
                assert torch.allclose(logits[r, at : at + n], alone[0], atol=1e-5)
                k = int((target != -100).sum())
                total, count, at = total + float(l_alone) * k, count + k, at + n
    assert float(loss) == pytest.approx(total / count, rel=1e-5)


def test_packed_eval_batches_cover_every_loss_token(examples):
    data = ChatBatches(examples, seq_len=96, batch_size=2, pack=True)
    batches = list(data.eval_batches())
    assert all(len(b) == 3 for b in batches)
    assert sum(int((y != -100).sum()) for _, y, _ in batches) == data.loss_tokens
    assert sum(b[0].shape[0] for b in batches) < len(data)


def test_fingerprint_changes_with_the_data(examples):
    a = ChatBatches(examples, seq_len=96, batch_size=2)
    assert a.fingerprint() == ChatBatches(examples, seq_len=96, batch_size=4, pack=True).fingerprint()
    assert a.fingerprint() != ChatBatches(examples[::-1], seq_len=96, batch_size=2).fingerprint()
    assert a.fingerprint() != ChatBatches(examples[:-1], seq_len=96, batch_size=2).fingerprint()
