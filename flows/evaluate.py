"""evaluate: the base and the chat model, side by side.

    python -m flows.evaluate

Validation loss, perplexity and bits per byte (beside gzip, bz2 and xz on the
same text); held-out task accuracy per task (base 0/1/3-shot, chat 0-shot);
the chat model's replies to held-out small talk (in the asker's language? a real
sentence? its words real? chrF against good replies); task accuracy by turn in held-out
dialogues and follow-ups on the last answer; both models' loss on held-out
conversations; answers to fixed Spanish and English prompts at two temperatures; and the share of the base model's generated words
that occur in the training corpus. Writes metrics/evaluate.json,
plots/evaluate/{tasks,replies,turns}.csv, reports/evaluate.md and data/evaluate/
(predictions.jsonl, replies.jsonl, dialogues.jsonl, samples.json).
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
from llm_core.data import smalltalk
from llm_core.evaluate.accuracy import limit_per_task, task_table
from llm_core.evaluate.chat_loss import chat_loss
from llm_core.evaluate.dialogues import dialogue_rows, turn_items, turn_scores
from llm_core.evaluate.lm import compressor_bits_per_byte, evaluate_tokens, text_of_tokens
from llm_core.evaluate.replies import LANGS, reply_scores
from llm_core.evaluate.samples import corpus_vocabulary, prompted_samples, recognisable_words, text_vocabulary
from llm_core.params.evaluate import EvaluateParams
from llm_core.tasks.dialogues import load_dialogues
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


def _smalltalk_heldout() -> list[dict]:
    path = Path("data/finetune/smalltalk_heldout.jsonl")  # absent when finetune.conversations.smalltalk is 0
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _dialogues_heldout() -> list:
    path = Path("data/finetune/dialogues_heldout.jsonl")
    return load_dialogues(path) if path.exists() else []


@task(name="chat-replies")
def replies(model, tok: Tokenizer, p: EvaluateParams, vocab: set[str], heldout: list[dict]) -> tuple[dict, list]:
    scores, rows = reply_scores(model, tok, heldout, vocab, p.max_new_tokens)
    return {f"chat_{k}": v for k, v in scores.items()}, rows


@task(name="multi-turn")
def multi_turn(model, tok: Tokenizer, dialogues: list) -> tuple[dict, list]:
    rows = dialogue_rows(model, tok, dialogues)
    return {f"chat_{k}": v for k, v in turn_scores(rows).items()}, rows


@task(name="held-out-conversation-loss")
def conversation_loss(models: dict, tok: Tokenizer, smalltalk_heldout: list[dict], dialogues: list) -> dict:
    """Both models on the replies of conversations neither trained on: the held-out small talk
    (each prompt with its first good reply) and the held-out dialogues."""
    convs = [[{"role": "user", "content": h["prompt"]}, {"role": "assistant", "content": h["references"][0]}]
             for h in smalltalk_heldout] + [d.messages() for d in dialogues]
    if not convs:
        return {}
    out = {}
    for name, (model, _) in models.items():
        s = chat_loss(model, tok, convs)
        out.update({f"{name}_heldout_chat_loss": round(s.loss, 4), f"{name}_heldout_chat_bits_per_byte": round(s.bits_per_byte, 4)})
    out["heldout_chat_conversations"] = len(convs)
    return out


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
        held_talk, held_dialogues = _smalltalk_heldout(), _dialogues_heldout()
        talk, talk_rows = replies(models["chat"][0], tok, p, vocab | text_vocabulary(smalltalk.texts()), held_talk)
        turns, turn_rows = multi_turn(models["chat"][0], tok, held_dialogues)
        metrics.update(conversation_loss(models, tok, held_talk, held_dialogues))
    best_base = max(v["macro"] for k, v in table.items() if k.startswith("base"))
    metrics.update({f"{k}_macro": round(v["macro"], 4) for k, v in table.items()}, **words,
                   **talk, **turns, chat_minus_best_base=round(table["chat_0shot"]["macro"] - best_base, 4),
                   seconds=timer["seconds"])
    write_metrics("evaluate", metrics)
    _write_outputs(table, preds, prompted, generated, talk, talk_rows, turns, turn_rows)
    write_report("evaluate", report(metrics, table, prompted, generated, talk_rows, turn_rows))
    log.info("read models/base, models/chat, data/tokenize/val.bin, data/finetune; wrote metrics/evaluate.json, reports/evaluate.md")
    return metrics


def _write_outputs(table: dict, preds: list, prompted: list, generated: dict, talk: dict, talk_rows: list,
                   turns: dict, turn_rows: list) -> None:
    with atomic_dir(OUT) as tmp:
        write_jsonl(tmp / "predictions.jsonl", preds)
        write_jsonl(tmp / "replies.jsonl", talk_rows)
        write_jsonl(tmp / "dialogues.jsonl", turn_rows)
        write_json(tmp / "samples.json", {"prompted": prompted, "generated": generated})
    write_csv(Path("plots/evaluate/replies.csv"), ["lang", "prompts", "language", "sentence", "chrf", "known_words"],
              [[lang, sum(r["lang"] == lang for r in talk_rows) if lang != "all" else len(talk_rows),
                *(f"{talk[f'chat_reply_{k}' + ('' if lang == 'all' else f'_{lang}')]:.4f}"
                  for k in ("language", "sentence", "chrf", "known_words"))] for lang in (*LANGS, "all")])
    write_csv(Path("plots/evaluate/turns.csv"), ["turn", "items", "accuracy"],
              [[k.removeprefix("chat_"), turn_items(turn_rows, k.removeprefix("chat_")), f"{v:.4f}"]
               for k, v in turns.items() if k.startswith(("chat_turn_", "chat_follow_up"))])
    columns = ["task", *table]
    rows = [[t, *(f"{table[m].get(t, 0):.4f}" for m in table)] for t in _task_order(table)]
    write_csv(Path("plots/evaluate/tasks.csv"), columns, rows)
    svg = plots.bar_chart_svg([dict(zip(columns, r)) for r in rows], "task", list(table), "Held-out task accuracy",
                              "accuracy (exact match; chrF for translate)", value_domain=(0, 1))
    plots.write_svg(Path("plots/evaluate/tasks.svg"), svg)


def _task_order(table: dict) -> list[str]:
    """Tasks alphabetically, the macro average last."""
    return sorted(t for t in next(iter(table.values())) if t != "macro") + ["macro"]


def report(m: dict, table: dict, prompted: list, generated: dict, talk_rows: list, turn_rows: list) -> str:
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
    lines += _multi_turn_section(m, turn_rows, cell)
    lines += ["", "## Fixed prompts", "", "| lang | prompt | T | base | chat |", "| --- | --- | --- | --- | --- |"]
    for r in prompted:
        lines.append(f"| {r['lang']} | {cell(r['prompt'])} | {r['temperature']} | {cell(r['base'])} | {cell(r['chat'])} |")
    return "\n".join(lines) + "\n"


def _multi_turn_section(m: dict, rows: list, cell) -> list[str]:
    if not rows:
        return ["", "## Multi-turn", "", "No held-out dialogues (finetune.tasks.dialogues_heldout is 0)."]
    turns = sorted(k for k in m if k.startswith("chat_turn_") and not k.endswith("_alone"))
    lines = ["", "## Multi-turn: does it keep the thread?", "",
             f"{m['chat_dialogues']} held-out dialogues of three tasks and a follow-up on the last answer, answered "
             "greedily with the model's own earlier replies in the context. They come in threes that rotate the same "
             "three items (a b c, b c a, c a b), so each turn asks the same questions. \"Alone\" asks each item as the "
             "first message of a new conversation, so the difference is what the earlier turns cost.", "",
             "| turn | in the conversation | same items alone |", "| --- | ---: | ---: |"]
    for k in turns:
        alone = m.get(f"{k}_alone", m[k] if k == "chat_turn_1" else None)  # a first turn is asked alone
        lines.append(f"| task, turn {k.rsplit('_', 1)[1]} | {m[k]:.2f} | {'' if alone is None else f'{alone:.2f}'} |")
    lines += [f"| follow-up ({k.removeprefix('chat_follow_up_')}) | {m[k]:.2f} | |"
              for k in sorted(m) if k.startswith("chat_follow_up_")]
    lines += [f"| follow-up, all | {m['chat_follow_up']:.2f} | |", ""]
    if "chat_heldout_chat_bits_per_byte" in m:
        lines += [f"Held-out conversations ({m['heldout_chat_conversations']}), replies only: base "
                  f"{m['base_heldout_chat_bits_per_byte']} bits/byte (loss {m['base_heldout_chat_loss']}), chat "
                  f"{m['chat_heldout_chat_bits_per_byte']} (loss {m['chat_heldout_chat_loss']}).", ""]
    lines += ["| dialogue | turn | prompt | reply | expected | score |", "| --- | ---: | --- | --- | --- | ---: |"]
    for r in rows[:12]:
        lines.append(f"| {r['dialogue'].rsplit('-', 1)[1]} | {r['position']} | {cell(r['prompt'])} | {cell(r['reply'])} | "
                     f"{cell(r['answer'])} | {r['score']:.2f} |")
    return lines


def main() -> None:
    run_stage("evaluate", lambda: stage_params("evaluate"), evaluate_flow)


if __name__ == "__main__":
    main()
