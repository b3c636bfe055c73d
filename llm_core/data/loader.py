"""Batch sources for the training loop.

`BatchSource` and `EvalSource` are what `train.train` reads; `TokenWindows`
serves pre-training from a token file. Fine-tuning's source, `ChatBatches`,
is in `chat_batches` (its own file, so that the pretrain stage does not depend
on the chat template).

A batch is a pure function of (step, micro-batch index): no iterator state to
save, so a resumed run reads exactly the batches the interrupted one would
have; under torchrun every rank builds the same whole batch and keeps its
own rows of it (llm_core.distributed).
"""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np
import torch

from .tokens import TokenFile

IGNORE_INDEX = -100  # a target the loss skips (the model's cross_entropy ignore_index)


class BatchSource(Protocol):
    def batch(self, step: int, micro: int) -> tuple[torch.Tensor, ...]:
        """(inputs, targets), both (B, T) int64 on CPU; targets -100 where no loss.
        A source that packs several sequences per row adds a third tensor,
        (B, T) segment ids (see `model.segment_layout`)."""
        ...


class EvalSource(Protocol):
    def eval_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """The same batches every call, so evaluations are comparable."""
        ...


class TokenWindows:
    """Random windows of `seq_len + 1` tokens from a token file (pre-training)."""

    def __init__(self, tokens: TokenFile | np.ndarray, seq_len: int, batch_size: int, seed: int = 0,
                 eval_batches: int = 8):
        self.ids = tokens.ids if isinstance(tokens, TokenFile) else tokens
        self.name = str(tokens.path) if isinstance(tokens, TokenFile) else "token array"
        if len(self.ids) < seq_len + 2:
            raise ValueError(f"{self.name}: {len(self.ids)} tokens, fewer than one window of seq_len+1 = {seq_len + 1}")
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.n_eval = eval_batches

    def _stack(self, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        rows = np.stack([np.asarray(self.ids[s : s + self.seq_len + 1], dtype=np.int64) for s in starts])
        t = torch.from_numpy(rows)
        return t[:, :-1].contiguous(), t[:, 1:].contiguous()

    def batch(self, step: int, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        # The trailing 0 held a rank once (ranks now share one batch): kept, so the windows
        # are those of every run made before.
        rng = np.random.default_rng([self.seed, step, micro, 0])
        starts = rng.integers(0, len(self.ids) - self.seq_len - 1, size=self.batch_size)
        return self._stack(starts)

    def eval_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Evenly spaced windows across the whole file: deterministic and representative."""
        n = self.n_eval * self.batch_size
        last = len(self.ids) - self.seq_len - 1
        starts = np.linspace(0, last, num=n).astype(np.int64)
        for i in range(0, n, self.batch_size):
            yield self._stack(starts[i : i + self.batch_size])
