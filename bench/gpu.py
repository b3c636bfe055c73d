"""The GPU benchmark: the GPU profile's model against Hugging Face's, and a slice of its pre-training.

    python -m bench.gpu                         # on a lent GPU: about 8 minutes
    python -m bench.gpu --quick --device cpu    # the same code at a tiny size: does it run?

Made for a short loan of one GPU: it installs nothing and needs neither Prefect nor DVC
(torch, and transformers for the comparison: without it the comparison is skipped with
a note). Three parts, each written to bench/results/gpu-<device>.json as it finishes:

1. Training tokens/s of the model of profiles/gpu.yaml (about 100M parameters, 1024
   tokens a row), forja against transformers' LlamaForCausalLM with the same weights,
   both in bf16 autocast and both torch.compile'd where they compile (llm_core.compiled
   falls back to eager and says so), through forja's own training step. MFU counts
   against the chip's dense bf16 peak (datasheet, DENSE_BF16) and against a bf16 matmul
   peak measured here.
2. Generation tokens/s, greedy with a KV cache: batch 1 (llm_core.sample.generate
   against HF's generate) and batch 16 (generate_batch against HF's generate of 16 rows).
3. A pre-training slice: llm_core.train.train with the profile's settings for
   --slice-seconds on the token file of `make run` (data/tokenize/train.bin, carried to
   the GPU machine; ids below the profile's vocabulary) or, without one, random tokens:
   the loss curve and the loop's own tokens/s and MFU.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from llm_core.compiled import Compiled
from llm_core.config import ModelConfig, SampleConfig, TrainConfig, to_dict
from llm_core.device import autocast, measure_matmul_peak, pick_device, synchronize
from llm_core.model import Transformer
from llm_core.train import build_optimizer, train_step

from . import common

NAME = "gpu"
PROFILE = Path(__file__).resolve().parents[1] / "profiles" / "gpu.yaml"
# Dense bf16 tensor-core peaks from NVIDIA's datasheets (no sparsity), by device name.
DENSE_BF16 = (("H100 PCIe", 756e12), ("H100 NVL", 835e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
              ("B200", 2250e12), ("A100", 312e12), ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12))


class SliceOver(Exception):
    """Raised by the slice's callback when its time is up."""


def profile_model(quick: bool) -> tuple[ModelConfig, dict[str, Any]]:
    """The GPU profile's model and its pretrain.train keys, from profiles/gpu.yaml."""
    import yaml

    prof = yaml.safe_load(PROFILE.read_text())
    model = dict(prof["pretrain"]["model"], vocab_size=prof["tokenizer"]["vocab_size"], tie_embeddings=True)
    train = dict(prof["pretrain"]["train"])
    if quick:  # the same code, a model that runs in seconds on a CPU
        model.update(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, hidden_dim=128, max_seq_len=128, vocab_size=512)
        train.update(batch_size=4, grad_accum=1, seq_len=128, compile=False)
    return ModelConfig(**model), train


def dense_peak(device: torch.device) -> tuple[str, float | None]:
    name = common.device_name(device)
    return name, next((peak for key, peak in DENSE_BF16 if key in name), None) if device.type == "cuda" else None


