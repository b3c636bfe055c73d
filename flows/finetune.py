"""finetune: supervised fine-tuning of the base model into a chat model.

    python -m flows.finetune

Data: the built-in bilingual task suite (from the cleaned corpus and the
aligned Bible verses), forja's own greetings, small talk and FAQ in es and en
(llm_core.data.smalltalk), the conversations that ship in PyPI packages
(chatterbot-corpus es/en, chitchat-dataset en) and the user's chat files
(OpenAI messages, Alpaca, ShareGPT). Loss only on assistant tokens. Full
fine-tuning by default; LoRA (merged into the weights at the end) as an option.
Multi-turn dialogues of two or three tasks (with follow-ups on the last answer) join the
single-turn task items. Writes models/chat/, data/finetune/ (task items, the held-out
dialogues and small-talk prompts, used again by evaluate), metrics/finetune.json, plots/finetune/loss.csv
and reports/finetune.md.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, task

from llm_core.atomic import atomic_dir, write_jsonl
from llm_core.chat import encode_conversations
from llm_core.checkpoint import load_checkpoint, load_model, save_checkpoint
from llm_core.config import to_dict
from llm_core.data import chat_corpus, smalltalk
from llm_core.data.chat_batches import ChatBatches
from llm_core.data.chat_files import ChatReadReport, read_chat_file
from llm_core.data.collect import read_aligned_verses
from llm_core.data.documents import read_shards
from llm_core.lora import apply_lora, merge_lora, trainable_parameters
from llm_core.params.finetune import ChatFile, ConversationParams, FinetuneParams, TaskParams
from llm_core.tasks.dialogues import build_dialogues, save_dialogues
from llm_core.tasks.items import as_messages, save_items
from llm_core.tasks.suite import build_suite
from llm_core.tokenizer import Tokenizer
from llm_core.train import train

from .common import log, params_path, run_stage, stage_params, stage_timer, write_loss_csv, write_metrics, write_report

BASE = Path("models/base")
OUT = Path("models/chat")
DATA = Path("data/finetune")
RUNS = Path("data/cache/finetune")
VERSES = Path("data/collect/aligned_verses.jsonl")


def settings() -> FinetuneParams:
    """Every setting the stage reads, checked before any work, with the one fact it
    needs from the base model: that an example fits its context."""
    cfg: FinetuneParams = stage_params("finetune")
    try:
        cfg.check_context(load_checkpoint(BASE).model_cfg.max_seq_len)
    except ValueError as err:
        raise ValueError(f"{params_path()}: finetune.{err}") from None
    return cfg


def build_tasks(p: TaskParams, out: Path) -> dict:
    verses = read_aligned_verses(VERSES)  # None: no translate task (collect says why)
    try:
        suite = build_suite(read_shards("data/clean/shards"), verses, p.seed, p.n_train_per_task, p.n_heldout_per_task)
    except ValueError as e:
        raise ValueError(f"{params_path()}: finetune.tasks: {e}") from None
    save_items(out / "tasks_train.jsonl", suite.train)
    save_items(out / "tasks_heldout.jsonl", suite.heldout)
    try:
        train_d = build_dialogues(suite.train, p.dialogues, p.seed)
        held_d = build_dialogues(suite.heldout, p.dialogues_heldout, p.seed, turns=(3,), follow_up_share=1.0,
                                 rotate=True)
    except ValueError as e:
        raise ValueError(f"{params_path()}: finetune.tasks.dialogues: {e}") from None
    save_dialogues(out / "dialogues_heldout.jsonl", held_d)
    log.info("dialogues: %d to train on (%d turns), %d held out", len(train_d), sum(len(d.turns) for d in train_d),
             len(held_d))
    return {"train": [as_messages(i) for i in suite.train] + [d.messages() for d in train_d],
            "counts": suite.counts(), "dialogues": len(train_d)}


def own_conversations(p: ConversationParams, out: Path, context: int) -> list:
    """forja's own small talk and FAQ: the training part, `p.smalltalk` times; the held-out
    prompts go to `out`/smalltalk_heldout.jsonl for the evaluate stage."""
    if not p.smalltalk:
        write_jsonl(out / "smalltalk_heldout.jsonl", [])
        return []
    train, held = smalltalk.build(seed=0, heldout_share=p.smalltalk_heldout, context=context)
    write_jsonl(out / "smalltalk_heldout.jsonl", (dataclasses.asdict(h) for h in held))
    log.info("smalltalk: %d conversations (x%d), %d held-out prompts", len(train), p.smalltalk, len(held))
    return train * p.smalltalk


def conversations(p: ConversationParams, files: tuple[ChatFile, ...], on_error: str, own: list) -> tuple[list, dict]:
    counts: Counter = Counter()
    convs = list(own)
    if own:
        counts[f"forja smalltalk (x{p.smalltalk})"] = len(own) // p.smalltalk
    for lang, wanted in (("es", p.chatterbot_es), ("en", p.chatterbot_en)):
        if wanted:
            convs += list(chat_corpus.chatterbot(lang, counts))
    if p.chitchat_max > 0:
        convs += list(chat_corpus.chitchat(p.chitchat_max, counts))
    report = ChatReadReport()
    for f in files:
        convs += read_chat_file(f.path, f.format, on_error=on_error, report=report)
    return convs, {"sources": dict(counts), "files": report.as_dict()}


@task(name="fine-tune")
def fine_tune(p: FinetuneParams, examples: list, val: list) -> dict:
    return fine_tune_run(p, examples, val)


def fine_tune_run(p: FinetuneParams, examples: list, val: list, main: bool = True) -> dict:
    """The training; under torchrun every rank runs it (rank 0 inside the flow) and
    only rank 0 (`main`) writes the chat model and the loss curve."""
    cfg = p.train
    model, base = load_model(BASE)
    if p.method == "lora":
        apply_lora(model, p.lora)
    trainable, total = trainable_parameters(model)
    data = ChatBatches(examples, cfg.seq_len, cfg.batch_size, seed=cfg.seed, grad_accum=cfg.grad_accum, pack=p.pack)
    held = ChatBatches(val, cfg.seq_len, cfg.batch_size, seed=cfg.seed, max_eval_batches=cfg.eval_batches, pack=p.pack)
    log.info("%d examples in %.0f rows per epoch (%s); %.2f epochs in %d steps", len(examples),
             data.rows_in_epoch(0), "packed" if p.pack else "one per row", cfg.max_steps / data.steps_per_epoch, cfg.max_steps)
    # The run folder (and so what a rerun resumes) is tied to the exact base weights and examples.
    weights = hashlib.sha256((BASE / "model.safetensors").read_bytes()).hexdigest()
    lora = to_dict(p.lora) if p.method == "lora" else None
    key = json.dumps([to_dict(cfg), p.method, lora, p.pack, weights, data.fingerprint()], sort_keys=True)
    run = RUNS / hashlib.sha256(key.encode()).hexdigest()[:12]
    log.info("finetune (%s): %d examples, %d trainable of %d parameters, run folder %s", p.method, len(examples), trainable, total, run)
    result = train(model, cfg, data, held, out_dir=run, tokenizer_path=base.tokenizer_path, extra_state={"stage": "finetune"})
    if not main:
        return {}
    if p.method == "lora":
        merge_lora(model)  # plain Llama weights again: export and evaluation need no adapters
    state = {"step": result.steps, "tokens_seen": result.tokens_seen, "stage": "finetune", "method": p.method}
    save_checkpoint(OUT, model, None, state, base.tokenizer_path)
    write_loss_csv(run, Path("plots/finetune/loss.csv"), ["step", "train_loss", "val_loss", "lr"], "Fine-tuning loss")
    return {"method": p.method, "packed": p.pack, "epochs": round(cfg.max_steps / data.steps_per_epoch, 2), "steps": result.steps, "train_loss": round(result.train_loss, 4),
            "val_loss": round(result.val_loss, 4) if result.val_loss is not None else None,
            "trainable_parameters": trainable, "train_seconds": round(result.seconds, 1),
            "resumed_from_step": result.resumed_from}


@flow(name="finetune", log_prints=True)
def finetune_flow() -> dict:
    cfg = settings()
    with stage_timer("finetune") as timer:
        with atomic_dir(DATA) as data_dir:  # the previous task files stay until the new ones are whole
            tasks, convs, sources, (train_ex, val_ex, stats) = training_data(cfg, data_dir)
        result = fine_tune(cfg, train_ex, val_ex)
    metrics = {**result, **{f"examples_{k}": v for k, v in stats.as_dict().items()}, "seconds": timer["seconds"],
               "task_items_train": len(tasks["train"]) - tasks["dialogues"], "task_dialogues_train": tasks["dialogues"],
               "conversations": len(convs)}
    write_metrics("finetune", metrics)
    write_report("finetune", report(metrics, sources, tasks["counts"]))
    log.info("read %s and %d conversations; wrote %s", BASE, len(convs), OUT)
    return metrics


def training_data(cfg: FinetuneParams, data_dir: Path) -> tuple[dict, list, dict, tuple[list, list, Any]]:
    """The task items and conversations (their files written to data_dir), and the encoded
    examples split into training and validation."""
    tasks = build_tasks(cfg.tasks, data_dir)
    own = own_conversations(cfg.conversations, data_dir, load_checkpoint(BASE).model_cfg.max_seq_len)
    convs, sources = conversations(cfg.conversations, cfg.files, cfg.on_error, own)
    tok = Tokenizer.load(BASE / "tokenizer.model")
    examples, stats = encode_conversations(tok, tasks["train"] + convs, max_len=cfg.train.seq_len + 1)
    train_ex = [e for i, e in enumerate(examples) if i % cfg.val_every]
    val_ex = [e for i, e in enumerate(examples) if not i % cfg.val_every]
    return tasks, convs, sources, (train_ex, val_ex, stats)


def other_rank() -> None:
    """A torchrun rank other than 0: the same examples (built in a scratch folder; rank 0
    writes data/finetune) and its share of the training."""
    cfg = settings()
    with tempfile.TemporaryDirectory(prefix="forja-finetune-rank") as scratch:
        _, _, _, (train_ex, val_ex, _) = training_data(cfg, Path(scratch))
    fine_tune_run(cfg, train_ex, val_ex, main=False)


def report(m: dict, sources: dict, counts: dict) -> str:
    packing = "several examples packed per row" if m["packed"] else "one example per row"
    lines = ["# Finetune", "", f"Method: {m['method']}; {m['steps']} steps ({m['epochs']} epochs, {packing}); "
             f"final train loss {m['train_loss']}, validation loss {m['val_loss']}.", "",
             "![Loss against steps](../plots/finetune/loss.svg)", "",
             f"{m['examples_examples']:,} examples ({m['examples_truncated']:,} truncated from the left to fit the context, "
             f"{m['examples_dropped_no_loss']:,} dropped with no assistant token left); "
             f"{m['examples_loss_tokens']:,} of {m['examples_tokens']:,} tokens carry loss.", "", "## Sources", ""]
    lines += [f"- {k}: {v:,}" for k, v in sorted(sources["sources"].items())]
    lines += [f"- task items `{k}`: {v}" for k, v in sorted(counts["train"].items())]
    lines += [f"- multi-turn task dialogues: {m['task_dialogues_train']:,}"]
    if sources["files"].get("skipped"):
        lines += ["", "Skipped records in your chat files:", "", f"```\n{json.dumps(sources['files'], indent=2)}\n```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    run_stage("finetune", settings, finetune_flow, other_rank)


if __name__ == "__main__":
    main()
