"""evaluate: the base and the chat model, side by side.

    python -m flows.evaluate

Validation loss, perplexity and bits per byte (beside gzip, bz2 and xz on the
same text); held-out task accuracy per task (base 0/1/3-shot, chat 0-shot);
the chat model's replies to held-out small talk (in the asker's language? a real
sentence? chrF against good replies); answers to fixed Spanish and English
prompts at two temperatures; and the share of the base model's generated words
that occur in the training corpus. Writes metrics/evaluate.json,
plots/evaluate/{tasks,replies}.csv, reports/evaluate.md and data/evaluate/
(predictions.jsonl, replies.jsonl, samples.json).
"""
from __future__ import annotations

import json
from pathlib import Path

from prefect import flow, task

from llm_core.checkpoint import load_model
from llm_core import plots
from llm_core.atomic import atomic_dir, write_json, write_jsonl
from llm_core.data.documents import read_shards
from llm_core.data.tokens import TokenFile
from llm_core.evaluate.accuracy import limit_per_task, task_table
from llm_core.evaluate.lm import compressor_bits_per_byte, evaluate_tokens, text_of_tokens
from llm_core.evaluate.replies import LANGS, reply_scores
from llm_core.evaluate.samples import corpus_vocabulary, prompted_samples, recognisable_words
from llm_core.params.evaluate import EvaluateParams
from llm_core.tasks.items import load_items
from llm_core.tokenizer import Tokenizer

from .common import log, run_stage, stage_params, stage_timer, write_csv, write_metrics, write_report

OUT = Path("data/evaluate")


@task(name="language-model-scores")
def lm_scores(models: dict, tok: Tokenizer, max_tokens: int) -> dict:
    val = TokenFile("data/tokenize/val.bin")
    out = {}
    for name, (model, _) in models.items():
        s = evaluate_tokens(model, val, max_tokens=max_tokens or None, desc=f"{name}: validation loss")
        out.update({f"{name}_val_loss": round(s.loss, 4), f"{name}_perplexity": round(s.perplexity, 2),
                    f"{name}_bits_per_byte": round(s.bits_per_byte, 4)})
    text = text_of_tokens(val.ids[: (max_tokens or len(val)) + 1], tok)
    out.update({f"{k}_bits_per_byte": round(v, 4) for k, v in compressor_bits_per_byte(text).items()})
    return out


@task(name="task-accuracy")
def tasks_scores(models: dict, tok: Tokenizer, shots: list[int], per_task: int) -> tuple[dict, list]:
    heldout = limit_per_task(load_items("data/finetune/tasks_heldout.jsonl"), per_task)
    pool = load_items("data/finetune/tasks_train.jsonl")
    return task_table(models["base"][0], models["chat"][0], tok, heldout, pool, shots)


@task(name="prompted-samples")
def samples(models: dict, tok: Tokenizer, p: EvaluateParams) -> list[dict]:
    return prompted_samples(models["base"][0], models["chat"][0], tok, p.prompts, p.temperatures, p.sample_config)


@task(name="recognisable-words")
def recognisable(model, tok: Tokenizer, p: EvaluateParams, vocab: set[str]) -> tuple[dict, dict]:
    return recognisable_words(model, tok, p.prompts, p.word_samples, p.word_sample_config, vocab)


@task(name="chat-replies")
def replies(model, tok: Tokenizer, p: EvaluateParams, vocab: set[str]) -> tuple[dict, list]:
    path = Path("data/finetune/smalltalk_heldout.jsonl")  # absent when finetune.conversations.smalltalk is 0
    heldout = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    scores, rows = reply_scores(model, tok, heldout, vocab, p.max_new_tokens)
    return {f"chat_{k}": v for k, v in scores.items()}, rows


@flow(name="evaluate", log_prints=True)
def evaluate_flow() -> dict:
    p: EvaluateParams = stage_params("evaluate")
    with stage_timer("evaluate") as timer:
        models = {name: load_model(f"models/{name}") for name in ("base", "chat")}
        for m, _ in models.values():
            m.eval()
        tok = Tokenizer.load("models/base/tokenizer.model")
        metrics = lm_scores(models, tok, p.max_val_tokens)
        table, preds = tasks_scores(models, tok, list(p.shots), p.max_items_per_task)
        prompted = samples(models, tok, p)
        vocab = corpus_vocabulary(read_shards("data/clean/shards"))
        words, generated = recognisable(models["base"][0], tok, p, vocab)
        talk, talk_rows = replies(models["chat"][0], tok, p, vocab)
    best_base = max(v["macro"] for k, v in table.items() if k.startswith("base"))
    metrics.update({f"{k}_macro": round(v["macro"], 4) for k, v in table.items()}, **words,
                   **talk, chat_minus_best_base=round(table["chat_0shot"]["macro"] - best_base, 4),
                   seconds=timer["seconds"])
    write_metrics("evaluate", metrics)
    _write_outputs(table, preds, prompted, generated, talk, talk_rows)
    write_report("evaluate", report(metrics, table, prompted, generated, talk_rows))
    log.info("read models/base, models/chat, data/tokenize/val.bin, data/finetune; wrote metrics/evaluate.json, reports/evaluate.md")
    return metrics


