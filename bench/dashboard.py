"""The dashboard's speed: first piece of text, tokens/s against the library, four chats at once.

    python -m bench.dashboard              # in-process: the playground's and chat's generation path
    python -m bench.dashboard --sessions   # four browser sessions chatting at once (needs chromium)
    python -m bench.dashboard --quick      # smoke run of the in-process part

In-process (the default). The pages stream text through `dashboard.generation.pieces`
(prompt encode + `llm_core.sample.stream` + `llm_core.textstream.TextStream` + `Clock`);
this calls it exactly as they do, on the project's models/chat (a chat turn: the history
fitted with `conversation.fit_history`, stops on <|end_of_turn|>) and models/base (a
playground prompt: `encode(prompt, bos=True)`, stops on EOS), and measures:

* first piece: seconds from "pressing generate" (before the prompt is encoded) to the first
  non-empty piece of text `pieces` yields; median over repeats, plus the very first call
  after loading ("cold"). Goal: < 0.3 s.
* tokens/s of the whole dashboard path (encode to last piece) against `stream` alone on the
  same prompt ids, settings and seed (so the very same tokens), run alternately; the ratio is
  the median over rounds of library time / dashboard time. Goal: >= 0.90. Measured twice: with
  the page's stop tokens (the reply as long as the model makes it) and with the stop tokens off
  (exactly --new-tokens tokens, a steadier figure).

The Streamlit side (a websocket message per piece, the browser drawing it) is what
`--sessions` measures: it starts `streamlit run dashboard/app.py` on a free 127.0.0.1 port in
the project folder, opens one chromium page per session (separate browser contexts:
separate Streamlit sessions) on /chat, sends a different message in each at the same time,
waits for every reply, checks that each session shows its own message and answer and none
of the others', and times each reply as the browser saw it (first text, end, characters and
the page's own tokens/s figure when it shows one). Meanwhile a fifth session opens the home
page and /_stcore/health is polled: how long the app takes to answer while four replies
are being generated. One session alone is run first, as the baseline.

Without models/chat and models/base in the project, the in-process part uses a freshly
initialised model of params.yaml's pretrain size (random weights: the speed is the same,
the text is noise) and the sessions part a tiny project from tests/dashboard_project.py;
both say so in the table and the JSON. Results: bench/results/dashboard-cpu[.quick].json
and dashboard-sessions-cpu.json, plus a markdown table next to each.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from llm_core.config import SampleConfig, to_dict

from . import common

NAME = "dashboard"
REPO = Path(__file__).resolve().parents[1]
GOAL_FIRST_S = 0.3
GOAL_RATIO = 0.90
MAX_NEW_TOKENS = 256  # dashboard.loaders.MAX_NEW_TOKENS (not imported: that module needs Streamlit)
CHAT_MESSAGE = "Hola, ¿qué es un modelo de lenguaje?"
BASE_PROMPT = "En un lugar de la Mancha, de cuyo nombre"  # the page default (shorter, it got "." and the end from models/base)
SESSION_MESSAGES = ["Hola, ¿cómo estás?", "What is a language model?", "Dime un refrán sobre el pan.",
                    "Translate to Spanish: the king said"]


# ---------------------------------------------------------------- models


@dataclass
class Subject:
    """A model as a page uses it: how a prompt is built and where generation stops."""

    label: str  # "chat" / "base"
    source: str  # the checkpoint folder, or what was built instead
    model: torch.nn.Module
    tokenizer: object
    reply: bool
    stop_ids: list[int]
    text: str
    cfg: SampleConfig  # the page's default settings
    load_s: float | None = None  # checkpoint + tokenizer load (once per server: st.cache_resource)

    def encode(self, max_new: int) -> list[int]:
        """The prompt ids, built the way the page builds them (this is part of the timed path)."""
        if self.reply:
            from llm_core.conversation import fit_history

            return fit_history(self.tokenizer, [{"role": "user", "content": self.text}],
                               self.model.cfg.max_seq_len, max_new).ids
        return self.tokenizer.encode(self.text, bos=True)


def _stops(tok, reply: bool) -> list[int]:
    """The stop tokens each page passes: chat [<|end_of_turn|>, EOS], playground [EOS, BOS]."""
    ids = [tok.end_of_turn_id, tok.eos_id] if reply else [tok.eos_id, tok.bos_id]
    return [i for i in ids if i is not None and i >= 0]


def page_config(reply: bool, window: int) -> SampleConfig:
    """The settings a page starts with (dashboard/views/chat.py and playground.py, first reply)."""
    if reply:  # chat: max_new min(64, window // 2), temperature 0.3, top-k 40, seed setting 0 + round 1
        return SampleConfig(max_new_tokens=max(1, min(64, min(MAX_NEW_TOKENS, window // 2))), temperature=0.3,
                            top_k=40, seed=1)
    return SampleConfig(max_new_tokens=min(80, max(1, min(MAX_NEW_TOKENS, window - 8))), temperature=0.8,
                        top_k=40, top_p=1.0, seed=0, top_candidates=5)


def load_subjects(project: Path) -> tuple[list[Subject], list[str]]:
    """models/chat and models/base of `project`, or a fresh model of the default size."""
    from llm_core.checkpoint import load_model
    from llm_core.tokenizer import Tokenizer

    subjects, notes = [], []
    for label, reply, text in (("chat", True, CHAT_MESSAGE), ("base", False, BASE_PROMPT)):
        folder = project / "models" / label
        if not (folder / "model.safetensors").is_file():
            continue
        t0 = time.perf_counter()
        try:
            model, ckpt = load_model(folder, device="cpu")
            tok = Tokenizer.load(ckpt.tokenizer_path)
        except (ValueError, OSError) as err:
            notes.append(f"models/{label} could not be loaded ({err}); left out")
            continue
        model.eval().requires_grad_(False)  # as dashboard.loaders does
        subjects.append(Subject(label, f"models/{label} (step {ckpt.step})", model, tok,
                                reply, _stops(tok, reply), text, page_config(reply, model.cfg.max_seq_len),
                                load_s=time.perf_counter() - t0))
    if subjects:
        missing = {"chat", "base"} - {s.label for s in subjects}
        if missing:
            notes.append(f"no models/{', models/'.join(sorted(missing))} in {project}: measured only "
                         f"{', '.join(s.label for s in subjects)}")
        return subjects, notes
    return [fresh_subject(project)], [
        f"no trained models in {project} (models/chat, models/base): measured a freshly initialised model of "
        "params.yaml's pretrain size instead (random weights, same speed; the text is noise)"]


def fresh_subject(project: Path) -> Subject:
    import yaml

    from llm_core.model import Transformer
    from llm_core.params import load_section
    from llm_core.tokenizer import Tokenizer

    tok_file = next((p for p in (project / "data" / "tokenizer" / "tokenizer.model",
                                 REPO / "data" / "tokenizer" / "tokenizer.model") if p.is_file()), None)
    if tok_file is None:
        sys.path.insert(0, str(REPO / "tests"))
        from dashboard_project import tiny_tokenizer

        tok_file = tiny_tokenizer(Path(tempfile.mkdtemp(prefix="forja-bench-")) / "tok")
    tok = Tokenizer.load(tok_file)
    raw = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    cfg = load_section("pretrain", raw).with_vocab(tok.vocab_size)
    torch.manual_seed(0)
    model = Transformer(cfg).eval().requires_grad_(False)
    return Subject("fresh", f"fresh {model.num_params() / 1e6:.2f}M-parameter model (params.yaml pretrain.model, "
                   f"tokenizer {tok_file.relative_to(tok_file.parents[2]) if len(tok_file.parents) > 2 else tok_file})",
                   model, tok, True, _stops(tok, True), CHAT_MESSAGE, page_config(True, cfg.max_seq_len))


# ---------------------------------------------------------------- the two paths


def dashboard_first(s: Subject, cfg: SampleConfig, stops: list[int]) -> tuple[float, float | None]:
    """(seconds from 'generate' to the first non-empty piece, Clock.first) through `pieces`."""
    from dashboard.generation import Clock, pieces

    t0 = time.perf_counter()
    ids = s.encode(cfg.max_new_tokens)
    clock = Clock()
    gen = pieces(s.model, s.tokenizer, ids, cfg, stops, clock, reply=s.reply)
    try:
        for text, _ in gen:
            if text:
                return time.perf_counter() - t0, clock.first
    finally:
        gen.close()
    return float("nan"), clock.first  # the model stopped before any visible text


def library_first(s: Subject, ids: list[int], cfg: SampleConfig, stops: list[int]) -> float:
    from llm_core.sample import stream

    t0 = time.perf_counter()
    it = stream(s.model, ids, cfg, stop_ids=stops)
    try:
        next(it, None)
        return time.perf_counter() - t0
    finally:
        it.close()


def dashboard_full(s: Subject, cfg: SampleConfig, stops: list[int]) -> tuple[int, str]:
    from dashboard.generation import Clock, pieces

    ids = s.encode(cfg.max_new_tokens)
    clock = Clock()
    text = "".join(piece for piece, _ in pieces(s.model, s.tokenizer, ids, cfg, stops, clock, reply=s.reply))
    return clock.tokens, text


def library_full(s: Subject, ids: list[int], cfg: SampleConfig, stops: list[int]) -> list[int]:
    from llm_core.sample import stream

    return [st.token_id for st in stream(s.model, ids, cfg, stop_ids=stops) if not st.is_stop]


def measure_subject(s: Subject, cfg: SampleConfig, repeats: int, steps: int = 1) -> dict:
    ids = s.encode(cfg.max_new_tokens)
    out: dict = {"model": s.label, "source": s.source, "parameters": s.model.num_params(),
                 "context": s.model.cfg.max_seq_len, "prompt": s.text, "prompt_tokens": len(ids),
                 "stop_ids": s.stop_ids, "sample": to_dict(cfg), "load_s": s.load_s}
    # The very first generation after loading (what the first visitor after a restart waits).
    cold, cold_clock = dashboard_first(s, cfg, s.stop_ids)
    out["cold_first_piece_s"] = cold
    out["cold_clock_first_s"] = cold_clock
    for _ in range(2):  # warm-up
        dashboard_first(s, cfg, s.stop_ids)
        library_first(s, ids, cfg, s.stop_ids)

    firsts, clocks = [], []

    def dash_first():
        f, c = dashboard_first(s, cfg, s.stop_ids)
        firsts.append(f)
        clocks.append(c)

    lib = common.interleave({"dashboard": dash_first,
                             "library": lambda: library_first(s, ids, cfg, s.stop_ids)}, repeats, lambda: None)
    visible = [f for f in firsts if not math.isnan(f)]
    out["first_piece_s"] = {"median": statistics.median(visible) if visible else float("nan"),
                            "best": min(visible) if visible else float("nan"), "all": firsts,
                            "no_visible_text": len(firsts) - len(visible)}
    out["clock_first_token_s"] = statistics.median(c for c in clocks if c is not None) if any(
        c is not None for c in clocks) else None
    out["library_first_token_s"] = {"median": statistics.median(lib["library"]), "all": lib["library"]}

    out["rates"] = {}
    for mode, stops in (("page stops", s.stop_ids), ("fixed length", [])):
        tokens_d, text = dashboard_full(s, cfg, stops)
        ref = library_full(s, ids, cfg, stops)
        same = tokens_d == len(ref) and text == _decoded(s, ref)
        def times_n(fn, stops=stops):  # `steps` generations per timed sample: steadier than one
            return lambda: [fn(stops) for _ in range(steps)]

        times = common.interleave({"dashboard": times_n(lambda st: dashboard_full(s, cfg, st)),
                                   "library": times_n(lambda st: library_full(s, ids, cfg, st))},
                                  repeats, lambda: None)
        times = {k: [t / steps for t in v] for k, v in times.items()}
        n = len(ref)
        td, tl = statistics.median(times["dashboard"]), statistics.median(times["library"])
        out["rates"][mode] = {
            "tokens": n, "same_tokens_and_text": same, "text": text,
            "dashboard_tokens_per_s": n / td if td else float("nan"),
            "library_tokens_per_s": n / tl if tl else float("nan"),
            "ratio": common.paired_speedup(times["dashboard"], times["library"]) if n else float("nan"),
            "best_ratio": min(times["library"]) / min(times["dashboard"]),
            "spread_dashboard": common.spread(times["dashboard"]), "spread_library": common.spread(times["library"]),
            "dashboard_s": times["dashboard"], "library_s": times["library"]}
    return out


def _decoded(s: Subject, ids: list[int]) -> str:
    from llm_core.chat import decode_reply

    return decode_reply(s.tokenizer, ids) if s.reply else s.tokenizer.decode(ids)


def run_inprocess(args) -> dict:
    project = Path(args.project).resolve()
    if args.threads and args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")  # dashboard.loaders loads every model on the CPU
    machine = common.machine_info(device)
    subjects, notes = load_subjects(project)
    busy = common.contention_note()
    if busy:
        notes.append(busy)
    print(f"dashboard generation path on {common.device_name(device)}, {torch.get_num_threads()} threads; "
          f"{args.repeats} alternating repeats; each page's default settings")
    for note in notes:
        print(f"note: {note}")
    results = []
    for s in subjects:
        cfg = s.cfg if args.new_tokens is None else replace(s.cfg, max_new_tokens=args.new_tokens)
        print(f"{s.label}: {s.source}; {to_dict(cfg)}")
        results.append(measure_subject(s, cfg, args.repeats, args.steps))

    rows = []
    for r in results:
        for mode, m in r["rates"].items():
            first = mode == "page stops"
            rows.append([f"{r['model']} ({r['parameters'] / 1e6:.2f}M)", mode, m["tokens"],
                         r["first_piece_s"]["median"] if first else None,
                         r["cold_first_piece_s"] if first else None,
                         r["library_first_token_s"]["median"] if first else None,
                         m["dashboard_tokens_per_s"], m["library_tokens_per_s"], f"{m['ratio']:.3f}",
                         f"{100 * max(m['spread_dashboard'], m['spread_library']):.0f}%",
                         "yes" if m["same_tokens_and_text"] else "NO"])
    headers = ["model", "run", "tokens", "first piece s", "cold first s", "lib first tok s", "dash tok/s",
               "lib tok/s", "dash/lib", "spread", "same text"]
    common.print_table(headers, rows, title=f"dashboard.generation.pieces vs llm_core.sample.stream "
                                            f"(goals: first piece < {GOAL_FIRST_S} s, dash/lib >= {GOAL_RATIO})")
    verdicts = []
    for r in results:
        f = r["first_piece_s"]["median"]
        ratios = [m["ratio"] for m in r["rates"].values() if m["tokens"] >= 16]
        verdicts.append({"model": r["model"], "first_piece_ok": f < GOAL_FIRST_S,
                         "ratio_ok": bool(ratios) and min(ratios) >= GOAL_RATIO})
        print(f"{r['model']}: first piece {f:.3f} s ({'meets' if f < GOAL_FIRST_S else 'MISSES'} the "
              f"{GOAL_FIRST_S} s goal); dash/lib {', '.join(f'{x:.3f}' for x in ratios) or '-'} "
              f"({'meets' if verdicts[-1]['ratio_ok'] else 'MISSES'} the {GOAL_RATIO} goal)")
    for note in notes:
        print(f"note: {note}")
    payload = {"benchmark": NAME, "quick": args.quick, "machine": machine, "project": str(project),
               "config": {"repeats": args.repeats, "steps": args.steps, "threads": torch.get_num_threads()},
               "goals": {"first_piece_s": GOAL_FIRST_S, "dashboard_over_library": GOAL_RATIO},
               "notes": notes, "verdicts": verdicts, "results": results}
    path = common.write_results(NAME, device, payload, enabled=not args.no_save, quick=args.quick, tag=args.tag)
    if path:
        write_markdown(path, headers, rows, notes, machine, title="Dashboard generation path")
    return payload


def write_markdown(json_path: Path, headers: list[str], rows: list[list], notes: list[str], machine: dict,
                   title: str) -> Path:
    md = json_path.with_suffix(".md")
    lines = [f"# {title}", "", f"{machine['date']}, {machine['device_name']}, {machine['cpu_count']} cores, "
             f"{machine['threads']} threads, torch {machine['torch']}, load average before "
             f"{machine['load_average_1min']:.2f}", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(common._fmt(c) for c in row) + " |" for row in rows]
    lines += [""] + [f"- {n}" for n in notes]
    md.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {md.relative_to(REPO)}")
    return md


# ---------------------------------------------------------------- browser sessions


def session_project(project: Path, scratch: Path) -> tuple[Path, list[str]]:
    if (project / "models" / "chat" / "model.safetensors").is_file():
        return project, []
    sys.path.insert(0, str(REPO / "tests"))
    from dashboard_project import make_project

    tmp = make_project(scratch / "project")
    return tmp, [f"{project} has no models/chat: served a tiny project from tests/dashboard_project.py "
                 "instead (2-layer models with random weights, a 64-token window)"]


REPLY_JS = """(() => {
  const log = document.querySelector('.st-key-chat_log');
  if (!log) return [0, 0, null];
  const replies = [...log.querySelectorAll('[data-testid="stChatMessage"]')]
    .filter(m => m.querySelector('[data-testid="stChatMessageAvatarAssistant"]'));
  const last = replies[replies.length - 1];
  const text = last && last.querySelector('[data-testid="stText"]');
  const stats = last && last.querySelector('[data-testid="stCaptionContainer"]');
  return [replies.length, text ? text.innerText.length : 0, stats ? stats.innerText : null];
})()"""
STATS = re.compile(r"(\d+)\s+tokens\s+·\s+([\d.,]+)\s+tokens/s")  # "32 tokens · 54.2 tokens/s" (both languages)


def chat_round(chromium, url: str, messages: list[str], probe: bool, timeout_s: float) -> dict:
    """One chromium context per message on /chat; all sent at once; every reply awaited."""
    from tests import browser

    ctxs = [chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900}) for _ in messages]
    pages = [c.new_page() for c in ctxs]
    try:
        for p in pages:
            p.set_default_timeout(timeout_s * 1000)
            p.goto(f"{url}/chat")
            browser.wait_app_ready(p, timeout_s * 1000)
        boxes = [p.locator(browser.key_css("chat_input")).locator("textarea") for p in pages]
        for p, box, msg in zip(pages, boxes, messages):
            box.fill(msg)
            browser.watch(p, "reply", REPLY_JS)
        sent = []
        for p, box in zip(pages, boxes):  # as close together as one thread can press Enter
            sent.append(p.evaluate("() => performance.now()"))
            box.press("Enter")
        t_sent = time.perf_counter()
        probes = responsiveness(chromium, url, timeout_s) if probe else {}
        done = [None] * len(pages)
        while any(d is None for d in done) and time.perf_counter() - t_sent < timeout_s:
            for i, p in enumerate(pages):
                if done[i] is None:
                    n, _, stats = p.evaluate("() => " + REPLY_JS)
                    if n >= 1 and stats and STATS.search(stats):
                        done[i] = time.perf_counter() - t_sent
            time.sleep(0.05)
        sessions = []
        for i, (p, msg) in enumerate(zip(pages, messages)):
            browser.wait_idle(p, timeout_s * 1000)
            log = [(t, v) for t, v in browser.watched(p, "reply") if t >= sent[i] and v]
            first = next((t for t, (n, length, _) in log if n >= 1 and length > 0), None)
            growing = [t for t, (n, length, stats) in log if n >= 1 and length > 0 and not stats]
            n, length, stats = p.evaluate("() => " + REPLY_JS)
            m = STATS.search(stats or "")
            tokens = int(m.group(1)) if m else None
            page_text = p.locator(browser.key_css("chat_log")).inner_text()
            first_s = (first - sent[i]) / 1e3 if first is not None else None
            last_s = (growing[-1] - sent[i]) / 1e3 if growing else None
            span = (last_s - first_s) if first_s is not None and last_s is not None else 0
            sessions.append({
                "message": msg, "replies_shown": n, "reply_chars": length, "reply_tokens": tokens,
                "page_tokens_per_s": float(m.group(2).replace(",", ".")) if m else None,
                "own_message_shown": msg in page_text,
                "others_shown": [o for o in messages if o != msg and o in page_text],
                "first_text_s": first_s, "last_text_s": last_s, "seen_done_s": done[i],
                "text_updates": len(growing),
                "streaming_tokens_per_s": (tokens - 1) / span if tokens and tokens > 1 and span > 0 else None,
                "end_to_end_tokens_per_s": tokens / last_s if tokens and last_s else None})
        return {"sessions": sessions, "responsiveness": probes}
    finally:
        for c in ctxs:
            c.close()


PG_STATS = re.compile(r"(\d+) tokens in ([\d.]+) s \(([\d.,]+) tokens/s\); the first took ([\d.]+) s")


def playground_round(chromium, url: str, repeats: int, timeout_s: float) -> list[dict]:
    """/playground with its default prompt and settings (English page): Generate pressed
    `repeats` times; each time the page's own figures (tokens, seconds, tokens/s, first)."""
    from tests import browser

    ctx = chromium.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    try:
        p = ctx.new_page()
        p.set_default_timeout(timeout_s * 1000)
        p.goto(f"{url}/playground")
        browser.wait_app_ready(p, timeout_s * 1000)
        runs = []
        for _ in range(repeats):
            p.locator(browser.key_css("pg_generate")).locator("button").click()
            p.wait_for_timeout(300)
            browser.wait_idle(p, timeout_s * 1000)
            m = PG_STATS.search(p.locator("body").inner_text())
            if m:
                runs.append({"tokens": int(m.group(1)), "seconds": float(m.group(2)),
                             "page_tokens_per_s": float(m.group(3).replace(",", "")), "first_s": float(m.group(4))})
        return runs
    finally:
        ctx.close()


