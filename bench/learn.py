"""How fast the Aprende lessons answer: each widget's computation, and each whole lesson page.

    python -m bench.learn            # on the project's models/base (and data/clean for the colours)
    python -m bench.learn --quick    # a smoke run (3 repeats)

Two parts, both at the dashboard's torch thread count (half the cores, as
dashboard.loaders.threads() sets it; --threads to change):

* widgets: the llm_core.explain call behind each widget, on models/base, median of --repeats
  after one untimed call: the tokens of a sentence, the PCA map of 500 whole-word embeddings,
  a word's 10 nearest neighbours, the attention maps of a 64-token sentence, the next-token
  distribution and its top 15, the softmax lesson's five 12-token draws plus its 24-token
  greedy line, the context lesson's curve (24 window sizes), the few-shot lesson's six prompts
  (greedy answer and probability of the right one each), and (once, cold) the token-language counts over the cleaned corpus that colour
  the map (the page caches them).
* pages: each lesson run as Streamlit runs it (streamlit.testing AppTest, the whole script
  with its charts built), first visit and then a rerun after moving its main widget (the
  temperature slider, the attention layer, the map's word count, ...), median of --repeats.
  This is the server's share of "the widget answers"; the browser then draws the chart.

Goal: every widget and every rerun under 1 s on the default model on 2 cores.
Results: bench/results/learn-cpu.json and a markdown table next to it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

from llm_core import explain
from llm_core.checkpoint import load_model
from llm_core.config import SampleConfig
from llm_core.sample import generate
from llm_core.tokenizer import Tokenizer

from . import common

NAME = "learn"
REPO = Path(__file__).resolve().parents[1]
GOAL_S = 1.0
SENTENCE = ("El gato se durmió en el sofá porque estaba muy cansado después de jugar toda la tarde en el jardín "
            "con los niños de la casa, que no paraban de reír y de correr detrás de él.")
PROMPT = "Había una vez un"
# (lesson, widget key, new value): the widget each page rerun moves
MOVES = (("tokens", "learn_tokens_text", "Los perros ladran a la luna cuando nadie los mira."),
         ("embeddings", "learn_emb_n", 500), ("parameters", None, None),
         ("attention", "learn_att_layer", 2), ("softmax", "learn_sm_temperature", 2.0),
         ("context", "learn_ctx_word", "gata"), ("fewshot", "learn_fs_k", 5),
         ("stages", "learn_st_prompt", "Hola, ¿cómo estás?"), ("limits", "learn_lim_text", "Llama al 600 111 222."))


def timed(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # untimed: caches and lazy initialisation
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def widgets(project: Path, repeats: int) -> list[dict]:
    model, ckpt = load_model(project / "models" / "base")
    model.eval().requires_grad_(False)
    tok = Tokenizer.load(ckpt.tokenizer_path)
    ids64 = tok.encode(SENTENCE * 3, bos=True)[:64]
    words = explain.word_tokens(tok, 500)
    prompt = tok.encode(PROMPT, bos=True)
    stops = [tok.eos_id, tok.end_of_turn_id]

    long_ids = tok.encode(SENTENCE * 4, bos=True)[-model.cfg.max_seq_len:]
    target = tok.encode(" gato")[0]

    def fewshot():
        from llm_core.evaluate.accuracy import base_answer
        from llm_core.tasks.items import make_item
        from llm_core.tasks.prompts import few_shot_prompt

        shots = [make_item("repeat", "es", f"Repite: {w}", w, "bench") for w in ("el perro", "la casa", "un sol",
                                                                                  "mi libro", "tu mesa")]
        item = make_item("repeat", "es", "Repite: el gato negro", "el gato negro", "bench")
        for k in range(6):
            base_answer(model, tok, item, shots[:k])
            explain.answer_probability(model, tok, few_shot_prompt(shots[:k], item), item.answer)

    def draws():
        for n in range(5):
            generate(model, prompt, SampleConfig(max_new_tokens=12, temperature=1.0, seed=n, top_candidates=0), stops)
        generate(model, prompt, SampleConfig(max_new_tokens=24, temperature=0.0, top_candidates=0), stops)

    cases = [("tokens of a sentence", lambda: explain.tokens(tok, SENTENCE), f"{len(tok.encode(SENTENCE))} tokens"),
             ("PCA map of 500 words", lambda: explain.embedding_map(model, tok, words), f"{len(words)} words"),
             ("10 nearest neighbours", lambda: explain.nearest(model, tok, "casa", 10), "of 'casa'"),
             ("attention, 64 tokens", lambda: explain.attention(model, ids64), f"{len(ids64)} tokens, all layers"),
             ("next-token distribution + top 15", lambda: explain.next_token(model, prompt, 0.7, 40, 0.9).top(15),
              "T 0.7, top-k 40, top-p 0.9"),
             ("5 draws of 12 tokens + greedy 24", draws, "the softmax lesson's samples"),
             ("context curve, 24 window sizes", lambda: explain.context_curve(
                 model, long_ids, target, sorted({max(1, round(len(long_ids) * (k + 1) / 24)) for k in range(24)})),
              f"{len(long_ids)} tokens"),
             ("few-shot: 6 prompts, answer + probability", fewshot, "k = 0..5, 'repeat'")]
    rows = [{"widget": name, "what": what, "seconds": timed(fn, repeats)[0]} for name, fn, what in cases]
    shards = project / "data" / "clean" / "shards"
    if shards.is_dir():
        from llm_core.data.documents import read_shards

        t0 = time.perf_counter()
        explain.token_languages(tok, ((d.lang, d.source, d.text) for d in read_shards(shards) if d.lang))
        rows.append({"widget": "token languages (cold, cached after)", "what": "200k characters per source",
                     "seconds": time.perf_counter() - t0})
    return rows


def widget(at, key: str):
    """The slider, text area or text input with `key` on the page AppTest last ran."""
    return next(w for kind in ("slider", "text_area", "text_input") for w in getattr(at, kind) if w.key == key)


def pages(project: Path, repeats: int) -> list[dict]:
    from streamlit.testing.v1 import AppTest

    os.environ["FORJA_PROJECT"] = str(project)
    rows = []
    for lesson, key, value in MOVES:
        at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=300)
        at.session_state["lang"] = "es"
        at.run()
        at.switch_page(f"views/learn_{lesson}.py")
        t0 = time.perf_counter()
        at.run()  # first visit: the model loaded and cached, the page drawn
        first = time.perf_counter() - t0
        if at.exception:
            raise SystemExit(f"learn_{lesson}: {at.exception[0].value}")
        reruns = []
        element = None if key is None else widget(at, key)
        start = None if element is None else element.value
        for n in range(repeats):
            t0 = time.perf_counter()
            if element is None:
                at.run()
            else:  # to the new value and back, so every rerun has something to recompute
                element.set_value(value if n % 2 == 0 else start).run()
            reruns.append(time.perf_counter() - t0)
            if at.exception:
                raise SystemExit(f"learn_{lesson} after moving {key}: {at.exception[0].value}")
            if element is not None:
                element = widget(at, key)  # the rerun drew a new one
        rows.append({"lesson": lesson, "moved": key or "(rerun)", "first_s": first,
                     "rerun_s": statistics.median(reruns)})
    return rows


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--project", default=str(REPO), help="the forja project whose models/base to use")
    p.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2),
                   help="torch threads (the dashboard's default: half the cores)")
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--quick", action="store_true", help="3 repeats")
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    project = Path(args.project).resolve()
    if not (project / "models" / "base").is_dir():
        raise SystemExit(f"{project / 'models' / 'base'} is missing: run `make run` first")
    repeats = 3 if args.quick else args.repeats
    torch.set_num_threads(args.threads)
    os.environ["FORJA_DASHBOARD_THREADS"] = str(args.threads)
    note = common.contention_note()
    w = widgets(project, repeats)
    common.print_table(["widget", "what", "median s"], [[r["widget"], r["what"], r["seconds"]] for r in w],
                       title=f"llm_core.explain on models/base, {args.threads} thread(s)")
    pg = pages(project, repeats)
    common.print_table(["lesson", "widget moved", "first visit s", "rerun s"],
                       [[r["lesson"], r["moved"], r["first_s"], r["rerun_s"]] for r in pg],
                       title="whole lesson pages (AppTest, server side)")
    slowest = max([r["seconds"] for r in w if "cold" not in r["widget"]] + [r["rerun_s"] for r in pg])
    payload = {"machine": common.machine_info(torch.device("cpu")), "threads": args.threads, "repeats": repeats,
               "contention": note, "widgets": w, "pages": pg, "slowest_s": slowest, "goal_s": GOAL_S,
               "meets_goal": slowest < GOAL_S}
    print(f"\nslowest widget or rerun: {slowest:.3f} s (goal < {GOAL_S} s)" + (f"; {note}" if note else ""))
    path = common.write_results(NAME, torch.device("cpu"), payload, enabled=not args.no_save, quick=args.quick)
    if path:
        lines = ["| widget | what | median s |", "| --- | --- | ---: |"]
        lines += [f"| {r['widget']} | {r['what']} | {r['seconds']:.3f} |" for r in w]
        lines += ["", "| lesson | widget moved | first visit s | rerun s |", "| --- | --- | ---: | ---: |"]
        lines += [f"| {r['lesson']} | {r['moved']} | {r['first_s']:.3f} | {r['rerun_s']:.3f} |" for r in pg]
        path.with_suffix(".md").write_text("\n".join(lines) + "\n")
    return payload


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
