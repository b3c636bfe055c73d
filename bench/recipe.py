"""Pre-training recipes for the same wall-clock budget: forja's against a nanoGPT-style peer.

    python -m bench.recipe                          # forja (params.yaml) vs nanogpt, 240 s each
    python -m bench.recipe --seconds 120 --recipes forja forja:batch_size=8 nanogpt:dim=128,n_layers=4
    python -m bench.recipe --quick                  # a smoke run (20 s each)

Both train on the pipeline's own token files (data/tokenize/train.bin, val.bin: run
`make run` or `dvc repro tokenize` first), in this one process, one after the other and
alternating over --rounds, with the same batches (`llm_core.data.loader.TokenWindows`, same
seed), the same precision (bf16 autocast where the CPU runs it natively) and the same
threads. Each is scored on the whole validation file with `llm_core.evaluate.lm`: validation
bits per byte, the figure that does not depend on how the text was cut into tokens.

A fixed budget in seconds, not in steps: each recipe first times a few steps of a throwaway
copy of its model, and its schedule is laid over as many steps as fit in the budget (so a
smaller model or batch gets more steps, and every schedule still ends where it should).
Training stops at that step count, or at 1.25 x the budget should the machine slow down.

Recipes, as `name[:key=value,...]`:
  forja    llm_core's Llama-style Transformer, optimizer and loop (`build_optimizer`,
           `lr_at`, `train_step`) with params.yaml's pretrain settings; keys are fields of
           ModelConfig (dim, n_layers, n_heads, n_kv_heads, hidden_dim, tie_embeddings) or
           TrainConfig (batch_size, lr, min_lr, warmup_steps, weight_decay, beta2, grad_clip,
           optimizer=adamw|muon, momentum, schedule=cosine|wsd, decay_share).
           warmup_steps may be given as a share of the steps: warmup=0.08.
  nanogpt  GPT-2 blocks written here (learned positions, LayerNorm, GELU MLP of 4x width,
           biases, tied head; init N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layers)),
           AdamW with betas (0.9, 0.99) and weight decay 0.1 on matrices, linear warm-up and
           cosine decay to lr/10 as nanoGPT trains its small models; keys dim, n_layers,
           n_heads, batch_size, lr, warmup. Defaults: the same width, depth and batch as
           forja's params.yaml, lr 1e-3.
Results: bench/results/recipe-<device>.json and a markdown table next to it.

Vocabulary size at fixed seconds (`--vocab N`, or `recipe.vocab` in bench/params.yaml): every
recipe of the run trains and is scored on the cleaned text cut by an N-token tokenizer trained
here as the tokenizer stage trains its own (bench/.cache/vocab-N/, rebuilt each run in seconds).
Bits per byte compare across vocabularies; losses per token do not.

Recorded as DVC experiments: bench/ is its own DVC project (so the pipeline's `dvc repro`
never runs it) with one stage, `recipe`, that runs this script with `--exp params.yaml`:
the recipe named by bench/params.yaml's `recipe` section (forja's overrides, the peer, the
seconds) against its peer, and writes bench/recipe_metrics.json. One variant:

    cd bench && PATH=../.venv/bin:$PATH dvc exp run -S 'recipe.forja=schedule=wsd' -S recipe.peer=
    dvc exp show --csv > results/recipe-exps.csv     # every variant tried, with its figures
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

from llm_core.config import ModelConfig, TrainConfig
from llm_core.data.documents import shard_paths
from llm_core.data.loader import TokenWindows
from llm_core.data.tokenize import concat_token_files, encode_shard, tokenizer_sample
from llm_core.data.tokens import TokenFile
from llm_core.device import pick_precision
from llm_core.evaluate.lm import evaluate_tokens
from llm_core.model import Transformer
from llm_core.params import load_section
from llm_core.optim import build_optimizer, lr_at
from llm_core.tokenizer import train_tokenizer
from llm_core.train import train_step

from . import common

NAME = "recipe"
REPO = Path(__file__).resolve().parents[1]
CALIBRATION_STEPS = 6  # timed after 2 untimed ones
OVERRUN = 1.25  # stop anyway past this share of the budget


class RecipeError(ValueError):
    """A recipe string that does not parse, or names a key the recipe does not have."""


# ---------------------------------------------------------------- the peer: nanoGPT-style GPT-2


class Block(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.fc, self.out = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(a)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class GPT2(nn.Module):
    """Token and position embeddings, blocks, a final LayerNorm, the head tied to the embeddings.
    forward(x, y) -> (logits, loss, None), the shape `train_step` and `evaluate_tokens` expect."""

    def __init__(self, vocab: int, dim: int, n_layers: int, n_heads: int, context: int):
        super().__init__()
        self.cfg = ModelConfig(vocab_size=vocab, dim=dim, n_layers=n_layers, n_heads=n_heads, max_seq_len=context)
        self.tok, self.pos = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.ModuleList(Block(dim, n_heads) for _ in range(n_layers))
        self.ln = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tok.weight
        for name, p in self.named_parameters():
            if p.dim() >= 2:  # GPT-2's init; residual projections shrink with depth
                std = 0.02 / math.sqrt(2 * n_layers) if name.endswith(("proj.weight", "out.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, x, y=None, segments=None):
        h = self.tok(x) + self.pos(torch.arange(x.size(1), device=x.device))
        for block in self.blocks:
            h = block(h)
        logits = self.head(self.ln(h))
        loss = None if y is None else F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1),
                                                      ignore_index=-100)
        return logits, loss, None

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())  # the tied head counted once


# ---------------------------------------------------------------- recipes


@dataclasses.dataclass
class Recipe:
    label: str
    kind: str  # "forja" | "nanogpt"
    model_cfg: ModelConfig
    train_cfg: TrainConfig  # max_steps set by calibrate()
    warmup_share: float | None = None  # warm-up as a share of the steps, when given so

    def build(self) -> nn.Module:
        torch.manual_seed(self.train_cfg.seed)
        if self.kind == "forja":
            return Transformer(self.model_cfg)
        m = self.model_cfg
        return GPT2(m.vocab_size, m.dim, m.n_layers, m.n_heads, m.max_seq_len)

    def optimizer(self, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
        return build_optimizer(model, self.train_cfg, device)  # nanogpt's betas and decay set in parse()


MODEL_KEYS = {"dim", "n_layers", "n_heads", "n_kv_heads", "hidden_dim", "tie_embeddings"}
TRAIN_KEYS = {"batch_size", "lr", "min_lr", "warmup_steps", "weight_decay", "beta2", "grad_clip", "optimizer",
              "momentum", "schedule", "decay_share"}
WORD_KEYS = {"optimizer", "schedule"}  # the keys whose values are words
NANOGPT_KEYS = {"dim", "n_layers", "n_heads", "batch_size", "lr", "warmup"}


def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise RecipeError(f"{text!r} is not a number or true/false")


def parse(spec: str, base_model: ModelConfig, base_train: TrainConfig) -> Recipe:
    """`forja:batch_size=8,dim=128` -> a Recipe; RecipeError naming the bad part."""
    kind, _, rest = spec.partition(":")
    if kind not in ("forja", "nanogpt"):
        raise RecipeError(f"recipe {spec!r}: expected forja[:key=value,...] or nanogpt[:key=value,...]")
    pairs = {}
    for part in filter(None, rest.split(",")):
        key, eq, raw = part.partition("=")
        if not eq:
            raise RecipeError(f"recipe {spec!r}: {part!r} is not key=value")
        try:
            pairs[key.strip()] = raw.strip() if key.strip() in WORD_KEYS else _value(raw.strip())
        except RecipeError as err:
            raise RecipeError(f"recipe {spec!r}: {key}: {err}") from None
    allowed = (MODEL_KEYS | TRAIN_KEYS | {"warmup"}) if kind == "forja" else NANOGPT_KEYS
    unknown = sorted(set(pairs) - allowed)
    if unknown:
        raise RecipeError(f"recipe {spec!r}: unknown key(s) {', '.join(unknown)}; {kind} takes {', '.join(sorted(allowed))}")
    warmup = pairs.pop("warmup", None)
    if kind == "nanogpt":
        lr = pairs.pop("lr", 1e-3)
        train = dataclasses.replace(base_train, lr=lr, min_lr=lr / 10, beta2=0.99, weight_decay=0.1, grad_clip=1.0,
                                    batch_size=pairs.pop("batch_size", base_train.batch_size))
        heads = pairs.get("n_heads", base_model.n_heads)
        model = dataclasses.replace(base_model, n_kv_heads=heads, **pairs)  # GPT-2 has no grouped K/V
        warmup = 0.08 if warmup is None else warmup
    else:
        model = dataclasses.replace(base_model, **{k: v for k, v in pairs.items() if k in MODEL_KEYS})
        train = dataclasses.replace(base_train, **{k: v for k, v in pairs.items() if k in TRAIN_KEYS})
    return Recipe(spec, kind, model, train, warmup)


# ---------------------------------------------------------------- running one


def calibrate(recipe: Recipe, data: TokenWindows, seconds: float, device, amp) -> tuple[int, float]:
    """(steps that fit in `seconds`, seconds per step), from a throwaway copy of the model."""
    model = recipe.build().to(device).train()
    opt = recipe.optimizer(model, device)
    times = []
    for step in range(2 + CALIBRATION_STEPS):
        t0 = time.perf_counter()
        train_step(model, opt, data, 10_000 + step, recipe.train_cfg, device, amp)  # batches it will not train on
        times.append(time.perf_counter() - t0)
    per_step = statistics.median(times[2:])
    return max(10, int(seconds / per_step)), per_step


def run(recipe: Recipe, train: TokenFile, val: TokenFile, seconds: float, device, amp, progress: bool) -> dict:
    cfg = recipe.train_cfg
    data = TokenWindows(train, cfg.seq_len, cfg.batch_size, seed=cfg.seed)
    steps, per_step = calibrate(recipe, data, seconds, device, amp)
    warmup = round(recipe.warmup_share * steps) if recipe.warmup_share is not None else cfg.warmup_steps
    cfg = dataclasses.replace(cfg, max_steps=steps, warmup_steps=min(warmup, steps - 1))
    model = recipe.build().to(device).train()
    opt = recipe.optimizer(model, device)
    t0, done, losses = time.perf_counter(), 0, []
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg)
        losses.append(train_step(model, opt, data, step, cfg, device, amp))
        done = step + 1
        if progress and done % 50 == 0:
            print(f"  {recipe.label}: step {done}/{steps}, loss {losses[-1]:.3f}, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
        if time.perf_counter() - t0 > OVERRUN * seconds:
            break
    train_s = time.perf_counter() - t0
    scores = evaluate_tokens(model, val, seq_len=cfg.seq_len, batch_size=16, amp_dtype=amp, progress=False)
    return {"recipe": recipe.label, "kind": recipe.kind, "parameters": model.num_params(),
            "model": dataclasses.asdict(recipe.model_cfg), "train": dataclasses.asdict(cfg),
            "steps_planned": steps, "steps": done, "calibrated_step_s": per_step, "train_seconds": train_s,
            "tokens": done * cfg.tokens_per_step, "tokens_per_s": done * cfg.tokens_per_step / train_s,
            "tokens_per_parameter": done * cfg.tokens_per_step / model.num_params(),
            "final_train_loss": statistics.fmean(losses[-10:]), "val_loss": scores.loss,
            "val_bits_per_byte": scores.bits_per_byte}


# ---------------------------------------------------------------- main


VOCAB_DIR = Path(__file__).resolve().parent / ".cache"  # git-ignored token files of a vocabulary variant


def retokenize(project: Path, vocab: int) -> Path:
    """The pipeline's cleaned text cut again by a tokenizer of `vocab` tokens, trained as the
    tokenizer stage trains its own (same sample budget, split and coverage, params.yaml), into
    bench/.cache/vocab-<N>/{train,val}.bin: what a vocabulary variant trains and is scored on.
    Rebuilt each run (seconds), so it always matches the cleaned text of the workspace."""
    raw = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    tp, split = load_section("tokenizer", raw), load_section("split", raw)
    shards = project / "data" / "clean" / "shards"
    try:
        texts = tokenizer_sample(shards, split.seed, split.val_fraction, tp.sample_bytes)
    except (FileNotFoundError, KeyError, ValueError):
        raise SystemExit(f"bench.recipe: --vocab retrains the tokenizer on {shards}: run `make run` "
                         "(or `dvc repro clean`) first.") from None
    start, out, paths = time.perf_counter(), VOCAB_DIR / f"vocab-{vocab}", shard_paths(shards)
    out.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(texts, out / "tokenizer", vocab_size=vocab, character_coverage=tp.character_coverage)
    for s in paths:
        encode_shard(s, tok, out, split.seed, split.val_fraction)
    for name in ("train", "val"):
        concat_token_files([out / f"{s.stem}.{name}.bin" for s in paths], out / f"{name}.bin",
                           tok.vocab_size, tokenizer=str(tok.path))
    print(f"vocabulary {vocab}: tokenizer and token files in {out} ({len(paths)} shards, "
          f"{time.perf_counter() - start:.0f} s)", flush=True)
    return out


def load_data(project: Path, vocab: int = 0) -> tuple[TokenFile, TokenFile]:
    folder = retokenize(project, vocab) if vocab else project / "data" / "tokenize"
    try:
        return TokenFile(folder / "train.bin"), TokenFile(folder / "val.bin")
    except (FileNotFoundError, ValueError) as err:
        raise SystemExit(f"bench.recipe: {err}\nIt trains on the pipeline's token files: run `make run` "
                         "(or `dvc repro tokenize`) first.") from None


def base_configs(project: Path, vocab: int) -> tuple[ModelConfig, TrainConfig]:
    raw = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    section = load_section("pretrain", raw)
    return section.with_vocab(vocab), section.train


EXP_METRICS = Path(__file__).resolve().parent / "recipe_metrics.json"


def exp_recipes(path: Path) -> tuple[list[str], float, int, int]:
    """bench/params.yaml's `recipe` section -> (recipes, seconds, rounds, vocab); SystemExit naming a bad key."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sec = raw.get("recipe") if isinstance(raw, dict) else None
    if not isinstance(sec, dict):
        raise SystemExit(f"bench.recipe: {path}: expected a `recipe:` section with forja, peer, seconds, rounds")
    unknown = sorted(set(sec) - {"forja", "peer", "seconds", "rounds", "vocab"})
    if unknown:
        raise SystemExit(f"bench.recipe: {path}: recipe: unknown key(s) {', '.join(unknown)}; "
                         "expected forja, peer, seconds, rounds, vocab")
    forja, peer = str(sec.get("forja") or "").strip(), str(sec.get("peer") or "").strip()
    if peer and not peer.startswith("nanogpt"):
        raise SystemExit(f"bench.recipe: {path}: recipe.peer: expected nanogpt[:key=value,...] or empty, got {peer!r}")
    try:
        seconds, rounds, vocab = float(sec.get("seconds", 240)), int(sec.get("rounds", 1)), int(sec.get("vocab") or 0)
    except (TypeError, ValueError):
        raise SystemExit(f"bench.recipe: {path}: recipe.seconds, recipe.rounds and recipe.vocab must be numbers") from None
    return [f"forja:{forja}" if forja else "forja"] + ([peer] if peer else []), seconds, rounds, vocab