def library_playground_rate(project: Path, repeats: int) -> float | None:
    """tokens/s of `llm_core.sample.stream` alone in this process on models/base with the
    playground's English default prompt and settings: what the page's figure is compared with."""
    from dashboard.strings.playground import STRINGS

    base = next((s for s in load_subjects(project)[0] if s.label == "base"), None)
    if base is None:
        return None
    ids = base.tokenizer.encode(STRINGS["pg_prompt_default"]["en"], bos=True)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = len(library_full(base, ids, base.cfg, base.stop_ids))
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def responsiveness(chromium, url: str, timeout_s: float) -> dict:
    """While replies are being made: /_stcore/health latency and a fresh session's home page."""
    t0 = time.perf_counter()
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout_s) as r:
        r.read()
    health = time.perf_counter() - t0
    ctx = chromium.new_context(locale="en-US")
    try:
        p = ctx.new_page()
        t0 = time.perf_counter()
        p.goto(url)
        p.wait_for_selector("h1", timeout=timeout_s * 1000)
        home = time.perf_counter() - t0
    finally:
        ctx.close()
    return {"health_s": health, "home_title_s": home}


def run_sessions(args) -> dict:
    from tests import browser

    why = browser.missing_browser()
    if why:
        print(why)
        return {}
    with tempfile.TemporaryDirectory(prefix="forja-sessions-") as scratch:
        return _run_sessions(args, Path(scratch))


