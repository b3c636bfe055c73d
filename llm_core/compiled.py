"""torch.compile with an eager fallback.

Compiling fuses the model's small kernels (norms, rotary, SwiGLU) and removes
Python overhead per layer: on a GPU it is a large share of the step time. It can
also fail where the eager model runs: no C++ compiler for the CPU backend, an
unsupported op, an old driver. Compilation happens lazily, at the first call and at
any recompile (a new shape), so the failure surfaces there: `Compiled` catches the
errors that come from the compiler stack (torch._dynamo, torch._inductor), logs
one warning naming the cause, and from then on calls the eager module. Errors of
the model itself (a bad shape, out of memory) are not the compiler's and propagate.
"""
from __future__ import annotations

import logging
from typing import Any

import torch

log = logging.getLogger("llm_core.compiled")
COMPILER_MODULES = ("torch._dynamo", "torch._inductor", "torch.fx")


def is_compiler_error(err: BaseException) -> bool:
    return type(err).__module__.startswith(COMPILER_MODULES)


class Compiled:
    """Calls `torch.compile(module)`; on a compiler error, warns once and calls `module`."""

    def __init__(self, module: torch.nn.Module, **options: Any):
        self.module = module
        self.failure: str | None = None
        self._fn = torch.compile(module, **options)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._fn is None:
            return self.module(*args, **kwargs)
        try:
            return self._fn(*args, **kwargs)
        except Exception as err:
            if not is_compiler_error(err):
                raise
            self.failure = _root_cause(err)
            log.warning("torch.compile failed (%s); training goes on uncompiled (slower, same results)", self.failure)
            self._fn = None
            return self.module(*args, **kwargs)

    def parameters(self, recurse: bool = True):
        """The module's: a training step clips and steps what it calls."""
        return self.module.parameters(recurse)

    @property
    def active(self) -> bool:
        """True while calls go through the compiled module."""
        return self._fn is not None


def _root_cause(err: BaseException) -> str:
    """The first line of the innermost exception: the compiler stack wraps the real cause."""
    while (inner := getattr(err, "inner_exception", None) or err.__cause__) is not None:
        err = inner
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__