def _medians(rounds: list[dict]):
    """key -> the median of that figure over one recipe's rounds."""
    return lambda key: statistics.median(r[key] for r in rounds)


def write_exp_metrics(results: list[dict], path: Path = EXP_METRICS) -> None:
    """forja's and the peer's medians over rounds, flat keys that `dvc exp show` lists."""
    out = {}
    for role, kind in (("forja", "forja"), ("peer", "nanogpt")):
        rs = [r for r in results if r["kind"] == kind]
        if rs:
            med = _medians(rs)
            out[role] = {"bits_per_byte": round(med("val_bits_per_byte"), 4), "val_loss": round(med("val_loss"), 4),
                         "steps": round(med("steps")), "tokens_M": round(med("tokens") / 1e6, 3),
                         "train_s": round(med("train_seconds"), 1), "params_M": round(rs[0]["parameters"] / 1e6, 3)}
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--recipes", nargs="+", default=["forja", "nanogpt"], help="name[:key=value,...] (see above)")
    p.add_argument("--seconds", type=float, default=240.0, help="training budget of each recipe")
    p.add_argument("--rounds", type=int, default=1, help="each recipe this many times, alternating")
    p.add_argument("--project", default=str(REPO))
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--vocab", type=int, default=0, help="train every recipe on the text cut by a tokenizer of this "
                   "many tokens, trained here like the tokenizer stage's (0: the pipeline's token files)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 20 s each, one round")
    p.add_argument("--no-save", action="store_true")
    p.add_argument("--tag", default="")
    p.add_argument("--exp", metavar="PARAMS", help="a DVC experiment: recipes from this file's `recipe` section, "
                   "figures to bench/recipe_metrics.json (see above)")
    args = p.parse_args(argv)
    if args.exp:
        args.recipes, args.seconds, args.rounds, args.vocab = exp_recipes(Path(args.exp))
        args.no_save = True
    if args.quick:
        args.seconds, args.rounds = 20.0, 1
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    amp = pick_precision(device, args.precision)
    if args.vocab and not 256 < args.vocab <= 65536:
        raise SystemExit(f"bench.recipe: --vocab / recipe.vocab: expected 0 or 257..65536 tokens, got {args.vocab}")
    train, val = load_data(Path(args.project), args.vocab)
    base_model, base_train = base_configs(Path(args.project), train.vocab_size)
    try:
        recipes = [parse(s, base_model, base_train) for s in args.recipes]
    except (RecipeError, TypeError, ValueError) as err:
        raise SystemExit(f"bench.recipe: {err}") from None
    busy = common.contention_note()
    print(f"{len(recipes)} recipes x {args.rounds} rounds, {args.seconds:.0f} s of training each, on "
          f"{len(train):,} train / {len(val):,} val tokens, {torch.get_num_threads()} threads, "
          f"{'bf16 autocast' if amp else 'fp32'}", flush=True)
    results = []
    for r in range(args.rounds):
        for recipe in recipes if r % 2 == 0 else recipes[::-1]:  # alternate the order: drift falls on all
            res = run(recipe, train, val, args.seconds, device, amp, progress=not args.quick) | {"round": r}
            results.append(res)
            print(f"{res['recipe']:>40}: {res['parameters'] / 1e6:.2f}M params, {res['steps']} steps, "
                  f"{res['tokens'] / 1e6:.2f}M tokens in {res['train_seconds']:.0f} s -> val "
                  f"{res['val_bits_per_byte']:.3f} bits/byte", flush=True)
    rows = summary(results)
    headers = ["recipe", "params M", "steps", "tokens M", "tok/param", "tok/s", "train s", "val loss", "val bpb"]
    common.print_table(headers, rows, title=f"pre-training recipes at {args.seconds:.0f} s each")
    machine = common.machine_info(device)
    notes = [busy] if busy else []
    payload = {"benchmark": NAME, "machine": machine, "seconds": args.seconds, "rounds": args.rounds,
               "precision": "bf16" if amp else "fp32", "train_tokens": len(train), "val_tokens": len(val),
               "val_bytes": val.n_bytes, "notes": notes, "results": results}
    if args.exp:
        write_exp_metrics(results)
    path = common.write_results(NAME, device, payload, enabled=not args.no_save, quick=args.quick, tag=args.tag)
    if path:
        write_markdown(path, headers, rows, notes, machine, args.seconds)
    return payload


def summary(results: list[dict]) -> list[list]:
    """One row per recipe: medians over its rounds."""
    rows = []
    for label in dict.fromkeys(r["recipe"] for r in results):
        rs = [r for r in results if r["recipe"] == label]
        med = _medians(rs)
        rows.append([label, round(rs[0]["parameters"] / 1e6, 2), round(med("steps")), round(med("tokens") / 1e6, 2),
                     round(med("tokens_per_parameter"), 2), round(med("tokens_per_s")), round(med("train_seconds")),
                     round(med("val_loss"), 4), round(med("val_bits_per_byte"), 4)])
    return rows


def write_markdown(json_path: Path, headers: list[str], rows: list[list], notes: list[str], machine: dict,
                   seconds: float) -> None:
    lines = [f"# Pre-training recipes, {seconds:.0f} s of training each", "",
             f"{machine['date']}, {machine['device_name']}, {machine['cpu_count']} cores, {machine['threads']} threads, "
             f"torch {machine['torch']}, CPU capability {machine['cpu_capability']}", "",
             "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    lines += [""] + [f"- {n}" for n in notes]
    json_path.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {json_path.with_suffix('.md').relative_to(REPO)}")


if __name__ == "__main__":
    main()
