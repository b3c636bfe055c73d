"""Fine-tuning batches: encoded conversations as a `loader.BatchSource`.

One concern: serving `ChatTokens` examples (from `chat.encode_conversations`)
to the training loop, one example per row (right-padded) or several packed per
row, with targets -100 off the loss mask, where a batch is a pure function of
``(step, micro)`` (exact resume; under torchrun each rank keeps its own rows
of every batch, llm_core.distributed).

It sits beside `loader` (the `BatchSource` protocol and pre-training's
`TokenWindows`) rather than inside it because DVC tracks files: the pretrain
stage depends on loader.py, and neither a change here nor one to the chat
template (`llm_core.chat`, imported here) should rerun pre-training.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from typing import Union

import numpy as np
import torch

from ..chat import ChatTokens
from ..tokenizer import PAD_ID
from .loader import IGNORE_INDEX


Example = Union[ChatTokens, tuple[Sequence[int], Sequence[bool]]]


@lru_cache(maxsize=4)
def _epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


class ChatBatches:
    """Fine-tuning batches from encoded conversations (a ``BatchSource`` and ``EvalSource``).

    An example of ``L <= seq_len + 1`` tokens fills ``L - 1`` positions of a
    row: ``x = ids[:-1]`` and ``y[i] = ids[i+1] if mask[i+1] else -100`` (the
    target at position i is the next token, trained on only where that token is
    in the loss mask). The rest of a row is padding: ``pad_id`` in x, -100 in y.

    Without ``pack`` a row holds one example; causal attention means padding on
    the right never changes the loss. With ``pack`` a row holds as many
    consecutive examples of the stream as fit, and the batch carries a third
    tensor of segment ids: the model restarts positions at each example and
    lets no example see another (``model.segment_layout``), so the loss equals
    the unpacked one while a step computes on 2-3x fewer padding positions.

    Order: the examples form an endless stream, epoch after epoch, each epoch a
    permutation drawn from ``(seed, epoch)`` and cut into rows (packed greedily
    in that order, no row spanning two epochs). Micro-batch ``(step, micro)``
    takes rows ``g * batch_size ... + batch_size - 1`` of the stream with
    ``g = step * grad_accum + micro``, so a batch is
    a pure function of ``(step, micro)`` (exact resume) and every example is
    seen once per epoch (a batch may span two epochs).
    """

    def __init__(
        self,
        examples: Sequence[Example],
        seq_len: int,
        batch_size: int,
        seed: int = 0,
        grad_accum: int = 1,
        pad_id: int = PAD_ID,
        max_eval_batches: int | None = None,
        pack: bool = False,
    ):
        if seq_len < 1 or batch_size < 1 or grad_accum < 1:
            raise ValueError("seq_len, batch_size and grad_accum must be positive")
        if not examples:
            raise ValueError("ChatBatches needs at least one example")
        lengths, ids_parts, mask_parts = [], [], []
        for k, ex in enumerate(examples):
            ids, mask = (ex.ids, ex.loss_mask) if isinstance(ex, ChatTokens) else ex
            if len(ids) != len(mask):
                raise ValueError(f"example {k}: ids ({len(ids)}) and mask ({len(mask)}) differ in length")
            if not 2 <= len(ids) <= seq_len + 1:
                raise ValueError(
                    f"example {k} has {len(ids)} tokens; it must have 2..seq_len+1 = {seq_len + 1} "
                    "(truncate with truncate_left(ids, mask, seq_len + 1) or encode_conversations)"
                )
            if not any(mask[1:]):
                raise ValueError(f"example {k} has no loss token after the first position (nothing to learn)")
            lengths.append(len(ids))
            ids_parts.append(np.asarray(ids, dtype=np.int64))
            mask_parts.append(np.asarray(mask, dtype=bool))
        self.lengths = np.asarray(lengths, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self._ids = np.concatenate(ids_parts)
        self._mask = np.concatenate(mask_parts)
        self.seq_len, self.batch_size, self.seed = seq_len, batch_size, seed
        self.grad_accum = grad_accum
        self.pad_id, self.max_eval_batches, self.pack = pad_id, max_eval_batches, pack
        self._packed: dict[int, list[list[int]]] = {}  # rows of the last two epochs used
        self._row_counts: dict[int, int] = {}  # rows of every epoch seen

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.lengths)

    def fingerprint(self) -> str:
        """A digest of the examples (ids, masks, order): equal only for the same data."""
        h = hashlib.sha256()
        for a in (self.lengths, self._ids, self._mask):
            h.update(a.tobytes())
        return h.hexdigest()

    def rows_in_epoch(self, epoch: int) -> int:
        if not self.pack:
            return len(self)
        if epoch not in self._row_counts:
            self._row_counts[epoch] = len(self._packed_epoch(epoch))
        return self._row_counts[epoch]

    @property
    def steps_per_epoch(self) -> float:
        """Optimizer steps for one pass over the examples."""
        return self.rows_in_epoch(0) / (self.batch_size * self.grad_accum)

    @property
    def loss_tokens(self) -> int:
        """Loss tokens in one epoch (targets that are not -100)."""
        starts = self.offsets[:-1]
        return int(self._mask.sum() - self._mask[starts].sum())

    def _pack(self, order: Iterable[int]) -> list[list[int]]:
        """Examples in `order`, cut greedily into rows of at most seq_len positions."""
        rows, row, used = [], [], 0
        for i in order:
            need = int(self.lengths[i]) - 1
            if row and used + need > self.seq_len:
                rows.append(row)
                row, used = [], 0
            row.append(i)
            used += need
        rows.append(row)
        return rows

    def _packed_epoch(self, epoch: int) -> list[list[int]]:
        """Epoch `epoch`'s permutation, packed into rows."""
        if epoch not in self._packed:
            if len(self._packed) >= 2:  # a batch spans at most two epochs
                del self._packed[min(self._packed)]
            self._packed[epoch] = self._pack(_epoch_permutation(self.seed, epoch, len(self)).tolist())
        return self._packed[epoch]

    def _stream_row(self, p: int) -> list[int]:
        """Example indices of row `p` of the endless stream."""
        if not self.pack:
            epoch, k = divmod(p, len(self))
            return [int(_epoch_permutation(self.seed, epoch, len(self))[k])]
        epoch = 0
        while p >= (n := self.rows_in_epoch(epoch)):
            p, epoch = p - n, epoch + 1
        return self._packed_epoch(epoch)[p]

    def rows(self, step: int, micro: int) -> list[list[int]]:
        """Example indices of each row of micro-batch ``(step, micro)``."""
        if step < 0 or not 0 <= micro < self.grad_accum:
            raise ValueError(f"step must be >= 0 and micro in [0, {self.grad_accum}); got ({step}, {micro})")
        g = step * self.grad_accum + micro
        return [self._stream_row(p) for p in range(g * self.batch_size, (g + 1) * self.batch_size)]

    def indices(self, step: int, micro: int) -> list[int]:
        """Example indices of micro-batch ``(step, micro)``, in row order."""
        return [i for row in self.rows(step, micro) for i in row]

    def example(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, mask) of one example."""
        a, b = self.offsets[index], self.offsets[index + 1]
        return self._ids[a:b], self._mask[a:b]

    def _fill(self, rows: Sequence[Sequence[int]]) -> tuple[torch.Tensor, ...]:
        x = np.full((len(rows), self.seq_len), self.pad_id, dtype=np.int64)
        y = np.full((len(rows), self.seq_len), IGNORE_INDEX, dtype=np.int64)
        seg = np.zeros((len(rows), self.seq_len), dtype=np.int64)
        for r, row in enumerate(rows):
            at = 0
            for s, i in enumerate(row):
                ids, mask = self.example(i)
                n = len(ids) - 1
                x[r, at : at + n] = ids[:-1]
                y[r, at : at + n] = np.where(mask[1:], ids[1:], IGNORE_INDEX)
                seg[r, at : at + n] = s
                at += n
            seg[r, at:] = len(row)  # padding is a segment of its own
        if not self.pack:
            return torch.from_numpy(x), torch.from_numpy(y)
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(seg)

    def batch(self, step: int, micro: int) -> tuple[torch.Tensor, ...]:
        """(x, y), both (batch_size, seq_len) int64 on CPU, y -100 where no loss;
        packed, also the (batch_size, seq_len) segment ids."""
        return self._fill(self.rows(step, micro))

    def eval_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """Every example in order (or the first ``max_eval_batches`` batches), in
        batches of ``batch_size`` rows (the last may be smaller): the same every
        call. Packed, consecutive examples share rows."""
        rows = self._pack(range(len(self))) if self.pack else [[i] for i in range(len(self))]
        n_batches = -(-len(rows) // self.batch_size)
        if self.max_eval_batches is not None:
            n_batches = min(n_batches, self.max_eval_batches)
        for b in range(n_batches):
            yield self._fill(rows[b * self.batch_size : (b + 1) * self.batch_size])

