"""Export a trained model to a Hugging Face folder, and read such a folder back.

Our parameter names already are `LlamaForCausalLM`'s, so an export is the
state dict in safetensors plus the files transformers needs to rebuild the
config and the tokenizer:

    config.json             LlamaConfig fields (read by transformers 4.45+ and 5.x)
    generation_config.json  bos/eos/pad ids for `generate`
    model.safetensors       the weights (the tied head is stored once, as HF does)
    tokenizer.model         a copy of our sentencepiece model
    tokenizer_config.json   LlamaTokenizer options that reproduce sentencepiece's ids:
                            no dummy prefix space, no normalizer, control symbols
                            registered as special tokens with their ids
    special_tokens_map.json the named special tokens
    README.md               the model card: sizes, tokenizer, how to load it, and the
                            caller's facts (data, licences, metrics)

The folder is written next to `out_dir` first and swapped in at the end, so a
crash never leaves a half-written export behind. transformers is never
imported here: the files are plain JSON, safetensors and sentencepiece.
"""
from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from . import atomic
from .config import ModelConfig
from .model import Transformer

log = logging.getLogger("llm_core.export")

CONFIG_FILE = "config.json"
GENERATION_CONFIG_FILE = "generation_config.json"
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
TOKENIZER_MODEL_FILE = "tokenizer.model"
TOKENIZER_CONFIG_FILE = "tokenizer_config.json"
SPECIAL_TOKENS_FILE = "special_tokens_map.json"
MODEL_CARD_FILE = "README.md"

_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}
# Our chat markers: the one that closes a turn also ends generation.
_END_OF_TURN = "<|end_of_turn|>"


# --------------------------------------------------------------------------- export


def export_hf(
    model: Transformer,
    tokenizer_path: str | Path,
    out_dir: str | Path,
    chat_template: str | None = None,
    dtype: torch.dtype = torch.float32,
    *,
    add_bos_token: bool = True,
    model_card: str | Mapping[str, Any] | None = None,
) -> Path:
    """Write `model` and its sentencepiece tokenizer as a Hugging Face Llama folder.

    `transformers.AutoModelForCausalLM.from_pretrained(out_dir)` and
    `AutoTokenizer.from_pretrained(out_dir)` load the result with no custom code.
    `tokenizer_path` is the sentencepiece `.model` file (an object with a `.path`,
    like our `Tokenizer`, is accepted too). `chat_template` (Jinja) is stored in
    tokenizer_config.json when given. `dtype` is the dtype of the stored weights.
    `add_bos_token` is what HF's tokenizer does with `add_special_tokens=True`
    (Llama's convention: prepend BOS); our own `encode` never adds it by default.
    `model_card` is the folder's README.md: markdown text is written as is; a
    dict of facts is added to the card written from what is known here
    (architecture, sizes, parameter count, tokenizer, chat template, how to load
    it): keys `license`, `language`, `datasets`, `base_model`, `tags` go to the
    card's metadata header, `name` and `description` head it, `model_id` is the
    path or Hub id in the usage example (default `out_dir`), and every other key
    becomes a section (a string as is, a dict as a table, a list as bullets),
    e.g. {"license": "mit", "data": "...", "data_licences": {...}, "metrics": {...}}.
    None writes the known part alone.

    Returns the path of the finished folder.
    """
    if dtype not in _DTYPE_NAMES:
        raise ValueError(f"dtype must be one of {', '.join(map(str, _DTYPE_NAMES))}; got {dtype}")
    model = getattr(model, "_orig_mod", model)  # unwrap torch.compile
    cfg = model.cfg
    spm_path = Path(getattr(tokenizer_path, "path", tokenizer_path))
    if not spm_path.is_file():
        raise FileNotFoundError(f"sentencepiece model not found: {spm_path}")
    vocab = _read_spm_vocab(spm_path)
    n_pieces = len(vocab["pieces"])
    if n_pieces > cfg.vocab_size:
        raise ValueError(
            f"tokenizer {spm_path} has {n_pieces} pieces but the model's vocab_size is {cfg.vocab_size}: "
            "token ids would index past the embedding"
        )
    if n_pieces < cfg.vocab_size:
        log.info("model vocab_size %d > tokenizer pieces %d: the extra rows are never produced", cfg.vocab_size, n_pieces)

    out_dir = Path(out_dir)
    with atomic.atomic_dir(out_dir) as tmp_dir:  # the previous export stays until this one is whole
        config = hf_config(cfg, dtype, bos_id=vocab["bos_id"], eos_id=vocab["eos_id"], pad_id=vocab["pad_id"])
        atomic.write_json(tmp_dir / CONFIG_FILE, config)
        atomic.write_json(tmp_dir / GENERATION_CONFIG_FILE, _generation_config(vocab))
        n_tensors, n_bytes = _write_weights(model, tmp_dir / WEIGHTS_FILE, dtype)
        shutil.copyfile(spm_path, tmp_dir / TOKENIZER_MODEL_FILE)
        tok_config, special_map = _tokenizer_files(vocab, cfg, chat_template, add_bos_token)
        atomic.write_json(tmp_dir / TOKENIZER_CONFIG_FILE, tok_config)
        atomic.write_json(tmp_dir / SPECIAL_TOKENS_FILE, special_map)
        card = model_card if isinstance(model_card, str) else _model_card(
            model, vocab, out_dir, chat_template, dtype, facts=model_card)
        atomic.write_text(tmp_dir / MODEL_CARD_FILE, card)

    log.info(
        "exported %s: %d tensors (%.1f MB, %s%s), tokenizer with %d pieces%s; files: %s",
        out_dir,
        n_tensors,
        n_bytes / 1e6,
        _DTYPE_NAMES[dtype],
        ", tied head stored once" if cfg.tie_embeddings else "",
        n_pieces,
        ", chat template" if chat_template else "",
        ", ".join(sorted(p.name for p in out_dir.iterdir())),
    )
    return out_dir