def train_throughput(args, device, mcfg: ModelConfig, train: dict, peaks: dict) -> dict:
    from .train_throughput import FixedBatches, HFAsForja

    tcfg = TrainConfig(batch_size=train["batch_size"], seq_len=train["seq_len"], device=str(device), precision=args.precision)
    amp = torch.bfloat16 if args.precision == "bf16" else None
    models = {"forja": Transformer(mcfg).to(device)}
    try:
        _, hf = common.build_pair(mcfg, device, seed=args.seed, use_cache=False)
        models["hf"] = HFAsForja(hf).to(device)
    except ImportError as err:
        peaks.setdefault("notes", []).append(f"HF comparison skipped: {err}")
    calls = {n: Compiled(m) if train.get("compile") else m for n, m in models.items()}
    opts = {n: build_optimizer(m, tcfg, device) for n, m in models.items()}
    data = FixedBatches(mcfg.vocab_size, tcfg.batch_size, tcfg.seq_len, device, args.seed)
    for n in models:  # warm-up: compilation, allocator, optimizer state
        for i in range(args.warmup):
            train_step(calls[n], opts[n], data, i, tcfg, device, amp)

    def runner(n):
        return lambda: [train_step(calls[n], opts[n], data, i, tcfg, device, amp) for i in range(args.steps)]

    times = common.interleave({n: runner(n) for n in models}, args.repeats, lambda: synchronize(device))
    flops_tok = models["forja"].flops_per_token(tcfg.seq_len)
    out: dict[str, Any] = {"flops_per_token": flops_tok, "tokens_per_step": tcfg.tokens_per_step, "models": {}}
    for n in models:
        tps = args.steps * tcfg.tokens_per_step / common.median(times[n])
        out["models"][n] = {"tokens_per_s": tps, "compiled": bool(getattr(calls[n], "active", False)),
                            "compile_failure": getattr(calls[n], "failure", None), "repeat_s": times[n],
                            "mfu_measured_peak": tps * flops_tok / peaks["measured"],
                            "mfu_datasheet": tps * flops_tok / peaks["datasheet"] if peaks["datasheet"] else None}
    if "hf" in models:
        out["ratio_forja_over_hf"] = common.paired_speedup(times["forja"], times["hf"])
    return out


def generation(args, device, mcfg: ModelConfig, batch: int) -> dict:
    from llm_core.sample import generate, generate_batch

    amp = torch.bfloat16 if args.precision == "bf16" else None
    ours = Transformer(mcfg).to(device).eval()
    g = torch.Generator().manual_seed(args.seed)
    prompts = torch.randint(0, mcfg.vocab_size, (batch, args.prompt_len), generator=g)
    n = args.new_tokens
    scfg = SampleConfig(max_new_tokens=n, temperature=0.0, seed=0)

    def run_forja():
        with autocast(device, amp):
            return [generate(ours, prompts[0].tolist(), scfg).ids] if batch == 1 else \
                generate_batch(ours, prompts.tolist(), scfg)

    fns = {"forja": run_forja}
    try:
        _, hf = common.build_pair(mcfg, device, seed=args.seed, use_cache=True)
        hf.eval()
        ids = prompts.to(device)

        def run_hf():
            with autocast(device, amp), torch.inference_mode():
                return hf.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                   max_new_tokens=n, min_new_tokens=n, pad_token_id=0, eos_token_id=None)
        fns["hf"] = run_hf
    except ImportError:
        pass
    for fn in fns.values():
        fn()  # warm-up
    times = common.interleave(fns, args.repeats, lambda: synchronize(device))
    out: dict[str, Any] = {"batch": batch, "prompt_len": args.prompt_len, "new_tokens": n, "models": {
        name: {"tokens_per_s": batch * n / common.median(t), "repeat_s": t} for name, t in times.items()}}
    if "hf" in times:
        out["ratio_forja_over_hf"] = common.paired_speedup(times["forja"], times["hf"])
    return out