def _run_sessions(args, scratch: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from tests import browser

    project, notes = session_project(Path(args.project).resolve(), scratch)
    machine = common.machine_info(torch.device("cpu"))
    busy = common.contention_note()
    if busy:
        notes.append(busy)
    log = scratch / "streamlit.log"
    n = args.sessions_count
    messages = (SESSION_MESSAGES * (n // len(SESSION_MESSAGES) + 1))[:n]
    print(f"{n} browser sessions chatting at once with {project}/models/chat over 127.0.0.1 "
          f"({machine['cpu_count']} cores)")
    env = {"OMP_NUM_THREADS": str(args.server_threads)} if args.server_threads else None
    if env:
        notes.append(f"the server ran with OMP_NUM_THREADS={args.server_threads} (torch intra-op threads)")
    with browser.streamlit_server(project, log, timeout=90, env=env) as srv, sync_playwright() as pw:
        chromium = browser.launch_chromium(pw)
        try:
            warm = chat_round(chromium, srv.url, messages[:1], probe=False, timeout_s=args.timeout)  # model load
            playground = playground_round(chromium, srv.url, 5, args.timeout)[1:]  # the first loads models/base
            alone = chat_round(chromium, srv.url, messages[:1], probe=False, timeout_s=args.timeout)
            idle = responsiveness(chromium, srv.url, args.timeout)
            together = chat_round(chromium, srv.url, messages, probe=True, timeout_s=args.timeout)
        finally:
            chromium.close()
        alive = srv.proc.poll() is None
    rows = []
    for label, rnd in (("alone", alone), (f"{n} at once", together)):
        for s in rnd["sessions"]:
            rows.append([label, s["message"][:28], "yes" if s["own_message_shown"] else "NO",
                         ", ".join(s["others_shown"]) or "none", s["first_text_s"], s["last_text_s"],
                         s["reply_tokens"], s["page_tokens_per_s"], s["end_to_end_tokens_per_s"]])
        if len(rnd["sessions"]) > 1:
            rates = [s["page_tokens_per_s"] or 0 for s in rnd["sessions"]]
            rows.append([label, "all sessions together", "", "", None, None,
                         sum(s["reply_tokens"] or 0 for s in rnd["sessions"]), sum(rates), None])
    headers = ["round", "message", "own msg", "others' msgs", "first text s", "last text s", "reply tok",
               "page tok/s", "sent-to-last tok/s"]
    common.print_table(headers, rows, title="chat sessions through chromium")
    r = together["responsiveness"]
    print(f"while {n} replies were generated: /_stcore/health answered in {r['health_s']:.3f} s, a new session's "
          f"home page title appeared in {r['home_title_s']:.2f} s (idle: {idle['health_s']:.3f} s and "
          f"{idle['home_title_s']:.2f} s)")
    ok = all(s["own_message_shown"] and not s["others_shown"] and s["replies_shown"] == 1 and s["reply_chars"]
             for s in together["sessions"])
    print(f"each session got its own answer and shows no other's message: {'yes' if ok else 'NO'}; "
          f"server alive after the run: {alive}")
    library = library_playground_rate(project, 5)
    page = statistics.median(r["page_tokens_per_s"] for r in playground) if playground else None
    pg_line = (f"playground, default prompt and settings, through the browser: {page:.1f} tokens/s as the page reports "
               f"it (median of {len(playground)}; {playground[0]['tokens']} tokens, first after "
               f"{statistics.median(r['first_s'] for r in playground):.3f} s); llm_core.sample.stream alone in this "
               f"process: {library:.1f} tokens/s; page/library {page / library:.2f}"
               if page and library else "playground: no figures (no models/base, or the page showed none)")
    print(pg_line)
    for note in notes:
        print(f"note: {note}")
    payload = {"playground": {"runs": playground, "page_tokens_per_s": page, "library_tokens_per_s": library},
               "benchmark": f"{NAME}-sessions", "machine": machine, "project": str(project),
               "sessions": n, "server_threads": args.server_threads or None, "notes": notes, "isolated": ok, "server_alive": alive,
               "warmup": warm, "alone": alone, "together": together, "idle_responsiveness": idle}
    path = common.write_results(f"{NAME}-sessions", torch.device("cpu"), payload, enabled=not args.no_save,
                                tag=args.tag)
    if path:
        write_markdown(path, headers, rows, notes + [pg_line,
            f"responsiveness while {n} generate: health {r['health_s']:.3f} s, home page {r['home_title_s']:.2f} s "
            f"(idle {idle['health_s']:.3f} s, {idle['home_title_s']:.2f} s)"], machine, title="Dashboard chat sessions")
    return payload


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--project", default=str(REPO), help="the forja project whose models/ to use")
    p.add_argument("--sessions", action="store_true", help="the browser part: chat sessions at once (chromium)")
    p.add_argument("--sessions-count", type=int, default=4)
    p.add_argument("--timeout", type=float, default=120.0, help="--sessions: seconds any one wait may take")
    p.add_argument("--server-threads", type=int, default=0,
                   help="--sessions: OMP_NUM_THREADS for the Streamlit server (0: torch's default, all cores)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads (in-process part)")
    p.add_argument("--repeats", type=int, default=11, help="alternating dashboard/library rounds")
    p.add_argument("--steps", type=int, default=5, help="whole generations per timed sample (tokens/s runs)")
    p.add_argument("--new-tokens", type=int, default=None, help="default: the page's (chat 64, playground 80)")
    p.add_argument("--quick", action="store_true", help="a smoke run (3 repeats, 32 new tokens)")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--tag", default="")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.steps, args.new_tokens = 3, 1, args.new_tokens or 32
    if args.sessions:
        return run_sessions(args)
    return run_inprocess(args)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
