"""finetune: supervised fine-tuning of the base model into a chat model.

    python -m flows.finetune

Data: the built-in bilingual task suite (from the cleaned corpus and the
aligned Bible verses), the conversations that ship in PyPI packages
(chatterbot-corpus es/en, chitchat-dataset en) and the user's chat files
(OpenAI messages, Alpaca, ShareGPT). Loss only on assistant tokens. Full
fine-tuning by default; LoRA (merged into the weights at the end) as an option.
Writes models/chat/, data/finetune/ (task items, used again by evaluate),
metrics/finetune.json, plots/finetune/loss.csv and reports/finetune.md.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from prefect import flow, task

from llm_core.chat import ChatBatches, ChatReadReport, encode_conversations, read_chat_file
from llm_core.checkpoint import load_model, save_checkpoint
from llm_core.config import TrainConfig, from_dict, to_dict
from llm_core.data import chat_corpus
from llm_core.data.default_corpus import aligned_verses
from llm_core.data.documents import read_shards
from llm_core.lora import LoRAConfig, apply_lora, merge_lora, trainable_parameters
from llm_core.tasks import as_messages, build_suite, save_items
from llm_core.tokenizer import Tokenizer
from llm_core.train import train

from .common import write_loss_csv, check_keys, fresh_dir, load_params, log, params_path, setup_logging, stage_timer, write_metrics, write_report

BASE = Path("models/base")
OUT = Path("models/chat")
DATA = Path("data/finetune")
RUNS = Path("data/cache/finetune")
KEYS = {"method", "lora", "tasks", "conversations", "files", "on_error", "train", "val_every", "pack"}


def build_tasks(p: dict) -> dict:
    check_keys("finetune.tasks", p, {"seed", "n_train_per_task", "n_heldout_per_task"})
    verses = aligned_verses(Path(load_params("collect").get("cache_dir", "data/cache")) / "packages")
    n_train = p.get("n_train_per_task", 600)
    try:
        suite = build_suite(read_shards("data/clean/shards"), verses, int(p.get("seed", 7)),
                            n_train if isinstance(n_train, dict) else int(n_train), int(p.get("n_heldout_per_task", 50)))
    except ValueError as e:
        raise ValueError(f"{params_path()}: finetune.tasks: {e}") from None
    save_items(DATA / "tasks_train.jsonl", suite.train)
    save_items(DATA / "tasks_heldout.jsonl", suite.heldout)
    return {"train": [as_messages(i) for i in suite.train], "counts": suite.counts()}


def conversations(p: dict, files: list, on_error: str) -> tuple[list, dict]:
    check_keys("finetune.conversations", p, {"chatterbot_es", "chatterbot_en", "chitchat_max"})
    counts: Counter = Counter()
    convs = []
    for lang in ("es", "en"):
        if p.get(f"chatterbot_{lang}", True):
            convs += list(chat_corpus.chatterbot(lang, counts))
    if int(p.get("chitchat_max", 1000)) > 0:
        convs += list(chat_corpus.chitchat(int(p.get("chitchat_max", 1000)), counts))
    report = ChatReadReport()
    for i, f in enumerate(files):
        spec = f if isinstance(f, dict) else {"path": f}
        check_keys(f"finetune.files[{i}]", spec, {"path", "format"})
        convs += read_chat_file(spec["path"], spec.get("format", "auto"), on_error=on_error, report=report)
    return convs, {"sources": dict(counts), "files": report.as_dict()}


@task(name="fine-tune")
def fine_tune(p: dict, examples: list, val: list) -> dict:
    cfg = from_dict(TrainConfig, p.get("train"), where=f"{params_path()}: finetune.train")
    model, base = load_model(BASE)
    method = p.get("method", "full")
    if method not in ("full", "lora"):
        raise ValueError(f"{params_path()}: finetune.method must be 'full' or 'lora', got {method!r}")
    lora = from_dict(LoRAConfig, p.get("lora"), where=f"{params_path()}: finetune.lora") if method == "lora" else None
    if lora is not None:
        apply_lora(model, lora)
    trainable, total = trainable_parameters(model)
    pack = bool(p.get("pack", True))
    data = ChatBatches(examples, cfg.seq_len, cfg.batch_size, seed=cfg.seed, grad_accum=cfg.grad_accum, pack=pack)
    held = ChatBatches(val, cfg.seq_len, cfg.batch_size, seed=cfg.seed, max_eval_batches=cfg.eval_batches, pack=pack)
    log.info("%d examples in %.0f rows per epoch (%s); %.2f epochs in %d steps", len(examples),
             data.rows_in_epoch(0), "packed" if pack else "one per row", cfg.max_steps / data.steps_per_epoch, cfg.max_steps)
    # The run folder (and so what a rerun resumes) is tied to the exact base weights and examples.
    weights = hashlib.sha256((BASE / "model.safetensors").read_bytes()).hexdigest()
    key = json.dumps([to_dict(cfg), method, p.get("lora"), pack, weights, data.fingerprint()], sort_keys=True)
    run = RUNS / hashlib.sha256(key.encode()).hexdigest()[:12]
    log.info("finetune (%s): %d examples, %d trainable of %d parameters, run folder %s", method, len(examples), trainable, total, run)
    result = train(model, cfg, data, held, out_dir=run, tokenizer_path=base.tokenizer_path, extra_state={"stage": "finetune"})
    if lora is not None:
        merge_lora(model)  # plain Llama weights again: export and evaluation need no adapters
    state = {"step": result.steps, "tokens_seen": result.tokens_seen, "stage": "finetune", "method": method}
    save_checkpoint(OUT, model, None, state, base.tokenizer_path)
    write_loss_csv(run, Path("plots/finetune/loss.csv"), ["step", "train_loss", "val_loss", "lr"])
    return {"method": method, "packed": pack, "epochs": round(cfg.max_steps / data.steps_per_epoch, 2), "steps": result.steps, "train_loss": round(result.train_loss, 4),
            "val_loss": round(result.val_loss, 4) if result.val_loss is not None else None,
            "trainable_parameters": trainable, "train_seconds": round(result.seconds, 1),
            "resumed_from_step": result.resumed_from}


@flow(name="finetune", log_prints=True)
def finetune_flow() -> dict:
    p = load_params("finetune")
    check_keys("finetune", p, KEYS)
    seq_len = int((p.get("train") or {}).get("seq_len", 256))
    with stage_timer("finetune") as timer:
        fresh_dir(DATA)
        tasks = build_tasks(p.get("tasks") or {})
        convs, sources = conversations(p.get("conversations") or {}, p.get("files") or [], p.get("on_error", "skip"))
        tok = Tokenizer.load(BASE / "tokenizer.model")
        examples, stats = encode_conversations(tok, tasks["train"] + convs, max_len=seq_len + 1)
        every = int(p.get("val_every", 50))  # every n-th example is held out for validation loss
        train_ex = [e for i, e in enumerate(examples) if i % every]
        val_ex = [e for i, e in enumerate(examples) if not i % every]
        result = fine_tune(p, train_ex, val_ex)
    metrics = {**result, **{f"examples_{k}": v for k, v in stats.as_dict().items()}, "seconds": timer["seconds"],
               "task_items_train": len(tasks["train"]), "conversations": len(convs)}
    write_metrics("finetune", metrics)
    write_report("finetune", report(metrics, sources, tasks["counts"]))
    log.info("read %s and %d conversations; wrote %s", BASE, len(convs), OUT)
    return metrics


def report(m: dict, sources: dict, counts: dict) -> str:
    packing = "several examples packed per row" if m["packed"] else "one example per row"
    lines = ["# Finetune", "", f"Method: {m['method']}; {m['steps']} steps ({m['epochs']} epochs, {packing}); "
             f"final train loss {m['train_loss']}, validation loss {m['val_loss']}.", "",
             f"{m['examples_examples']:,} examples ({m['examples_truncated']:,} truncated from the left to fit the context, "
             f"{m['examples_dropped_no_loss']:,} dropped with no assistant token left); "
             f"{m['examples_loss_tokens']:,} of {m['examples_tokens']:,} tokens carry loss.", "", "## Sources", ""]
    lines += [f"- {k}: {v:,}" for k, v in sorted(sources["sources"].items())]
    lines += [f"- task items `{k}`: {v}" for k, v in sorted(counts["train"].items())]
    if sources["files"].get("skipped"):
        lines += ["", "Skipped records in your chat files:", "", f"```\n{json.dumps(sources['files'], indent=2)}\n```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    setup_logging()
    finetune_flow()


if __name__ == "__main__":
    main()
