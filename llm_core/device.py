"""Device and precision choice, one code path for CPU, CUDA and MPS."""
from __future__ import annotations

import contextlib
import functools
import time
from pathlib import Path

import torch


def pick_device(name: str = "auto") -> torch.device:
    """`auto` picks CUDA, then MPS, then CPU; anything else is passed to torch."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"device: expected auto, cpu, cuda, cuda:N or mps, got {name!r}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} was asked for but CUDA is not available on this machine")
    return dev


@functools.cache
def cpu_has_native_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16. Elsewhere bf16 matmuls are emulated
    (about 90x slower than fp32 on an AVX2 machine), so we train in fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def pick_precision(device: torch.device, precision: str = "auto") -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision != "auto":
        raise ValueError(f"precision: expected auto, fp32 or bf16, got {precision!r}")
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    if device.type == "cpu" and cpu_has_native_bf16():
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def measure_matmul_peak(device: torch.device, dtype: torch.dtype = torch.float32, seconds: float = 0.5) -> float:
    """FLOP/s of a large square matmul: the ceiling MFU is measured against.

    Measured rather than looked up, because a table cannot know how many CPU
    cores we were given or which GPU clock we run at."""
    n = 4096 if device.type == "cuda" else 1024
    # A private generator: touching the global RNG here would make a resumed
    # training run draw different dropout masks than an uninterrupted one.
    g = torch.Generator(device=device).manual_seed(0)
    a = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    b = torch.randn(n, n, device=device, dtype=dtype, generator=g)
    for _ in range(2):
        a @ b  # warm-up: kernel selection, page faults
    synchronize(device)
    reps, t0 = 0, time.perf_counter()
    while True:
        a @ b
        reps += 1
        if reps % 4 == 0:
            synchronize(device)
            if time.perf_counter() - t0 > seconds:
                break
    return 2.0 * n**3 * reps / (time.perf_counter() - t0)
