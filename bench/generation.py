"""Generation speed: forja's `llm_core.sample.generate` vs Hugging Face `generate`, same weights.

Batch 1, a random prompt of --prompt-len tokens, --new-tokens new tokens,
greedy, with a KV cache on both sides:

  forja: generate(model, prompt, SampleConfig(max_new_tokens=N, temperature=0))
  HF:    model.generate(do_sample=False, max_new_tokens=N, min_new_tokens=N, use_cache=True)

    python -m bench.generation              # full run, about a minute on 2 CPU cores
    python -m bench.generation --quick      # smoke run

tokens/s = new tokens / wall time of the whole call (prefill included).
forja/HF is the median over alternating rounds of HF's time over forja's
(target >= 4.0). Both must produce the same greedy tokens; how many of the N
positions agree is reported (fp32 near-ties may flip a token late, after which
the texts differ).
"""
from __future__ import annotations

import sys
import warnings

import torch

from llm_core.config import SampleConfig, to_dict
from llm_core.device import autocast, synchronize
from llm_core.model import Transformer

from . import common

NAME = "generation"


def agreement(a: list[int], b: list[int]) -> dict:
    same = sum(x == y for x, y in zip(a, b))
    first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), None)
    return {"same_positions": same, "of": max(len(a), len(b)),
            "first_difference": first, "identical": a == b}


def run_precision(args, device, amp, mcfg) -> dict:
    from transformers import GenerationConfig

    from llm_core.sample import generate

    label = "bf16" if amp is torch.bfloat16 else "fp32"
    ours, hf = common.build_pair(mcfg, device, seed=args.seed, use_cache=True)
    ours.eval(), hf.eval()
    diff = common.max_logit_diff(ours, hf, mcfg, device, seq_len=args.prompt_len)
    g = torch.Generator().manual_seed(args.seed + 1)
    prompt = torch.randint(0, mcfg.vocab_size, (args.prompt_len,), generator=g).tolist()
    n = args.new_tokens
    scfg = SampleConfig(max_new_tokens=n, temperature=0.0, seed=0)

    def run_forja() -> list[int]:
        with autocast(device, amp):
            res = generate(ours, prompt, scfg)
        return res.ids

    # Reference greedy tokens from forja, then an EOS id that forja never produces:
    # min_new_tokens works by banning EOS, which must not change HF's greedy choice.
    ref = run_forja()
    eos = next(t for t in range(mcfg.vocab_size - 1, -1, -1) if t not in ref)
    pad = next(t for t in range(mcfg.vocab_size) if t != eos)
    gcfg = GenerationConfig(do_sample=False, max_new_tokens=n, min_new_tokens=n, use_cache=True,
                            eos_token_id=eos, pad_token_id=pad, bos_token_id=None,
                            temperature=None, top_p=None, top_k=None)
    input_ids = torch.tensor([prompt], dtype=torch.long, device=device)
    attention_mask = torch.ones_like(input_ids)

    def run_hf() -> list[int]:
        with autocast(device, amp):
            out = hf.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=gcfg)
        return out[0, input_ids.shape[1]:].tolist()

    outs: dict[str, list[int]] = {"forja": ref}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HF's notes on generation flags; not what we measure
        for _ in range(max(1, args.warmup)):
            outs["forja"], outs["hf"] = run_forja(), run_hf()
        for name, ids in outs.items():
            if len(ids) != n:
                raise RuntimeError(f"{name} generated {len(ids)} tokens instead of {n}")

        def repeat(fn):
            def go():
                for _ in range(args.steps):
                    fn()
            return go

        times = common.interleave({"forja": repeat(run_forja), "hf": repeat(run_hf)}, args.repeats,
                                  lambda: synchronize(device))

    out = {"precision": label, "max_logit_diff_fp32": diff, "eos_id_for_hf": eos, "prompt": prompt,
           "agreement": agreement(outs["forja"], outs["hf"]), "models": {}}
    for name in ("forja", "hf"):
        t = common.median(times[name]) / args.steps
        out["models"][name] = {"tokens_per_s": n / t, "best_tokens_per_s": n * args.steps / min(times[name]),
                               "s_per_generation": t, "ms_per_token": 1e3 * t / n,
                               "spread": common.spread(times[name]), "repeat_s": times[name],
                               "tokens": outs[name]}
    out["ratio_forja_over_hf"] = common.paired_speedup(times["forja"], times["hf"])
    out["ratio_of_medians"] = out["models"]["forja"]["tokens_per_s"] / out["models"]["hf"]["tokens_per_s"]
    out["ratio_of_best"] = min(times["hf"]) / min(times["forja"])
    return out