def hf_config(
    cfg: ModelConfig,
    dtype: torch.dtype = torch.float32,
    bos_id: int | None = None,
    eos_id: int | None = None,
    pad_id: int | None = None,
) -> dict[str, Any]:
    """The `config.json` of a `LlamaForCausalLM` equal to `Transformer(cfg)`.

    Rotary settings are written twice: `rope_theta` at the top level (what
    transformers 4.x reads) and `rope_parameters` (transformers 5.x's form; 5.x
    also accepts the top-level key, 4.x keeps the unknown dict as an attribute).
    """
    dtype_name = _DTYPE_NAMES[dtype]
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.dim,
        "intermediate_size": cfg.ffn_dim,
        "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.kv_heads,
        "head_dim": cfg.head_dim,
        "max_position_embeddings": cfg.max_seq_len,
        "rms_norm_eps": cfg.norm_eps,
        "rope_theta": cfg.rope_theta,
        "rope_parameters": {"rope_type": "default", "rope_theta": cfg.rope_theta},
        "hidden_act": "silu",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "tie_word_embeddings": cfg.tie_embeddings,
        "use_cache": True,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "torch_dtype": dtype_name,  # transformers 4.x
        "dtype": dtype_name,  # transformers 5.x
    }


# --------------------------------------------------------------------------- model card

# Facts that are Hugging Face card metadata (the YAML header the Hub indexes), not prose.
_CARD_METADATA = ("license", "license_name", "license_link", "language", "datasets", "base_model", "tags")
# Facts that shape the card itself rather than getting a section of their own.
_CARD_LAYOUT = ("name", "description", "model_id")


def _model_card(
    model: Transformer, vocab: dict[str, Any], out_dir: Path, chat_template: str | None, dtype: torch.dtype,
    facts: Mapping[str, Any] | None,
) -> str:
    """README.md: what the model is (from its config), how to load it, then the caller's facts."""
    facts = dict(facts or {})
    parts = [
        _card_metadata(facts),
        f"# {facts.get('name', out_dir.name)}",
        facts.get("description", "A small Llama-style language model trained from scratch with forja."),
        _card_model_table(model, len(vocab["pieces"]), dtype),
        _card_tokenizer(vocab, chat_template is not None),
        "## Use with transformers\n\n" + _card_usage(str(facts.get("model_id", out_dir)), chat_template is not None),
    ]
    extra = {k: v for k, v in facts.items() if k not in _CARD_METADATA + _CARD_LAYOUT}
    parts += [f"## {key.replace('_', ' ').capitalize()}\n\n{_card_value(value)}" for key, value in extra.items()]
    if not extra:
        parts.append("## Training data and licences\n\nNot given to the exporter: ask whoever trained this model.")
    return "\n\n".join(parts) + "\n"


def _card_metadata(facts: dict[str, Any]) -> str:
    # JSON values are valid YAML, so the header needs no YAML library.
    meta: dict[str, Any] = {"library_name": "transformers", "pipeline_tag": "text-generation"}
    meta.update({k: facts[k] for k in _CARD_METADATA if k in facts})
    meta["tags"] = ["llama", "forja", *[t for t in facts.get("tags", []) if t not in ("llama", "forja")]]
    lines = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in meta.items()]
    return "\n".join(["---", *lines, "---"])


