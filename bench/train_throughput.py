"""Training throughput: forja's llm_core vs Hugging Face transformers, same weights.

One training step = forward + loss + backward + gradient clipping + AdamW step,
run through forja's own `llm_core.train.train_step` for BOTH models (HF's
model is wrapped so that it takes the same call), with optimizers from
`llm_core.train.build_optimizer` (decay on matrices only; fused on CUDA).
HF computes its loss its own way (`labels=`), as a user of HF would.

    python -m bench.train_throughput              # full run, a few minutes on 2 CPU cores
    python -m bench.train_throughput --quick      # smoke run
    python -m bench.train_throughput --profile    # also print where each model's step spends its time

Reports tokens/s for each, the forja/HF ratio (>= 1.0 is the target), MFU
(tokens/s * model.flops_per_token(seq_len) / matmul peak, the peak measured
here with `measure_matmul_peak` in the same dtype) and the peak itself.
"""
from __future__ import annotations

import sys

import torch
import torch.nn as nn

from llm_core.config import TrainConfig, to_dict
from llm_core.device import measure_matmul_peak, synchronize
from llm_core.model import Transformer
from llm_core.train import build_optimizer, train_step

from . import common

NAME = "train_throughput"


class HFAsForja(nn.Module):
    """HF's LlamaForCausalLM behind forja's call: forward(idx, targets) -> (logits, loss, attns).

    `targets` is ignored: HF shifts `labels` itself, so we hand it the inputs.
    The batch is built with y = x shifted by one, so the two losses agree up to
    HF dropping the last position of each row."""

    def __init__(self, hf: nn.Module):
        super().__init__()
        self.hf = hf

    def forward(self, idx, targets=None, cache=None, segments=None):
        assert segments is None, "the benchmark's batches are not packed"
        out = self.hf(input_ids=idx, labels=idx if targets is not None else None, use_cache=False)
        return out.logits, out.loss, []


class FixedBatches:
    """A BatchSource that returns the same random batch every time (data loading is not measured)."""

    def __init__(self, vocab: int, batch: int, seq_len: int, device: torch.device, seed: int):
        g = torch.Generator().manual_seed(seed)
        seq = torch.randint(0, vocab, (batch, seq_len + 1), generator=g)
        self.x, self.y = seq[:, :-1].contiguous().to(device), seq[:, 1:].contiguous().to(device)

    def batch(self, step: int, micro: int = 0):
        return self.x, self.y