def _write_outputs(table: dict, preds: list, prompted: list, generated: dict, talk: dict, talk_rows: list) -> None:
    with atomic_dir(OUT) as tmp:
        write_jsonl(tmp / "predictions.jsonl", preds)
        write_jsonl(tmp / "replies.jsonl", talk_rows)
        write_json(tmp / "samples.json", {"prompted": prompted, "generated": generated})
    write_csv(Path("plots/evaluate/replies.csv"), ["lang", "prompts", "language", "sentence", "chrf"],
              [[lang, sum(r["lang"] == lang for r in talk_rows) if lang != "all" else len(talk_rows),
                *(f"{talk[f'chat_reply_{k}' + ('' if lang == 'all' else f'_{lang}')]:.4f}"
                  for k in ("language", "sentence", "chrf"))] for lang in (*LANGS, "all")])
    columns = ["task", *table]
    rows = [[t, *(f"{table[m].get(t, 0):.4f}" for m in table)] for t in _task_order(table)]
    write_csv(Path("plots/evaluate/tasks.csv"), columns, rows)
    svg = plots.bar_chart_svg([dict(zip(columns, r)) for r in rows], "task", list(table), "Held-out task accuracy",
                              "accuracy (exact match; chrF for translate)", value_domain=(0, 1))
    plots.write_svg(Path("plots/evaluate/tasks.svg"), svg)


def _task_order(table: dict) -> list[str]:
    """Tasks alphabetically, the macro average last."""
    return sorted(t for t in next(iter(table.values())) if t != "macro") + ["macro"]


def report(m: dict, table: dict, prompted: list, generated: dict, talk_rows: list) -> str:
    lines = ["# Evaluate", "", "## A language model is a compressor", "",
             "| | bits per byte (validation) |", "| --- | ---: |"]
    for k in ("base", "chat", "gzip", "bz2", "xz"):
        lines.append(f"| {k} | {m[f'{k}_bits_per_byte']} |")
    lines += ["", f"Base: loss {m['base_val_loss']}, perplexity {m['base_perplexity']}. "
              f"Chat: loss {m['chat_val_loss']}, perplexity {m['chat_perplexity']}.", "",
              "## Held-out tasks (exact match; chrF for translate)", "", "![Task accuracy](../plots/evaluate/tasks.svg)", "",
              "| task | " + " | ".join(table) + " |",
              "| --- |" + " ---: |" * len(table)]
    for t in _task_order(table):
        lines.append(f"| {t} | " + " | ".join(f"{table[k][t]:.2f}" for k in table) + " |")
    lines += ["", f"Chat 0-shot minus the best base k-shot (macro): {m['chat_minus_best_base']:+.2f}", "",
              "## Does the base model write words?", ""]
    for lang, texts in generated.items():
        lines += [f"**{lang}**: {m[f'known_words_{lang}']:.1%} of {m[f'generated_words_{lang}']} generated words occur in the corpus.", ""]
        lines += [f"- {t!r}" for t in texts[:3]] + [""]
    cell = lambda s: s.replace("|", "\\|").replace("\n", " ⏎ ")[:160]  # noqa: E731
    lines += ["## Chat replies to held-out small talk", "",
              f"{m['chat_reply_prompts']} prompts (greetings, small talk, questions about language models and "
              "forja) that fine-tuning never saw, answered greedily. In the asker's language: "
              f"{m['chat_reply_language']:.0%}; a real sentence (3+ words, 80% of them corpus words): "
              f"{m['chat_reply_sentence']:.0%}; chrF against good replies: {m['chat_reply_chrf']:.2f}.", "",
              "| lang | prompt | reply | language | sentence | chrF |", "| --- | --- | --- | ---: | ---: | ---: |"]
    for r in talk_rows[:12]:
        lines.append(f"| {r['lang']} | {cell(r['prompt'])} | {cell(r['reply'])} | {r['language']:.0f} | "
                     f"{r['sentence']:.0f} | {r['chrf']:.2f} |")
    lines += ["", "## Fixed prompts", "", "| lang | prompt | T | base | chat |", "| --- | --- | --- | --- | --- |"]
    for r in prompted:
        lines.append(f"| {r['lang']} | {cell(r['prompt'])} | {r['temperature']} | {cell(r['base'])} | {cell(r['chat'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    run_stage("evaluate", lambda: stage_params("evaluate"), evaluate_flow)


if __name__ == "__main__":
    main()