def _card_model_table(model: Transformer, n_pieces: int, dtype: torch.dtype) -> str:
    cfg, n = model.cfg, model.num_params()
    attention = "grouped-query causal attention" if cfg.kv_heads < cfg.n_heads else "causal attention"
    tied = ", input and output embeddings tied" if cfg.tie_embeddings else ""
    rows = [
        ("Architecture", ("Llama-style decoder (`LlamaForCausalLM`): RMSNorm, rotary positions "
                          f"(theta {cfg.rope_theta:g}), {attention}, SwiGLU MLP{tied}")),
        ("Parameters", f"{n:,} ({n / 1e6:.2f}M)"),
        ("Layers", str(cfg.n_layers)),
        ("Hidden size / MLP size", f"{cfg.dim} / {cfg.ffn_dim}"),
        ("Attention heads", f"{cfg.n_heads} query, {cfg.kv_heads} key/value, head size {cfg.head_dim}"),
        ("Vocabulary", f"{cfg.vocab_size} ids ({n_pieces} tokenizer pieces)"),
        ("Context", f"{cfg.max_seq_len} tokens"),
        ("Weights", f"{_DTYPE_NAMES[dtype]}, safetensors"),
    ]
    return "## Model\n\n" + _card_table(rows)


def _card_tokenizer(vocab: dict[str, Any], chat: bool) -> str:
    specials = ", ".join(f"`{p}` ({i})" for i, p in sorted(vocab["special"].items()))
    text = ("## Tokenizer\n\nSentencePiece BPE (`tokenizer.model`) with byte fallback, so every text encodes "
            "without unknown tokens, and no dummy prefix space (`decode(encode(s)) == s`). "
            f"Special tokens (id): {specials}.")
    if chat:
        text += ("\n\nThe tokenizer carries the chat template the model was fine-tuned with: "
                 "`apply_chat_template(messages, add_generation_prompt=True)` gives the ids it expects.")
    if chat and _END_OF_TURN in vocab["special"].values():
        text += (f" A reply ends with `{_END_OF_TURN}`, which generation_config.json lists as an end token, "
                 "so `generate` stops there.")
    return text


def _card_usage(model_id: str, chat: bool) -> str:
    path = json.dumps(model_id, ensure_ascii=False)  # a Python string literal too
    load = (f"from transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            f"tok = AutoTokenizer.from_pretrained({path})\n"
            f"model = AutoModelForCausalLM.from_pretrained({path})\n")
    if chat:
        inputs = ('inputs = tok.apply_chat_template([{"role": "user", "content": "Hola, ¿qué tal?"}],\n'
                  '                               add_generation_prompt=True, return_dict=True, return_tensors="pt")\n')
    else:
        inputs = 'inputs = tok("En el principio", return_tensors="pt")\n'
    run = ("out = model.generate(**inputs, max_new_tokens=40, do_sample=True, temperature=0.8)\n"
           'print(tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True))\n')
    return f"```python\n{load}{inputs}{run}```"