def profile_step(name, model, opt, data, tcfg, device, amp, rows: int) -> None:
    from torch.profiler import ProfilerActivity, profile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=acts) as prof:
        train_step(model, opt, data, 0, tcfg, device, amp)
        synchronize(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(f"\n=== profile of one training step: {name} ===")
    print(prof.key_averages().table(sort_by=key, row_limit=rows))


def run_precision(args, device, amp, mcfg, tcfg) -> dict:
    label = "bf16" if amp is torch.bfloat16 else "fp32"
    ours, hf = common.build_pair(mcfg, device, seed=args.seed, use_cache=False)
    diff = common.max_logit_diff(ours, hf, mcfg, device, seq_len=min(64, args.seq_len))
    ours.train(), hf.train()
    models = {"forja": ours, "hf": HFAsForja(hf).train()}
    opts = {n: build_optimizer(m, tcfg, device) for n, m in models.items()}
    data = FixedBatches(mcfg.vocab_size, args.batch, args.seq_len, device, args.seed)

    peaks = [measure_matmul_peak(device, amp or torch.float32, seconds=args.peak_seconds)]

    first_loss = {}
    for n, m in models.items():  # warm-up: allocator, kernel choice, AdamW state creation
        for i in range(max(1, args.warmup)):
            loss = train_step(m, opts[n], data, i, tcfg, device, amp)
            first_loss.setdefault(n, loss)

    if args.profile:
        for n, m in models.items():
            profile_step(n, m, opts[n], data, tcfg, device, amp, args.profile_rows)

    def runner(n):
        def go():
            for i in range(args.steps):
                train_step(models[n], opts[n], data, i, tcfg, device, amp)
        return go

    def sample_peak():
        peaks.append(measure_matmul_peak(device, amp or torch.float32, seconds=args.peak_seconds))

    # The peak is sampled once per round too (next to, not between, the two models'
    # runs) and the best sample is used: on a shared machine one sample may catch a busy moment.
    times = common.interleave({"peak": sample_peak, **{n: runner(n) for n in models}}, args.repeats,
                              lambda: synchronize(device))
    peak = max(peaks)

    tokens = args.steps * tcfg.tokens_per_step
    flops_tok = ours.flops_per_token(args.seq_len)
    out = {"precision": label, "peak_flops": peak, "peak_flops_samples": peaks, "max_logit_diff_fp32": diff,
           "first_loss": first_loss, "flops_per_token": flops_tok, "tokens_per_repeat": tokens, "models": {}}
    for n in models:
        t = common.median(times[n])
        tps = tokens / t
        best = tokens / min(times[n])
        out["models"][n] = {"tokens_per_s": tps, "best_tokens_per_s": best, "step_s": t / args.steps,
                            "mfu": tps * flops_tok / peak, "best_mfu": best * flops_tok / peak,
                            "spread": common.spread(times[n]), "repeat_s": times[n]}
    # Paired: each round's HF time over the forja time measured next to it.
    out["ratio_forja_over_hf"] = common.paired_speedup(times["forja"], times["hf"])
    out["ratio_of_medians"] = out["models"]["forja"]["tokens_per_s"] / out["models"]["hf"]["tokens_per_s"]
    out["ratio_of_best"] = min(times["hf"]) / min(times["forja"])
    del models, opts, ours, hf
    return out


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.splitlines()[0], steps=1, repeats=7, warmup=2)
    p.add_argument("--batch", type=int, default=None, help="sequences per step (default 16; 4 with --quick)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default 256; 128 with --quick)")
    p.add_argument("--peak-seconds", type=float, default=0.5, help="length of each matmul-peak measurement")
    p.add_argument("--profile", action="store_true", help="profile one step of each model with torch.profiler")
    p.add_argument("--profile-rows", type=int, default=25)
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.warmup, args.peak_seconds = 1, 2, 1, 0.3
    args.batch = args.batch or (4 if args.quick else 16)
    args.seq_len = args.seq_len or (128 if args.quick else 256)

    device = common.setup(args)
    machine = common.machine_info(device)  # before the run: the load average is that of other processes
    mcfg = common.model_config(args, max_seq_len=args.seq_len)
    precs, notes = common.precisions(args.precision, device)
    busy = common.contention_note() if device.type == "cpu" else None
    if busy:
        notes.append(busy)
    print(f"training throughput on {device} ({common.device_name(device)}), {torch.get_num_threads()} threads; "
          f"batch {args.batch} x seq {args.seq_len}, {args.steps} steps x {args.repeats} alternating repeats")
    for note in notes:
        print(f"note: {note}")

    results = []
    for amp in precs:
        tcfg = TrainConfig(batch_size=args.batch, seq_len=args.seq_len, grad_accum=1,
                           device=str(device), precision="bf16" if amp is torch.bfloat16 else "fp32")
        results.append(run_precision(args, device, amp, mcfg, tcfg))
        r = results[-1]
        print(f"{r['precision']}: max |logit diff| forja vs HF (fp32 check) {r['max_logit_diff_fp32']:.2e}; "
              f"first-step loss forja {r['first_loss']['forja']:.3f}, HF {r['first_loss']['hf']:.3f}")

    params = Transformer(mcfg).num_params()
    rows = []
    for r in results:
        for n in ("forja", "hf"):
            m = r["models"][n]
            rows.append([n, r["precision"], m["tokens_per_s"], m["step_s"], f"{100 * m['mfu']:.1f}%",
                         m["best_tokens_per_s"], f"{100 * m['best_mfu']:.1f}%", f"{100 * m['spread']:.0f}%",
                         f"{r['ratio_forja_over_hf']:.3f}" if n == "forja" else "",
                         f"{r['ratio_of_best']:.3f}" if n == "forja" else "", f"{r['peak_flops'] / 1e9:.1f}"])
    common.print_table(["model", "precision", "tokens/s", "s/step", "MFU", "best tok/s", "best MFU", "spread",
                        "forja/HF", "best/best", "peak GFLOP/s"],
                       rows, title=f"training, {params / 1e6:.2f}M params, {args.batch}x{args.seq_len} tokens/step "
                                   f"(forja/HF: median of paired rounds, target >= 1.0)")
    for note in notes:
        print(f"note: {note}")

    payload = {
        "benchmark": NAME, "quick": args.quick, "machine": machine,
        "config": {"model": to_dict(mcfg), "params": params, "batch": args.batch, "seq_len": args.seq_len,
                   "steps": args.steps, "repeats": args.repeats, "warmup": args.warmup,
                   "optimizer": {k: v for k, v in to_dict(tcfg).items()
                                 if k in ("lr", "weight_decay", "beta1", "beta2", "grad_clip")},
                   "hf_attn_implementation": "sdpa"},
        "notes": notes, "results": results,
    }
    common.write_results(NAME, device, payload, enabled=not args.no_save, quick=args.quick, tag=args.tag)
    return payload


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
