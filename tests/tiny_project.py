"""A tiny forja project on disk that the real pipeline runs in a minute or two: the repo's
dvc.yaml, flows and llm_core, a params.yaml small enough for CI, and a corpus of local
files (two languages, a duplicate, a French file, an empty one, a JSONL source with a
broken line, a chat file with a broken line).

    make_tiny_project(root)   -> writes all of it into root (git and DVC not initialised)
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]

ES = ["El sol sale por el este cada mañana.", "La niña lee un libro en la biblioteca.",
      "Mi abuelo cultiva tomates en su huerto.", "El tren llega tarde porque llueve mucho.",
      "Los estudiantes preparan el examen de historia.", "En invierno las montañas se cubren de nieve.",
      "Mañana iremos al mercado a comprar fruta.", "El perro duerme junto a la chimenea.",
      "La ciudad tiene un puerto muy antiguo.", "Aprender idiomas abre muchas puertas.",
      "Mi hermana toca el piano todas las tardes.", "El río atraviesa el valle hasta el mar."]
EN = ["The sun rises in the east every morning.", "The girl reads a book in the library.",
      "My grandfather grows tomatoes in his garden.", "The train is late because it is raining.",
      "The students are preparing for the history exam.", "In winter the mountains are covered in snow.",
      "Tomorrow we will go to the market to buy fruit.", "The dog sleeps next to the fireplace.",
      "The city has a very old harbour.", "Learning languages opens many doors.",
      "My sister plays the piano every afternoon.", "The river crosses the valley down to the sea."]
FR = "Le chat dort sur le canapé pendant que la pluie tombe doucement sur la ville endormie ce soir."


def write_corpus(root: Path) -> None:
    rng = random.Random(0)
    (root / "corpus").mkdir()
    for i in range(24):
        lang, pool = ("es", ES) if i % 2 else ("en", EN)
        text = " ".join(rng.sample(pool, 6)) + f" Número {i}." * (lang == "es")
        (root / "corpus" / f"{lang}-{i:02d}.txt").write_text(text)
    shutil.copy(root / "corpus" / "en-00.txt", root / "corpus" / "en-copy.txt")  # an exact duplicate
    (root / "corpus" / "fr.txt").write_text(FR * 2)  # not a kept language
    (root / "corpus" / "empty.txt").write_text("")
    rows = [json.dumps({"body": " ".join(rng.sample(EN, 5))}) for _ in range(6)]
    (root / "rows.jsonl").write_text("\n".join(rows[:3] + ["{broken"] + rows[3:]) + "\n")
    chat = [{"messages": [{"role": "user", "content": "¿Qué tal?"}, {"role": "assistant", "content": "Muy bien."}]}] * 3
    (root / "chat.jsonl").write_text("\n".join(json.dumps(c, ensure_ascii=False) for c in chat) + "\nnot json\n")


PARAMS = {
    "collect": {"sources": [{"kind": "files", "path": "corpus", "name": "local"},
                            {"kind": "jsonl", "path": "rows.jsonl", "text_column": "body", "name": "rows", "lang": "en"}],
                "on_error": "skip", "shard_docs": 10, "task_runner": "threads",
                # the repo's cache: the finetune stage reads the aligned Bible verses from Debian packages
                "cache_dir": str(REPO / "data" / "cache")},
    "clean": {"task_runner": "threads"},
    "split": {"seed": 1, "val_fraction": 0.2},
    "tokenizer": {"vocab_size": 320, "sample_bytes": 100000, "character_coverage": 1.0, "heldout_docs": 50},
    "tokenize": {"task_runner": "threads", "batch_docs": 8},
    "pretrain": {"model": {"dim": 32, "n_layers": 1, "n_heads": 2, "max_seq_len": 32},
                 "train": {"max_steps": 6, "batch_size": 4, "seq_len": 32, "warmup_steps": 2, "eval_interval": 3,
                           "eval_batches": 1, "log_interval": 1, "checkpoint_interval": 3, "device": "cpu"},
                 "samples": {"prompts": ["El sol", "The dog"], "max_new_tokens": 5}},
    "finetune": {"method": "lora", "lora": {"rank": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
                 "tasks": {"seed": 1, "n_train_per_task": 16, "n_heldout_per_task": 4},
                 "conversations": {"chatterbot_es": True, "chatterbot_en": False, "chitchat_max": 10},
                 "files": ["chat.jsonl"], "val_every": 10,
                 "train": {"max_steps": 4, "batch_size": 4, "seq_len": 32, "warmup_steps": 1, "eval_interval": 2,
                           "eval_batches": 1, "log_interval": 1, "device": "cpu"}},
    "export": {"dtype": "float32"},
    "sweep": {"sizes": [{"dim": 32, "n_layers": 1, "n_heads": 2, "n_kv_heads": 1, "hidden_dim": 64},
                        {"dim": 96, "n_layers": 4, "n_heads": 2, "n_kv_heads": 1, "hidden_dim": 256}],
              "budgets": ["tokens"], "overrides": {"finetune.train.max_steps": 2}},
    "evaluate": {"shots": [0, 1], "max_items_per_task": 2, "word_samples": 1, "max_new_tokens": 4,
                 "temperatures": [0.0], "prompts": {"es": ["Hola"], "en": ["Hello"]}},
}


GIT_IDENTITY = {"GIT_AUTHOR_NAME": "forja test", "GIT_AUTHOR_EMAIL": "test@forja.invalid",
                "GIT_COMMITTER_NAME": "forja test", "GIT_COMMITTER_EMAIL": "test@forja.invalid"}  # for dvc exp




def make_tiny_project(root: Path, params: dict | None = None) -> Path:
    for name in ("dvc.yaml", ".dvcignore"):
        shutil.copy(REPO / name, root / name)
    for pkg in ("flows", "llm_core"):
        shutil.copytree(REPO / pkg, root / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "params.yaml").write_text(yaml.safe_dump(params or PARAMS))
    write_corpus(root)
    return root