def main(argv: list[str] | None = None) -> dict:
    p = common.base_parser(__doc__.splitlines()[0], steps=1, repeats=7, warmup=1)
    p.add_argument("--prompt-len", type=int, default=16)
    p.add_argument("--new-tokens", type=int, default=None, help="default 256; 32 with --quick")
    p.add_argument("--max-seq-len", type=int, default=512, help="the models' context window")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.warmup = 2, 1
    args.new_tokens = args.new_tokens or (32 if args.quick else 256)
    if args.prompt_len + args.new_tokens > args.max_seq_len:
        p.error("--prompt-len + --new-tokens must fit in --max-seq-len (no window sliding is measured)")

    device = common.setup(args)
    machine = common.machine_info(device)  # before the run: the load average is that of other processes
    mcfg = common.model_config(args, max_seq_len=args.max_seq_len)
    precs, notes = common.precisions(args.precision, device)
    busy = common.contention_note() if device.type == "cpu" else None
    if busy:
        notes.append(busy)
    print(f"generation on {device} ({common.device_name(device)}), {torch.get_num_threads()} threads; batch 1, "
          f"prompt {args.prompt_len}, {args.new_tokens} new tokens, greedy, KV cache; "
          f"{args.repeats} alternating repeats")
    for note in notes:
        print(f"note: {note}")

    results = []
    for amp in precs:
        r = run_precision(args, device, amp, mcfg)
        results.append(r)
        a = r["agreement"]
        first = "identical" if a["identical"] else f"first difference at new token {a['first_difference']}"
        print(f"{r['precision']}: max |logit diff| forja vs HF {r['max_logit_diff_fp32']:.2e}; greedy tokens agree "
              f"at {a['same_positions']}/{a['of']} positions ({first})")

    rows = []
    for r in results:
        for name in ("forja", "hf"):
            m = r["models"][name]
            a = r["agreement"]
            rows.append([name, r["precision"], m["tokens_per_s"], m["ms_per_token"], m["best_tokens_per_s"],
                         f"{100 * m['spread']:.0f}%",
                         f"{r['ratio_forja_over_hf']:.2f}" if name == "forja" else "",
                         f"{r['ratio_of_best']:.2f}" if name == "forja" else "",
                         f"{a['same_positions']}/{a['of']}" if name == "forja" else ""])
    params = Transformer(mcfg).num_params()
    common.print_table(["model", "precision", "tokens/s", "ms/token", "best tok/s", "spread", "forja/HF",
                        "best/best", "same tokens"], rows,
                       title=f"generation, {params / 1e6:.2f}M params, batch 1, {args.prompt_len}+{args.new_tokens} "
                             f"tokens (forja/HF: median of paired rounds, target >= 4.0)")
    weight_mb = sum(p.numel() * p.element_size() for p in Transformer(mcfg).parameters()) / 1e6
    print(f"each new token reads all {weight_mb:.0f} MB of weights (fp32) once: at batch 1 both libraries are "
          f"bound by memory bandwidth on a CPU, which caps what any per-step overhead saving can gain")
    for note in notes:
        print(f"note: {note}")

    payload = {
        "benchmark": NAME, "quick": args.quick, "machine": machine,
        "config": {"model": to_dict(mcfg), "params": params, "weight_mb": weight_mb, "prompt_len": args.prompt_len,
                   "new_tokens": args.new_tokens, "steps": args.steps, "repeats": args.repeats,
                   "warmup": args.warmup, "forja_sample_config": to_dict(SampleConfig(max_new_tokens=args.new_tokens,
                                                                                      temperature=0.0, seed=0)),
                   "hf_attn_implementation": "sdpa"},
        "notes": notes, "results": results,
    }
    common.write_results(NAME, device, payload, enabled=not args.no_save, quick=args.quick, tag=args.tag)
    return payload


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