def _card_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return _card_table([(str(k), _card_scalar(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return "\n".join(f"- {_card_scalar(v)}" for v in value)
    return _card_scalar(value)


def _card_scalar(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _card_table(rows: list[tuple[str, str]]) -> str:
    escaped = [(k, v.replace("|", "\\|")) for k, v in rows]  # a "|" in a value would end the cell
    return "\n".join(["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in escaped)])


def _write_weights(model: Transformer, path: Path, dtype: torch.dtype) -> tuple[int, int]:
    state = model.state_dict()
    if model.cfg.tie_embeddings:
        # One tensor on disk, as HF saves tied models; `tie_word_embeddings` restores the head.
        state.pop("lm_head.weight", None)
    tensors = {name: t.detach().to(device="cpu", dtype=dtype).contiguous() for name, t in state.items()}
    save_file(tensors, str(path), metadata={"format": "pt"})
    return len(tensors), sum(t.numel() * t.element_size() for t in tensors.values())


def _read_spm_vocab(path: Path) -> dict[str, Any]:
    """Pieces, special pieces and their ids, read with sentencepiece's own API (no protobuf needed)."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(path))
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]

    def _id(i: int) -> int | None:
        return i if i >= 0 else None

    special = {i: pieces[i] for i in range(len(pieces)) if sp.is_control(i) or sp.is_unknown(i)}
    return {
        "pieces": pieces,
        "special": special,  # id -> piece: unk and every control symbol (pad, bos, eos, chat markers)
        "unk_id": _id(sp.unk_id()),
        "bos_id": _id(sp.bos_id()),
        "eos_id": _id(sp.eos_id()),
        "pad_id": _id(sp.pad_id()),
    }


def _generation_config(vocab: dict[str, Any]) -> dict[str, Any]:
    eos: int | list[int] | None = vocab["eos_id"]
    if _END_OF_TURN in vocab["special"].values():
        eot = next(i for i, p in vocab["special"].items() if p == _END_OF_TURN)
        eos = [i for i in (vocab["eos_id"], eot) if i is not None]  # a chat reply ends at either
    return {"bos_token_id": vocab["bos_id"], "eos_token_id": eos, "pad_token_id": vocab["pad_id"]}


def _tokenizer_files(
    vocab: dict[str, Any], cfg: ModelConfig, chat_template: str | None, add_bos_token: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """tokenizer_config.json and special_tokens_map.json for transformers' LlamaTokenizer.

    Our sentencepiece model has no dummy prefix and no normalizer, so:
    `legacy: false` with `add_prefix_space: false` makes transformers build a
    Metaspace pre-tokenizer that only maps " " to "▁" (prepend_scheme "never")
    and no normalizer, and its byte-fallback BPE (vocab and merges taken from
    tokenizer.model, merge priority = piece id) then gives sentencepiece's ids.
    """
    pieces, special = vocab["pieces"], vocab["special"]

    def name(i: int | None) -> str | None:
        return pieces[i] if i is not None else None

    named = {
        "bos_token": name(vocab["bos_id"]),
        "eos_token": name(vocab["eos_id"]),
        "unk_token": name(vocab["unk_id"]),
        "pad_token": name(vocab["pad_id"]),
    }
    named = {k: v for k, v in named.items() if v is not None}
    additional = [p for i, p in sorted(special.items()) if p not in named.values()]

    def added(piece: str) -> dict[str, Any]:
        return {"content": piece, "lstrip": False, "rstrip": False, "normalized": False, "single_word": False, "special": True}

    config: dict[str, Any] = {
        "tokenizer_class": "LlamaTokenizer",
        "legacy": False,
        "add_prefix_space": False,
        "add_bos_token": add_bos_token,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "spaces_between_special_tokens": False,
        "model_max_length": cfg.max_seq_len,
        "sp_model_kwargs": {},
        **named,
        "additional_special_tokens": additional,
        "added_tokens_decoder": {str(i): added(p) for i, p in sorted(special.items())},
    }
    if chat_template is not None:
        config["chat_template"] = chat_template
    special_map: dict[str, Any] = {k: added(v) for k, v in named.items()}
    special_map["additional_special_tokens"] = [added(p) for p in additional]
    return config, special_map


# --------------------------------------------------------------------------- import


_REQUIRED_KEYS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")


def load_hf_state(path: str | Path) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """Read a Hugging Face Llama folder (ours or anyone's) into `(ModelConfig, state_dict)`.

    `Transformer(cfg).load_state_dict(state)` then gives the same model. Only
    config.json and safetensors files are read (never pickle). Keys HF gives a
    default to (num_key_value_heads, rope_theta, rms_norm_eps, ...) get HF's
    default when missing; the sizes are required. A missing key, a model that
    is not Llama, or a feature our model lacks (biases, rope scaling, another
    activation) is a ValueError naming the file and the key.
    """
    folder = Path(path)
    if folder.is_file():  # config.json itself
        folder = folder.parent
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} not found: not a Hugging Face model folder")
    try:
        hf = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{config_path}: not valid JSON ({err})") from None
    if not isinstance(hf, dict):
        raise ValueError(f"{config_path}: expected a JSON object")
    cfg = config_from_hf(hf, where=str(config_path))
    state = _read_weights(folder)

    if "lm_head.weight" not in state:
        if not cfg.tie_embeddings:
            raise ValueError(
                f"{folder}: the weights have no 'lm_head.weight' and {config_path} says tie_word_embeddings=false"
            )
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    with torch.device("meta"):  # shapes only, no memory, no init cost
        expected = {k: tuple(v.shape) for k, v in Transformer(cfg).state_dict().items()}
    missing, unexpected = sorted(expected.keys() - state.keys()), sorted(state.keys() - expected.keys())
    if missing or unexpected:
        raise ValueError(
            f"{folder}: weights do not match {CONFIG_FILE}; missing: {missing[:8]}, unexpected: {unexpected[:8]}"
        )
    for key, shape in expected.items():
        if tuple(state[key].shape) != shape:
            raise ValueError(
                f"{folder}: tensor {key!r} has shape {tuple(state[key].shape)}, {CONFIG_FILE} implies {shape}"
            )
    log.info("loaded %s: %d layers, dim %d, vocab %d", folder, cfg.n_layers, cfg.dim, cfg.vocab_size)
    return cfg, state


def config_from_hf(hf: dict[str, Any], where: str = CONFIG_FILE) -> ModelConfig:
    """Our ModelConfig from a LlamaConfig dict (as in config.json). `where` names the file in errors."""

    def need(key: str) -> Any:
        if key not in hf:
            raise ValueError(f"{where}: missing key {key!r} (needed to build the model)")
        return hf[key]

    model_type = need("model_type")
    if model_type != "llama":
        raise ValueError(f"{where}: key 'model_type' is {model_type!r}; only 'llama' models can be loaded")
    for key in _REQUIRED_KEYS:
        value = need(key)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{where}: key {key!r} must be a positive integer, got {value!r}")

    dim, n_heads = hf["hidden_size"], hf["num_attention_heads"]
    kv = hf.get("num_key_value_heads") or n_heads
    head_dim = hf.get("head_dim") or dim // n_heads
    if head_dim * n_heads != dim:
        raise ValueError(
            f"{where}: key 'head_dim' is {head_dim} but hidden_size/num_attention_heads = {dim}/{n_heads}; "
            "our model needs head_dim * num_attention_heads == hidden_size"
        )
    unsupported = {"hidden_act": "silu", "attention_bias": False, "mlp_bias": False}
    for key, ours in unsupported.items():
        if key in hf and hf[key] != ours:
            raise ValueError(f"{where}: key {key!r} is {hf[key]!r}; our model only supports {ours!r}")
    if hf.get("pretraining_tp", 1) not in (1, None):
        raise ValueError(f"{where}: key 'pretraining_tp' is {hf['pretraining_tp']!r}; only 1 is supported")

    rope_theta = hf.get("rope_theta", 10000.0)
    rope = hf.get("rope_parameters") or hf.get("rope_scaling")
    if rope:
        key = "rope_parameters" if hf.get("rope_parameters") else "rope_scaling"
        if not isinstance(rope, dict):
            raise ValueError(f"{where}: key {key!r} must be an object, got {rope!r}")
        rope_type = rope.get("rope_type", rope.get("type", "default"))
        if rope_type != "default":
            raise ValueError(f"{where}: key {key!r} has rope_type {rope_type!r}; only 'default' rotary is supported")
        rope_theta = rope.get("rope_theta", rope_theta)

    try:
        cfg = ModelConfig(
            vocab_size=hf["vocab_size"],
            dim=dim,
            n_layers=hf["num_hidden_layers"],
            n_heads=n_heads,
            n_kv_heads=None if kv == n_heads else kv,
            hidden_dim=hf["intermediate_size"],
            max_seq_len=hf.get("max_position_embeddings", 2048),
            rope_theta=float(rope_theta),
            norm_eps=float(hf.get("rms_norm_eps", 1e-6)),
            tie_embeddings=bool(hf.get("tie_word_embeddings", False)),
        )
    except (ValueError, TypeError) as err:  # ConfigError is a ValueError
        raise ValueError(f"{where}: {err}") from None
    # Canonical form: leave hidden_dim unset when it is what the default rule gives.
    default = ModelConfig(dim=dim, n_heads=n_heads)
    if cfg.hidden_dim == default.ffn_dim:
        cfg = ModelConfig(**{**_fields(cfg), "hidden_dim": None})
    return cfg


def _fields(cfg: ModelConfig) -> dict[str, Any]:
    return {f: getattr(cfg, f) for f in cfg.__dataclass_fields__}


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    single, index = folder / WEIGHTS_FILE, folder / WEIGHTS_INDEX_FILE
    if single.is_file():
        files = [single]
    elif index.is_file():
        weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ValueError(f"{index}: missing key 'weight_map'")
        files = [folder / name for name in sorted(set(weight_map.values()))]
    else:
        raise FileNotFoundError(f"{folder}: no {WEIGHTS_FILE} or {WEIGHTS_INDEX_FILE} (only safetensors are read)")
    state: dict[str, torch.Tensor] = {}
    for file in files:
        with safe_open(str(file), framework="pt", device="cpu") as f:
            for key in f.keys():
                if key.endswith("rotary_emb.inv_freq"):
                    continue  # a buffer older transformers saved; we recompute it
                state[key] = f.get_tensor(key)
    return state
