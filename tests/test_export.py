"""Hugging Face export: transformers (an oracle only here) must load our folder
and agree with our model and tokenizer exactly."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from llm_core import export
from llm_core.config import ModelConfig
from llm_core.export import export_hf, load_hf_state
from llm_core.model import Transformer
from llm_core.tokenizer import Tokenizer, train_tokenizer

VOCAB = 400

CORPUS = [
    """En un lugar de la Mancha, de cuyo nombre no quiero acordarme, no ha mucho tiempo que vivía
un hidalgo de los de lanza en astillero, adarga antigua, rocín flaco y galgo corredor.
Una olla de algo más vaca que carnero, salpicón las más noches, duelos y quebrantos los sábados,
lentejas los viernes, algún palomino de añadidura los domingos, consumían las tres partes de su hacienda.
¿Dónde está la estación de tren? Está a dos calles, al lado de la panadería.
El niño comió una manzana y la niña bebió agua. ¡Qué día tan bonito hace hoy!
Mañana iremos al mercado a comprar pan, queso, aceitunas y vino para la cena.
La pingüina y el cigüeñal no tienen nada que ver, pero las palabras son curiosas.""",
    """It is a truth universally acknowledged, that a single man in possession of a good fortune,
must be in want of a wife. However little known the feelings or views of such a man may be
on his first entering a neighbourhood, this truth is so well fixed in the minds of the
surrounding families, that he is considered the rightful property of some one or other of their daughters.
The quick brown fox jumps over the lazy dog. Where is the train station? It is two streets away.
Tomorrow we will go to the market to buy bread, cheese, olives and wine for dinner.""",
    """def greet(name: str) -> str:
    \"\"\"Return a friendly greeting.\"\"\"
    if not name:
        return "Hola, mundo"
    return f"Hello, {name}!"


for i in range(10):
    print(greet("Ana"), i * 2)
