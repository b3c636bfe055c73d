"""evaluate: the base and the chat model, side by side.

    python -m flows.evaluate

Validation loss, perplexity and bits per byte (beside gzip, bz2 and xz on the
same text); held-out task accuracy per task (base 0/1/3-shot, chat 0-shot);
answers to fixed Spanish and English prompts at two temperatures; and the
share of the base model's generated words that occur in the training corpus.
Writes metrics/evaluate.json, plots/evaluate/tasks.csv, reports/evaluate.md
and data/evaluate/predictions.jsonl.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from prefect import flow, task

from llm_core import benchmarks as bm
from llm_core.chat import decode_reply, encode_chat
from llm_core.checkpoint import load_model
from llm_core.config import SampleConfig
from llm_core.data.documents import read_shards
from llm_core.data.tokens import TokenFile
from llm_core.evaluate import evaluate_tokens
from llm_core.sample import generate
from llm_core.tasks import load_items
from llm_core.tokenizer import Tokenizer

from .common import check_keys, fresh_dir, load_params, log, setup_logging, stage_timer, write_metrics, write_report

KEYS = {"max_val_tokens", "shots", "max_items_per_task", "prompts", "temperatures", "max_new_tokens", "word_samples", "seed"}
OUT = Path("data/evaluate")


@task(name="language-model-scores")
def lm_scores(models: dict, max_tokens: int) -> dict:
    val = TokenFile("data/tokenize/val.bin")
    out = {}
    for name, (model, _) in models.items():
        s = evaluate_tokens(model, val, max_tokens=max_tokens or None)
        out.update({f"{name}_val_loss": round(s.loss, 4), f"{name}_perplexity": round(s.perplexity, 2),
                    f"{name}_bits_per_byte": round(s.bits_per_byte, 4)})
    tok = Tokenizer.load("data/tokenizer/tokenizer.model")
    docs = bm.documents_from_tokens(val.ids[: (max_tokens or len(val)) + 1], tok.bos_id)
    text = "".join(tok.decode(d.tolist()) for d in docs).encode("utf-8")
    out.update({f"{k}_bits_per_byte": round(v, 4) for k, v in bm.compressor_bits_per_byte(text).items()})
    return out


@task(name="task-accuracy")
def tasks_scores(models: dict, tok: Tokenizer, shots: list[int], per_task: int) -> tuple[dict, list]:
    heldout = _limit(load_items("data/finetune/tasks_heldout.jsonl"), per_task)
    pool = load_items("data/finetune/tasks_train.jsonl")
    base, chat = models["base"][0], models["chat"][0]
    table, rows = {}, []
    for k in shots:
        acc, preds = bm.task_accuracy(bm.few_shot_fn(base, tok, pool, k), heldout)
        table[f"base_{k}shot"] = acc
        rows += [{**r, "model": f"base_{k}shot"} for r in preds]
    acc, preds = bm.task_accuracy(lambda item: bm.chat_answer(chat, tok, item), heldout)
    table["chat_0shot"] = acc
    rows += [{**r, "model": "chat_0shot"} for r in preds]
    return table, rows


def _limit(items: list, per_task: int) -> list:
    if not per_task:
        return items
    seen: dict[tuple, int] = {}
    out = []
    for it in items:
        key = (it.task, it.lang)
        if seen.get(key, 0) < (per_task + 1) // 2:
            seen[key] = seen.get(key, 0) + 1
            out.append(it)
    return out


@task(name="prompted-samples")
def samples(models: dict, tok: Tokenizer, p: dict) -> list[dict]:
    rows = []
    for lang, prompts in (p.get("prompts") or {}).items():
        for prompt in prompts:
            for t in p.get("temperatures", [0.0, 0.8]):
                cfg = SampleConfig(max_new_tokens=int(p.get("max_new_tokens", 48)), temperature=float(t), top_k=40,
                                   seed=int(p.get("seed", 0)))
                base_ids = tok.encode(prompt, bos=True)
                chat_ids = encode_chat(tok, [{"role": "user", "content": prompt}], add_generation_prompt=True).ids
                b = generate(models["base"][0], base_ids, cfg, stop_ids=[tok.bos_id, tok.eos_id])
                c = generate(models["chat"][0], chat_ids, cfg, stop_ids=[tok.end_of_turn_id, tok.eos_id])
                rows.append({"lang": lang, "prompt": prompt, "temperature": t,
                             "base": tok.decode(b.ids), "chat": decode_reply(tok, c.ids)})
    return rows


@task(name="recognisable-words")
def recognisable(model, tok: Tokenizer, p: dict) -> tuple[dict, dict]:
    vocab = {w for d in read_shards("data/clean/shards") for w in bm.words(d.text)}
    out, texts = {}, {}
    n = int(p.get("word_samples", 8))
    for lang, prompts in (p.get("prompts") or {}).items():
        gen = []
        for i in range(n):
            prompt = prompts[i % len(prompts)]
            cfg = SampleConfig(max_new_tokens=64, temperature=0.8, top_k=40, seed=int(p.get("seed", 0)) + i)
            gen.append(tok.decode(generate(model, tok.encode(prompt, bos=True), cfg, stop_ids=[tok.bos_id, tok.eos_id]).ids))
        share, count = bm.known_word_share(gen, vocab)
        out[f"known_words_{lang}"], out[f"generated_words_{lang}"] = round(share, 4), count
        texts[lang] = gen
    return out, texts


@flow(name="evaluate", log_prints=True)
def evaluate_flow() -> dict:
    p = load_params("evaluate")
    check_keys("evaluate", p, KEYS)
    with stage_timer("evaluate") as timer:
        fresh_dir(OUT)
        models = {name: load_model(f"models/{name}") for name in ("base", "chat")}
        for m, _ in models.values():
            m.eval()
        tok = Tokenizer.load("models/base/tokenizer.model")
        metrics = lm_scores(models, int(p.get("max_val_tokens", 0)))
        table, preds = tasks_scores(models, tok, list(p.get("shots", [0, 1, 3])), int(p.get("max_items_per_task", 0)))
        prompted = samples(models, tok, p)
        words, generated = recognisable(models["base"][0], tok, p)
    best_base = max(v["macro"] for k, v in table.items() if k.startswith("base"))
    metrics.update({f"{k}_macro": round(v["macro"], 4) for k, v in table.items()}, **words,
                   chat_minus_best_base=round(table["chat_0shot"]["macro"] - best_base, 4), seconds=timer["seconds"])
    write_metrics("evaluate", metrics)
    _write_outputs(table, preds, prompted, generated)
    write_report("evaluate", report(metrics, table, prompted, generated))
    log.info("read models/base, models/chat, data/tokenize/val.bin, data/finetune; wrote metrics/evaluate.json, reports/evaluate.md")
    return metrics


def _write_outputs(table: dict, preds: list, prompted: list, generated: dict) -> None:
    with open(OUT / "predictions.jsonl", "w") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in preds)
    (OUT / "samples.json").write_text(json.dumps({"prompted": prompted, "generated": generated}, ensure_ascii=False, indent=2))
    Path("plots/evaluate").mkdir(parents=True, exist_ok=True)
    tasks = _task_order(table)
    with open("plots/evaluate/tasks.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", *table])
        for t in tasks:
            w.writerow([t, *(f"{table[m].get(t, 0):.4f}" for m in table)])


def _task_order(table: dict) -> list[str]:
    """Tasks alphabetically, the macro average last."""
    return sorted(t for t in next(iter(table.values())) if t != "macro") + ["macro"]


def report(m: dict, table: dict, prompted: list, generated: dict) -> str:
    lines = ["# Evaluate", "", "## A language model is a compressor", "",
             "| | bits per byte (validation) |", "| --- | ---: |"]
    for k in ("base", "chat", "gzip", "bz2", "xz"):
        lines.append(f"| {k} | {m[f'{k}_bits_per_byte']} |")
    lines += ["", f"Base: loss {m['base_val_loss']}, perplexity {m['base_perplexity']}. "
              f"Chat: loss {m['chat_val_loss']}, perplexity {m['chat_perplexity']}.", "",
              "## Held-out tasks (exact match; chrF for translate)", "", "| task | " + " | ".join(table) + " |",
              "| --- |" + " ---: |" * len(table)]
    for t in _task_order(table):
        lines.append(f"| {t} | " + " | ".join(f"{table[k][t]:.2f}" for k in table) + " |")
    lines += ["", f"Chat 0-shot minus the best base k-shot (macro): {m['chat_minus_best_base']:+.2f}", "",
              "## Does the base model write words?", ""]
    for lang, texts in generated.items():
        lines += [f"**{lang}**: {m[f'known_words_{lang}']:.1%} of {m[f'generated_words_{lang}']} generated words occur in the corpus.", ""]
        lines += [f"- {t!r}" for t in texts[:3]] + [""]
    lines += ["## Fixed prompts", "", "| lang | prompt | T | base | chat |", "| --- | --- | --- | --- | --- |"]
    for r in prompted:
        cell = lambda s: s.replace("|", "\\|").replace("\n", " ⏎ ")[:160]  # noqa: E731
        lines.append(f"| {r['lang']} | {cell(r['prompt'])} | {r['temperature']} | {cell(r['base'])} | {cell(r['chat'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    setup_logging()
    evaluate_flow()


if __name__ == "__main__":
    main()
