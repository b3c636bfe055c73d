"""A tiny forja project on disk for the dashboard tests: the files the stages write,
with made-up but consistent figures, and two tiny real checkpoints (base and chat).

    make_project(path)                 every output, models included
    make_project(path, models=False)   outputs only
    an empty folder                    "before any run"
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import torch

from llm_core.checkpoint import save_checkpoint
from llm_core.config import ModelConfig
from llm_core.model import Transformer
from llm_core.tokenizer import train_tokenizer

REPO = Path(__file__).resolve().parents[1]
CORPUS = ["Hola, ¿qué tal? Muy bien, gracias. El perro come pan.\n",
          "Hello there, how are you? Fine, thanks. The dog eats bread.\n"] * 40
VOCAB = 320
_TOKENIZER_CACHE: dict[str, Path] = {}


def tiny_tokenizer(folder: Path) -> Path:
    """A 320-piece sentencepiece model (trained once per process, then copied)."""
    if "path" not in _TOKENIZER_CACHE:
        built = folder.parent / "_tiny_tok" / "spm"
        built.parent.mkdir(parents=True, exist_ok=True)
        train_tokenizer(CORPUS, built, vocab_size=VOCAB)
        _TOKENIZER_CACHE["path"] = built.with_suffix(".model")
    return _TOKENIZER_CACHE["path"]


def tiny_checkpoint(folder: Path, tokenizer: Path, stage: str, seed: int = 0, context: int = 64,
                    dim: int = 32, n_layers: int = 2) -> Path:
    torch.manual_seed(seed)
    model = Transformer(ModelConfig(vocab_size=VOCAB, dim=dim, n_layers=n_layers, n_heads=2, max_seq_len=context))
    return save_checkpoint(folder, model, state={"step": 12, "stage": stage}, tokenizer_path=tokenizer)


def _json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _curve_rows(steps: int, tokens_per_step: int = 1024) -> list[dict]:
    rows, start = [], time.time()
    for s in range(1, steps + 1):
        row = {"step": s, "tokens": s * tokens_per_step, "train_loss": 6.0 / (1 + 0.1 * s), "lr": 1e-3,
               "tokens_per_s": 5000.0, "elapsed_s": 0.2 * s}
        if s % 5 == 0:
            row["val_loss"] = 6.2 / (1 + 0.1 * s)
        rows.append(row)
    del start
    return rows


def write_metrics(root: Path) -> None:
    m = root / "metrics"
    _json(m / "collect.json", {"documents": 120, "bytes": 50_000, "chars": 49_000, "en_documents": 40, "es_documents": 80,
                               "en_bytes": 20_000, "es_bytes": 30_000, "skipped": 3, "aligned_verses": 10, "seconds": 1.5})
    _json(m / "clean.json", {"documents_in": 120, "documents_out": 110, "chars_in": 49_000, "chars_out": 47_000,
                             "dropped_dedup": 6, "dropped_language": 2, "dropped_quality": 2, "dropped_length": 0,
                             "dropped_boilerplate": 0, "dropped_normalize": 0, "dropped_scrub_pii": 0,
                             "en_documents": 38, "es_documents": 72, "en_bytes": 19_000, "es_bytes": 29_000, "seconds": 2.0})
    _json(m / "tokenizer.json", {"bytes_per_token_en": 3.4, "bytes_per_token_es": 3.2, "vocab_size": VOCAB, "seconds": 0.5})
    _json(m / "tokenize.json", {"train_tokens": 14_000, "val_tokens": 700, "train_bytes": 46_000, "val_bytes": 2_300,
                                "train_en_tokens": 5_000, "train_es_tokens": 9_000, "train_en_bytes": 18_000,
                                "train_es_bytes": 28_000, "val_en_tokens": 300, "val_es_tokens": 400,
                                "val_en_bytes": 1_000, "val_es_bytes": 1_300, "vocab_size": VOCAB, "seconds": 0.4})
    _json(m / "pretrain.json", {"steps": 20, "tokens_seen": 20_480, "train_loss": 2.0, "val_loss": 2.1, "tokens_per_s": 5000,
                                "parameters": 30_000, "train_seconds": 4.0, "seconds": 5.0, "resumed_from_step": 0})
    _json(m / "finetune.json", {"steps": 10, "train_loss": 1.5, "val_loss": 1.2, "seconds": 4.0, "method": "full"})
    _json(m / "evaluate.json", {"base_bits_per_byte": 2.3, "chat_bits_per_byte": 2.8, "gzip_bits_per_byte": 2.9,
                                "bz2_bits_per_byte": 2.6, "xz_bits_per_byte": 2.7, "base_0shot_macro": 0.01,
                                "base_1shot_macro": 0.01, "base_3shot_macro": 0.0, "chat_0shot_macro": 0.35,
                                "known_words_es": 0.8, "known_words_en": 0.85, "seconds": 3.0})
    _json(m / "export.json", {"bytes": 130_000, "parameters": 30_000, "dtype": "float32", "seconds": 0.1})


def write_plots_and_runs(root: Path) -> None:
    for stage, steps in (("pretrain", 20), ("finetune", 10)):
        rows = _curve_rows(steps)
        run = root / "data" / "cache" / stage / f"{stage[:3]}000000001"
        run.mkdir(parents=True, exist_ok=True)
        (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        csv = root / "plots" / stage / "loss.csv"
        csv.parent.mkdir(parents=True, exist_ok=True)
        cols = ["step", "tokens", "train_loss", "val_loss", "lr"]
        csv.write_text(",".join(cols) + "\n" + "".join(",".join(str(r.get(c, "")) for c in cols) + "\n" for r in rows))
    tasks = root / "plots" / "evaluate" / "tasks.csv"
    tasks.parent.mkdir(parents=True, exist_ok=True)
    tasks.write_text("task,base_0shot,base_1shot,base_3shot,chat_0shot\nrepeat,0.0,0.0,0.0,0.6\nlang_id,0.1,0.0,0.0,0.9\n")
    (root / "plots" / "evaluate" / "replies.csv").write_text(
        "lang,prompts,language,sentence,chrf,known_words\nes,14,0.5,0.25,0.31,0.8\nen,15,0.8,0.4,0.42,0.9\n"
        "all,29,0.6552,0.3276,0.3669,0.851\n")
    (root / "plots" / "evaluate" / "turns.csv").write_text(
        "turn,items,accuracy\nturn_1,100,0.5\nturn_2,100,0.47\nturn_2_alone,100,0.52\nturn_3,100,0.41\n"
        "turn_3_alone,100,0.45\nfollow_up,100,0.62\n"
        "follow_up_again,60,0.8\n")


def write_summaries(root: Path) -> None:
    _json(root / "data" / "collect" / "summary.json", {
        "documents": 120, "bytes": 50_000, "chars": 49_000, "skipped": 3,
        "languages": {"en": {"documents": 40, "chars": 19_800, "bytes": 20_000},
                      "es": {"documents": 80, "chars": 29_200, "bytes": 30_000}},
        "sources": {"austen": {"lang": "en", "documents": 40, "chars": 19_800, "bytes": 20_000, "skipped": {}},
                    "refranes": {"lang": "es", "documents": 80, "chars": 29_200, "bytes": 30_000,
                                 "skipped": {"fortune not in es": {"units": 3, "chars": 90}}}}})
    ex = [{"id": "refranes/3", "why": "dedup:near: near copy of refranes/2", "excerpt": "A buen hambre no hay pan duro."}]
    _json(root / "data" / "clean" / "summary.json", {
        "documents_in": 120, "documents_out": 110, "chars_in": 49_000, "chars_out": 47_000,
        "languages": {"en": {"documents": 38, "chars": 18_900, "bytes": 19_000},
                      "es": {"documents": 72, "chars": 28_100, "bytes": 29_000}},
        "sources": {"austen": {"documents_in": 40, "documents_out": 38, "chars_in": 19_800, "chars_out": 18_900},
                    "refranes": {"documents_in": 80, "documents_out": 72, "chars_in": 29_200, "chars_out": 28_100}},
        "filters": {f: {"docs_dropped": d, "docs_changed": 0, "chars_removed": 100 * d, "reasons": {}, "examples": []}
                    for f, d in (("normalize", 0), ("boilerplate", 0), ("scrub_pii", 0), ("length", 0),
                                 ("quality", 2), ("language", 2))}
        | {"dedup": {"docs_dropped": 6, "docs_changed": 0, "chars_removed": 600, "reasons": {"dedup:near": 6},
                     "examples": ex}}})


def write_tasks(root: Path) -> None:
    """The finetune stage's task files: a few held-out and training items of two tasks."""
    from llm_core.tasks.items import make_item, save_items

    words = ["perro", "gato", "casa", "pan", "sol", "luna", "mesa", "libro"]
    train, heldout = [], []
    for n, (a, b) in enumerate(zip(words, words[1:] + words[:1])):
        for lang, ask in (("es", "Repite: {}"), ("en", "Repeat: {}")):
            (heldout if n < 3 else train).append(make_item("repeat", lang, ask.format(f"{a} {b}"), f"{a} {b}", "test"))
            prompt = ("¿Qué palabra es más larga: {} o {}?" if lang == "es" else "Which word is longer: {} or {}?")
            longer = a if len(a) >= len(b) else b
            (heldout if n < 3 else train).append(make_item("which_is_longer", lang, prompt.format(a, b), longer, "test"))
    save_items(root / "data" / "finetune" / "tasks_heldout.jsonl", heldout)
    save_items(root / "data" / "finetune" / "tasks_train.jsonl", train)
    # the evaluate stage's answers: the chat model right on the first item of each, wrong on the rest
    rows = [{"id": it.id, "task": it.task, "lang": it.lang, "prompt": it.prompt, "answer": it.answer,
             "prediction": it.answer if n < 2 else "gato", "score": 1.0 if n < 2 else 0.0, "model": "chat_0shot"}
            for n, it in enumerate(heldout)]
    out = root / "data" / "evaluate" / "predictions.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def make_project(root: Path, models: bool = True, **size) -> Path:
    """Write a finished tiny run under `root` (dvc.yaml copied from the repo, no .dvc folder:
    DVC cannot tell states, as when a run holds its lock)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(REPO / "dvc.lock", root / "dvc.lock")
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    write_metrics(root)
    write_plots_and_runs(root)
    write_summaries(root)
    write_tasks(root)
    if models:
        tok = tiny_tokenizer(root)
        tiny_checkpoint(root / "models" / "base", tok, "pretrain", seed=0, **size)  # size: context, dim, n_layers
        tiny_checkpoint(root / "models" / "chat", tok, "finetune", seed=1, **size)
    return root