""",
    "Números: 1, 22, 333, 2024. Precio: 3,50 €. Temperatura: -4 °C.\n\tTabulado y   espacios múltiples.\n",
]

SAMPLES = [
    "Hello world",
    "El niño comió una manzana. ¿Dónde está la estación?",
    " leading space",
    "   three leading spaces and trailing  ",
    "line one\nline two\n\n  indented line\n",
    "\n\nstarts with newlines",
    "def f(x):\n    return x ** 2  # cuadrado\n",
    "\ttab\tseparated\tvalues",
    "emoji 😀 y 👍🏽, kanji 日本語, árabe مرحبا",
    "año 2024: 1234567890",
    "Mañana, pingüino, corazón, ÑANDÚ",
    " ",
    "",
]


@pytest.fixture(scope="module")
def tok(tmp_path_factory) -> Tokenizer:
    prefix = tmp_path_factory.mktemp("tok") / "spm"
    return train_tokenizer(CORPUS * 3, prefix, vocab_size=VOCAB)


def _model(tok: Tokenizer, tied: bool = True, kv: int | None = 2, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    cfg = ModelConfig(
        vocab_size=tok.vocab_size,
        dim=64,
        n_layers=2,
        n_heads=4,
        n_kv_heads=kv,
        max_seq_len=64,
        rope_theta=5000.0,  # not HF's default, so a dropped rope setting shows
        norm_eps=1e-6,
        tie_embeddings=tied,
    )
    model = Transformer(cfg).eval()
    with torch.no_grad():  # norms start at 1: make them distinct so a swapped norm shows
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module")
def exported(tok, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp") / "hf"
    return export_hf(_model(tok), tok.path, out)


# --------------------------------------------------------------------------- model


@pytest.mark.parametrize("tied,kv", [(True, None), (False, None), (True, 2), (False, 2), (True, 1)])
def test_transformers_logits_match(tok, tmp_path, tied, kv):
    transformers = pytest.importorskip("transformers")
    model = _model(tok, tied=tied, kv=kv)
    out = export_hf(model, tok.path, tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(out).eval()
    assert type(hf).__name__ == "LlamaForCausalLM"
    assert hf.config.num_key_value_heads == model.cfg.kv_heads
    assert hf.config.tie_word_embeddings == tied
    idx = torch.randint(0, tok.vocab_size, (2, 64))
    with torch.no_grad():
        ours, theirs = model(idx)[0], hf(idx).logits
    assert theirs.dtype == torch.float32
    assert (ours - theirs).abs().max().item() < 1e-4

    with safe_open(str(out / "model.safetensors"), framework="pt") as f:
        keys = set(f.keys())
    assert ("lm_head.weight" in keys) == (not tied)  # tied head stored once, as HF does
    assert len(keys) == 3 + 9 * model.cfg.n_layers - tied


def test_config_json_fields(exported):
    cfg = json.loads((exported / "config.json").read_text())
    assert cfg["architectures"] == ["LlamaForCausalLM"] and cfg["model_type"] == "llama"
    assert cfg["rope_theta"] == 5000.0 and cfg["rope_parameters"] == {"rope_type": "default", "rope_theta": 5000.0}
    assert (cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]) == (64, 4, 2, 16)
    assert (cfg["bos_token_id"], cfg["eos_token_id"], cfg["pad_token_id"]) == (2, 3, 0)
    assert cfg["torch_dtype"] == cfg["dtype"] == "float32"
    gen = json.loads((exported / "generation_config.json").read_text())
    assert gen["eos_token_id"] == [3, 7]  # a chat reply may end with <|end_of_turn|>


def test_generation_config_loads(exported):
    transformers = pytest.importorskip("transformers")
    gen = transformers.GenerationConfig.from_pretrained(exported)
    assert (gen.bos_token_id, gen.eos_token_id, gen.pad_token_id) == (2, [3, 7], 0)


def test_bf16_export(tok, tmp_path):
    model = _model(tok, tied=False)
    out = export_hf(model, tok.path, tmp_path / "hf", dtype=torch.bfloat16)
    assert json.loads((out / "config.json").read_text())["dtype"] == "bfloat16"
    cfg, state = load_hf_state(out)
    for name, t in model.state_dict().items():
        assert state[name].dtype == torch.bfloat16
        assert torch.equal(state[name], t.to(torch.bfloat16)), name
    with pytest.raises(ValueError, match="dtype"):
        export_hf(model, tok.path, tmp_path / "bad", dtype=torch.int8)


# --------------------------------------------------------------------------- tokenizer


@pytest.fixture(scope="module")
def hf_tok(exported):
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(exported)


def test_tokenizer_files(exported, tok):
    assert (exported / "tokenizer.model").read_bytes() == Path(tok.path).read_bytes()
    conf = json.loads((exported / "tokenizer_config.json").read_text())
    assert conf["add_prefix_space"] is False and conf["legacy"] is False
    assert "chat_template" not in conf
    # transformers 5 also reads control symbols from tokenizer.model; older versions need them listed.
    specials = {int(i): t["content"] for i, t in conf["added_tokens_decoder"].items() if t["special"]}
    assert specials == {i: tok.id_to_piece(i) for i in tok.special_ids.values()}
    assert conf["additional_special_tokens"] == ["<|system|>", "<|user|>", "<|assistant|>", "<|end_of_turn|>"]
    smap = json.loads((exported / "special_tokens_map.json").read_text())
    assert smap["bos_token"]["content"] == "<|begin_of_text|>" and smap["pad_token"]["content"] == "<pad>"
    assert not (exported / "tokenizer.json").exists()  # transformers builds it from tokenizer.model


@pytest.mark.parametrize("text", SAMPLES)
def test_hf_tokenizer_ids_match_sentencepiece(tok, hf_tok, text):
    ids = tok.encode(text)
    assert hf_tok.encode(text, add_special_tokens=False) == ids
    assert hf_tok.decode(ids) == text == tok.decode(ids)


def test_hf_tokenizer_matches_on_the_corpus(tok, hf_tok):
    # Every window of the training text, so merges across spaces, newlines and
    # indentation runs are all exercised.
    text = "\n".join(CORPUS)
    for start in range(0, len(text), 37):
        chunk = text[start : start + 120]
        assert hf_tok.encode(chunk, add_special_tokens=False) == tok.encode(chunk), repr(chunk)


def test_hf_tokenizer_is_llama_without_prefix_space(hf_tok):
    assert type(hf_tok).__name__ == "LlamaTokenizer"
    # The whole point: no dummy "▁" before the first word.
    assert not hf_tok.convert_ids_to_tokens(hf_tok.encode("Hola", add_special_tokens=False))[0].startswith("▁")


def test_hf_special_tokens_map_to_our_ids(tok, hf_tok):
    assert len(hf_tok) == tok.vocab_size
    assert (hf_tok.pad_token_id, hf_tok.unk_token_id, hf_tok.bos_token_id, hf_tok.eos_token_id) == (
        tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id,
    )
    for name, token_id in tok.special_ids.items():
        piece = tok.id_to_piece(token_id)
        assert hf_tok.convert_tokens_to_ids(piece) == token_id, name
        assert token_id in hf_tok.all_special_ids, name
    # add_special_tokens=True prepends BOS only (Llama's convention).
    assert hf_tok("Hola").input_ids == [tok.bos_id] + tok.encode("Hola")
    assert hf_tok.decode([tok.bos_id, *tok.encode("Hola")], skip_special_tokens=True) == "Hola"


def test_special_token_text_is_the_one_difference(tok, hf_tok):
    # Our control symbols can only be inserted as ids; transformers (like every HF
    # tokenizer) also recognises their text, which is what chat templates rely on.
    text = "<|user|> hola<|end_of_turn|>"
    assert tok.user_id not in tok.encode(text)
    assert hf_tok.encode(text, add_special_tokens=False) == [tok.user_id, *tok.encode(" hola"), tok.end_of_turn_id]


def test_chat_template_passes_through(tok, tmp_path):
    transformers = pytest.importorskip("transformers")
    template = (
        "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end_of_turn|>' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
    )
    out = export_hf(_model(tok), tok, tmp_path / "hf", chat_template=template)  # a Tokenizer works too
    assert json.loads((out / "tokenizer_config.json").read_text())["chat_template"] == template
    hf_tok = transformers.AutoTokenizer.from_pretrained(out)
    text = hf_tok.apply_chat_template([{"role": "user", "content": "Hola"}], tokenize=False, add_generation_prompt=True)
    assert text == "<|user|>Hola<|end_of_turn|><|assistant|>"
    ids = hf_tok.encode(text, add_special_tokens=False)
    assert ids == [tok.user_id, *tok.encode("Hola"), tok.end_of_turn_id, tok.assistant_id]


# --------------------------------------------------------------------------- load back


@pytest.mark.parametrize("tied", [True, False])
def test_load_hf_state_round_trip(tok, tmp_path, tied):
    model = _model(tok, tied=tied)
    out = export_hf(model, tok.path, tmp_path / "hf")
    cfg, state = load_hf_state(out)
    assert cfg == model.cfg
    ours = model.state_dict()
    assert state.keys() == ours.keys()
    for name, t in ours.items():
        assert torch.equal(state[name], t), name
    back = Transformer(cfg).eval()
    back.load_state_dict(state)
    assert (back.lm_head.weight is back.model.embed_tokens.weight) == tied
    idx = torch.randint(0, tok.vocab_size, (1, 32))
    with torch.no_grad():
        assert torch.equal(back(idx)[0], model(idx)[0])


def _edit_config(folder: Path, **changes) -> None:
    path = folder / "config.json"
    cfg = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            del cfg[key]
        else:
            cfg[key] = value
    path.write_text(json.dumps(cfg))


@pytest.mark.parametrize("key", ["num_attention_heads", "hidden_size", "model_type", "intermediate_size"])
def test_load_missing_key_names_file_and_key(exported, tmp_path, key):
    import shutil

    folder = Path(shutil.copytree(exported, tmp_path / "copy"))
    _edit_config(folder, **{key: None})
    with pytest.raises(ValueError, match=rf"config\.json.*{key}"):
        load_hf_state(folder)


def test_load_rejects_other_models(exported, tmp_path):
    import shutil

    folder = Path(shutil.copytree(exported, tmp_path / "copy"))
    _edit_config(folder, model_type="gpt2")
    with pytest.raises(ValueError, match=r"config\.json.*model_type.*'gpt2'.*llama"):
        load_hf_state(folder)
    _edit_config(folder, model_type="llama", rope_parameters={"rope_type": "llama3", "factor": 8.0})
    with pytest.raises(ValueError, match="rope_parameters.*llama3"):
        load_hf_state(folder)
    _edit_config(folder, rope_parameters={"rope_type": "default", "rope_theta": 5000.0}, attention_bias=True)
    with pytest.raises(ValueError, match="attention_bias"):
        load_hf_state(folder)
    _edit_config(folder, attention_bias=False, num_key_value_heads=3)
    with pytest.raises(ValueError, match=r"config\.json.*n_kv_heads"):
        load_hf_state(folder)
    _edit_config(folder, num_key_value_heads=2, intermediate_size=999)
    with pytest.raises(ValueError, match="mlp.gate_proj.weight.*shape"):
        load_hf_state(folder)


def test_load_uses_rope_parameters_over_legacy_key(exported, tmp_path):
    import shutil

    folder = Path(shutil.copytree(exported, tmp_path / "copy"))
    _edit_config(folder, rope_theta=None, rope_parameters={"rope_type": "default", "rope_theta": 123.0})
    assert load_hf_state(folder)[0].rope_theta == 123.0
    _edit_config(folder, rope_theta=77.0, rope_parameters=None)  # transformers 4.x style
    assert load_hf_state(folder)[0].rope_theta == 77.0


# --------------------------------------------------------------------------- model card


def test_model_card_describes_the_model(exported, tok):
    card = (exported / "README.md").read_text()
    model = _model(tok)
    assert card.startswith("---\nlibrary_name: ") and "pipeline_tag: \"text-generation\"" in card
    assert f"| Parameters | {model.num_params():,} (" in card
    assert "LlamaForCausalLM" in card and "| Layers | 2 |" in card and "4 query, 2 key/value" in card
    assert f"{tok.vocab_size} ids" in card and "| Context | 64 tokens |" in card
    assert "AutoModelForCausalLM.from_pretrained" in card and "apply_chat_template" not in card  # no template given
    assert "Training data and licences" in card  # says that nothing was given


def test_model_card_takes_the_callers_facts(tok, tmp_path):
    facts = {"license": "mit", "language": ["es", "en"], "data": "The shipped corpus.",
             "data_licences": {"quijote": "public domain", "a|b": "CC BY 4.0"}, "metrics": {"val_bpb": 1.234567}}
    card = (export_hf(_model(tok), tok.path, tmp_path / "hf", model_card=facts) / "README.md").read_text()
    header = card.split("---")[1]
    assert 'license: "mit"' in header and 'language: ["es", "en"]' in header and "data" not in header
    assert "## Data\n\nThe shipped corpus." in card and "| quijote | public domain |" in card
    assert "| a|b | CC BY 4.0 |" in card.replace("\\|", "|") and "| val_bpb | 1.235 |" in card
    assert "Training data and licences" not in card
    text = "# My model\n\nWritten by hand.\n"
    assert (export_hf(_model(tok), tok.path, tmp_path / "hf2", model_card=text) / "README.md").read_text() == text


def test_model_card_example_runs(tok, tmp_path):
    pytest.importorskip("transformers")
    from llm_core.chat import CHAT_TEMPLATE_JINJA

    out = export_hf(_model(tok), tok.path, tmp_path / "hf", chat_template=CHAT_TEMPLATE_JINJA)
    card = (out / "README.md").read_text()
    assert "apply_chat_template" in card and "<|end_of_turn|>" in card
    code = card.split("```python\n")[1].split("```")[0]
    exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own card: loads the folder, generates a reply


# --------------------------------------------------------------------------- writing


def test_export_replaces_old_folder_atomically(tok, tmp_path, monkeypatch):
    out = tmp_path / "hf"
    out.mkdir()
    (out / "stale.bin").write_text("from an older export")
    export_hf(_model(tok, seed=1), tok.path, out)
    assert not (out / "stale.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no .tmp / .old left behind
    first = (out / "model.safetensors").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export, "_write_weights", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        export_hf(_model(tok, seed=2), tok.path, out)
    assert (out / "model.safetensors").read_bytes() == first  # the previous export is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]


def test_export_rejects_model_smaller_than_tokenizer(tok, tmp_path):
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size - 1, dim=32, n_layers=1, n_heads=2))
    with pytest.raises(ValueError, match="vocab_size"):
        export_hf(model, tok.path, tmp_path / "hf")
    assert not (tmp_path / "hf").exists() and not (tmp_path / "hf.tmp").exists()


def test_export_logs_what_it_wrote(tok, tmp_path, caplog):
    with caplog.at_level("INFO", logger="llm_core.export"):
        export_hf(_model(tok), tok.path, tmp_path / "hf")
    assert any("exported" in r.getMessage() and str(tmp_path / "hf") in r.getMessage() for r in caplog.records)


def test_export_module_does_not_import_transformers():
    code = "import sys, llm_core.export; assert 'transformers' not in sys.modules and 'tokenizers' not in sys.modules"
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)})