def pretrain_slice(args, device, mcfg: ModelConfig, train: dict) -> dict:
    from llm_core.data.loader import TokenWindows
    from llm_core.train import train as train_loop

    from llm_core.data.tokens import TokenFile

    path = Path(args.tokens)
    tokens = TokenFile(path) if path.exists() and path.with_suffix(".json").exists() else None
    if tokens is not None and tokens.vocab_size <= mcfg.vocab_size:
        ids, source = tokens.ids, str(path)
    else:
        ids, source = np.random.default_rng(0).integers(0, mcfg.vocab_size, 2_000_000), "random tokens"
    keys = {k: v for k, v in train.items() if k in TrainConfig.__dataclass_fields__}
    cfg = TrainConfig(**{**keys, "device": str(device), "precision": args.precision, "eval_interval": 0,
                         "checkpoint_interval": 0, "log_interval": args.slice_log_every})
    data = TokenWindows(ids, cfg.seq_len, cfg.batch_size, seed=cfg.seed)
    start = time.perf_counter()

    def stop(event: str, info: dict) -> None:
        if event == "step" and time.perf_counter() - start > args.slice_seconds:
            raise SliceOver

    torch.manual_seed(cfg.seed)
    with tempfile.TemporaryDirectory() as run:
        try:
            train_loop(Transformer(mcfg), cfg, data, out_dir=run, callbacks=[stop], progress=False)
        except SliceOver:
            pass
        rows = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
    steady = rows[1:] or rows  # the first logged interval holds compilation
    return {"tokens": source, "train": to_dict(cfg), "seconds": time.perf_counter() - start, "curve": rows,
            "tokens_per_s": common.median([r["tokens_per_s"] for r in steady]),
            "mfu_measured_peak_loop": common.median([r["mfu"] for r in steady])}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--quick", action="store_true", help="a tiny model on any device: checks the script runs")
    p.add_argument("--steps", type=int, default=None, help="timed training steps per repeat (default 5; 1 quick)")
    p.add_argument("--repeats", type=int, default=None, help="alternating repeats (default 5; 2 quick)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--prompt-len", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=None, help="default 256; 8 quick")
    p.add_argument("--slice-seconds", type=float, default=None, help="pre-training slice (default 150; 5 quick)")
    p.add_argument("--slice-log-every", type=int, default=10)
    p.add_argument("--tokens", default="data/tokenize/train.bin")
    p.add_argument("--batch", type=int, default=None, help="rows per micro-batch (default: the profile's)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per row (default: the profile's)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    q = args.quick
    args.steps = args.steps or (1 if q else 5)
    args.repeats = args.repeats or (2 if q else 5)
    args.warmup = 1 if q else args.warmup
    args.new_tokens = args.new_tokens or (8 if q else 256)
    args.slice_seconds = args.slice_seconds if args.slice_seconds is not None else (5 if q else 150)
    device = pick_device(args.device)
    args.precision = "bf16" if device.type == "cuda" else "fp32"
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    mcfg, train = profile_model(q)
    train.update({k: v for k, v in (("batch_size", args.batch), ("seq_len", args.seq_len)) if v})
    if device.type != "cuda":
        train["grad_accum"] = 1  # a CPU run measures steps, not the profile's 16-micro-batch ones
    name, datasheet = dense_peak(device)
    measured = measure_matmul_peak(device, torch.bfloat16 if device.type == "cuda" else torch.float32, seconds=1.0)
    peaks: dict[str, Any] = {"device": name, "datasheet": datasheet, "measured": measured}
    payload: dict[str, Any] = {"benchmark": NAME, "quick": q, "machine": common.machine_info(device),
                               "model": to_dict(mcfg), "parameters": Transformer(mcfg).num_params(), "peaks": peaks}
    print(f"{NAME}: {name}, {payload['parameters'] / 1e6:.1f}M parameters; bf16 matmul peak measured "
          f"{measured / 1e12:.1f} TFLOP/s, datasheet {datasheet / 1e12 if datasheet else float('nan'):.0f}")
    parts = {"train": lambda: train_throughput(args, device, mcfg, train, peaks),
             "generate_batch1": lambda: generation(args, device, mcfg, 1),
             "generate_batch16": lambda: generation(args, device, mcfg, 16),
             "pretrain_slice": lambda: pretrain_slice(args, device, mcfg, train)}
    for part, run in parts.items():
        t0 = time.perf_counter()
        try:
            payload[part] = run()
        except Exception as err:  # one part failing must not lose the others' figures
            payload[part] = {"error": f"{type(err).__name__}: {err}"}
        print(f"{part} ({time.perf_counter() - t0:.0f} s): {json.dumps(_brief(payload[part]))}", flush=True)
        common.write_results(NAME, device, payload, enabled=not args.no_save, quick=q)
    return payload


def _brief(part: dict) -> dict:
    """The figures of a part without its lists (curves, repeat times)."""
    out = {}
    for k, v in part.items():
        if isinstance(v, dict):
            v = _brief(v)
        if not isinstance(v, list):
            out[k] = round(v, 4) if isinstance(v, float) else v
    return out


if __name__ == "__main__":
    main()
