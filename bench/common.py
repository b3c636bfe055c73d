"""Shared pieces of the benchmarks: options, the model pair, timing, tables, results.

Every benchmark builds forja's `Transformer` and Hugging Face's `LlamaForCausalLM`
in the same process, with the same sizes and the very same weights (our state
dict loads into HF's model unchanged, because the parameter names match), and
times them alternately so that drift (thermal, other processes, turbo clocks)
falls on both equally.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch

from llm_core.config import ModelConfig
from llm_core.device import cpu_has_native_bf16, pick_device, pick_precision
from llm_core.model import Transformer

RESULTS_DIR = Path(__file__).resolve().parent / "results"

# The default model: about 10M parameters with tied embeddings.
DEFAULT_SIZES = dict(vocab=8192, dim=384, layers=6, heads=6, kv_heads=None, hidden=1024)


# ---------------------------------------------------------------- options

def base_parser(description: str, *, steps: int, repeats: int, warmup: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="auto: fp32, plus bf16 autocast where the hardware runs it natively")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    p.add_argument("--steps", type=int, default=steps, help="timed iterations per repeat")
    p.add_argument("--repeats", type=int, default=repeats, help="alternating A/B repeats; medians are reported")
    p.add_argument("--warmup", type=int, default=warmup, help="untimed iterations per model before timing")
    p.add_argument("--quick", action="store_true", help="a short smoke run (tiny counts; figures are rough)")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--no-save", action="store_true", help="do not write bench/results/<name>-<device>.json")
    p.add_argument("--tag", default="", help="write bench/results/<name>-<device>-<tag>.json instead")
    g = p.add_argument_group("model sizes")
    g.add_argument("--vocab", type=int, default=DEFAULT_SIZES["vocab"])
    g.add_argument("--dim", type=int, default=DEFAULT_SIZES["dim"])
    g.add_argument("--layers", type=int, default=DEFAULT_SIZES["layers"])
    g.add_argument("--heads", type=int, default=DEFAULT_SIZES["heads"])
    g.add_argument("--kv-heads", type=int, default=DEFAULT_SIZES["kv_heads"], help="default: same as --heads")
    g.add_argument("--hidden", type=int, default=DEFAULT_SIZES["hidden"], help="SwiGLU width")
    return p


def setup(args: argparse.Namespace) -> torch.device:
    """Threads, seed and device, once per run."""
    if args.threads and args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return pick_device(args.device)


def contention_note() -> str | None:
    """A warning when other processes already keep the CPU cores busy (figures get noisy)."""
    if not hasattr(os, "getloadavg"):
        return None
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > 0.5 * cores:
        return (f"1-minute load average is {load:.1f} on {cores} cores before the run: other processes compete "
                f"for the CPU, so absolute figures are noisy (the alternating A/B ratio is the robust number). "
                f"With as many threads as cores, every parallel op waits for its slowest thread, and a thread "
                f"the OS has descheduled stalls it for a whole time slice; --threads {max(1, cores - 1)} is "
                f"far steadier on a busy machine")
    return None


def model_config(args: argparse.Namespace, max_seq_len: int) -> ModelConfig:
    return ModelConfig(
        vocab_size=args.vocab, dim=args.dim, n_layers=args.layers, n_heads=args.heads,
        n_kv_heads=args.kv_heads, hidden_dim=args.hidden, max_seq_len=max_seq_len,
        tie_embeddings=True, dropout=0.0,
    )


def precisions(precision: str, device: torch.device) -> tuple[list[torch.dtype | None], list[str]]:
    """Which precisions to run, and notes on what was skipped and why."""
    notes: list[str] = []
    if precision == "fp32":
        return [None], notes
    if precision == "bf16":
        if device.type == "cpu" and not cpu_has_native_bf16():
            notes.append("bf16 forced on a CPU without AMX/AVX512-BF16: it is emulated and very slow")
        return [torch.bfloat16], notes
    auto = pick_precision(device, "auto")
    if auto is None:
        if device.type == "cpu":
            notes.append(f"bf16 skipped: {device_name(device)} ({torch.backends.cpu.get_cpu_capability()}) "
                         "has no native bf16 (no AMX/AVX512-BF16), where it runs ~90x slower than fp32; "
                         "pass --precision bf16 to force it")
        else:
            notes.append(f"bf16 skipped: {device_name(device)} does not run bf16 natively")
        return [None], notes
    return [None, auto], notes


# ---------------------------------------------------------------- models

def hf_config(cfg: ModelConfig, **overrides: Any):
    """The `LlamaConfig` describing the same network as `cfg`."""
    from transformers import LlamaConfig

    kw: dict[str, Any] = dict(
        vocab_size=cfg.vocab_size, hidden_size=cfg.dim, intermediate_size=cfg.ffn_dim,
        num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
        num_key_value_heads=cfg.kv_heads, head_dim=cfg.head_dim, hidden_act="silu",
        max_position_embeddings=cfg.max_seq_len, rms_norm_eps=cfg.norm_eps,
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        tie_word_embeddings=cfg.tie_embeddings, attention_bias=False, mlp_bias=False,
        attention_dropout=cfg.dropout, attn_implementation="sdpa",
    )
    kw.update(overrides)
    return LlamaConfig(**kw)


def build_pair(cfg: ModelConfig, device: torch.device, seed: int = 1337, **hf_overrides: Any):
    """forja's model and HF's `LlamaForCausalLM` holding identical weights, both on `device`."""
    from transformers import LlamaForCausalLM

    torch.manual_seed(seed)
    ours = Transformer(cfg)
    hf = LlamaForCausalLM(hf_config(cfg, **hf_overrides))
    # strict=True: every name must match both ways (HF's rotary buffers are not persistent).
    hf.load_state_dict(ours.state_dict(), strict=True)
    if cfg.tie_embeddings and hf.lm_head.weight is not hf.model.embed_tokens.weight:
        raise RuntimeError("HF model lost its tied embeddings after loading the state dict")
    ours_sd, hf_sd = ours.state_dict(), hf.state_dict()
    for name, t in ours_sd.items():
        if not torch.equal(t, hf_sd[name]):
            raise RuntimeError(f"weights differ after copy: {name}")
    if ours.num_params() != hf.num_parameters():
        raise RuntimeError(f"parameter counts differ: forja {ours.num_params()} vs HF {hf.num_parameters()}")
    return ours.to(device), hf.to(device)


@torch.no_grad()
def max_logit_diff(ours: torch.nn.Module, hf: torch.nn.Module, cfg: ModelConfig, device: torch.device,
                   seq_len: int, batch: int = 2) -> float:
    """Largest |logit difference| on one random batch: a check that the pair is the same network."""
    was = ours.training, hf.training
    ours.eval(), hf.eval()
    idx = torch.randint(0, cfg.vocab_size, (batch, seq_len), device=device)
    a = ours(idx)[0].float()
    b = hf(input_ids=idx, use_cache=False).logits.float()
    ours.train(was[0]), hf.train(was[1])
    return float((a - b).abs().max())


# ---------------------------------------------------------------- timing

def interleave(fns: dict[str, Callable[[], Any]], repeats: int, sync: Callable[[], None]) -> dict[str, list[float]]:
    """Seconds of each callable over `repeats` rounds, run alternately.

    The order flips every round (A B, B A, A B, ...) so that a steady drift in
    machine speed costs both the same; report medians of the returned lists."""
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for n in (names if r % 2 == 0 else names[::-1]):
            sync()
            t0 = time.perf_counter()
            fns[n]()
            sync()
            times[n].append(time.perf_counter() - t0)
    return times


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def paired_speedup(a: list[float], b: list[float]) -> float:
    """Median over rounds of time(b) / time(a): how many times faster A ran than B,
    each round comparing two runs made back to back (robust to slow drift)."""
    return statistics.median(tb / ta for ta, tb in zip(a, b))


def spread(xs: list[float]) -> float:
    """(max - min) / median: how noisy a set of repeats was."""
    m = statistics.median(xs)
    return (max(xs) - min(xs)) / m if m else float("nan")


# ---------------------------------------------------------------- reporting

def machine_info(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name(device),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:  # pragma: no cover - the benchmarks need it anyway
        pass
    if device.type == "cuda":
        info["cuda"] = torch.version.cuda
        info["bf16_supported"] = torch.cuda.is_bf16_supported()
    return info


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return platform.processor() or "cpu"
    return device.type


def print_table(headers: list[str], rows: list[list[Any]], title: str | None = None) -> None:
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths))))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if x != x:
            return "-"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        if abs(x) >= 10:
            return f"{x:.1f}"
        return f"{x:.3f}"
    return "-" if x is None else str(x)


def write_results(name: str, device: torch.device, payload: dict[str, Any], enabled: bool = True,
                  quick: bool = False, tag: str = "") -> Path | None:
    """Write bench/results/<name>-<device type>.json (overwritten by the next run).

    A --quick smoke run goes to <name>-<device type>.quick.json instead, so it
    never replaces the figures of a full run; --tag adds -<tag> to the name."""
    if not enabled:
        return None
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{device.type}" + (f"-{tag}" if tag else "")
    path = RESULTS_DIR / f"{stem}{'.quick' if quick else ''}.json"
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nwrote {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path
