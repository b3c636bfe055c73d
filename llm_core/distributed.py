"""Data parallelism: one training run over several processes started by torchrun.

torchrun starts N processes (on one machine or several) and gives each its RANK,
LOCAL_RANK and WORLD_SIZE in the environment. A run's global batch does not depend
on N: at every optimizer step each of the grad_accum micro-batches of B rows is
built whole by every rank (token ids: cheap) and rank r keeps rows
[r B / N, (r + 1) B / N). Its loss is

    loss_r = N * S_r / n

with S_r the summed cross-entropy of its rows' targets and n the number of targets
in the whole micro-batch. DDP and FSDP average gradients over the ranks, so a
micro-batch's gradient is (1/N) sum_r grad loss_r = grad (sum_r S_r) / n: the
gradient of the micro-batch's mean loss, exactly what one process computes, also
when fine-tuning masks a different number of targets in each rank's rows.

Strategies (`TrainConfig.parallel`):

    ddp   DistributedDataParallel: every rank holds the whole model; gradients are
          all-reduced during the backward pass of a step's last micro-batch (the
          others only add to the local gradients: `no_sync`).
    fsdp  PyTorch's fully_shard (FSDP2): each block's parameters, gradients and
          optimizer state are split over the ranks and gathered only while that
          block runs, for models that do not fit one device. AdamW only: Muon
          orthogonalises whole matrices, which no rank holds.

Only rank 0 writes checkpoints, metrics and logs. A checkpoint holds whole tensors
in the single-process format (`llm_core.checkpoint`), so a run saved by N ranks
resumes with any other number, or loads in one process.
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass
from typing import Any, Mapping

import torch
import torch.distributed as dist

IGNORE_INDEX = -100  # the loss's ignore_index (llm_core.model)
STRATEGIES = ("ddp", "fsdp")


class DistributedError(ValueError):
    """A distributed run that cannot start, or cannot go on, as configured (the message says which setting)."""


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the run: torchrun's RANK, WORLD_SIZE, LOCAL_RANK."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


ONE_PROCESS = Ranks()


def from_env(env: Mapping[str, str] = os.environ) -> Ranks:
    """The ranks torchrun set; one process (rank 0 of 1) when it did not."""
    values = {}
    for key, default in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)):
        raw = env.get(key, "")
        try:
            values[key] = int(raw) if raw.strip() else default
        except ValueError:
            raise DistributedError(f"environment variable {key}: expected an integer, got {raw!r}") from None
    ranks = Ranks(values["RANK"], values["WORLD_SIZE"], values["LOCAL_RANK"])
    if ranks.world_size < 1 or not 0 <= ranks.rank < ranks.world_size:
        raise DistributedError(f"environment: RANK={ranks.rank} is not in [0, WORLD_SIZE={ranks.world_size})")
    return ranks


def start(ranks: Ranks, device: torch.device, timeout_s: float = 1800) -> tuple[torch.device, bool]:
    """Join the process group (NCCL on CUDA, gloo elsewhere). Returns this rank's
    device (cuda:LOCAL_RANK on GPUs) and whether this call opened the group, so the
    caller closes only what it opened."""
    if not ranks.active:
        return device, False
    if device.type == "cuda":
        device = torch.device("cuda", ranks.local_rank)
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return device, False
    backend = "nccl" if device.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    except (RuntimeError, ValueError) as err:
        raise DistributedError(f"rank {ranks.rank} of {ranks.world_size} could not join the {backend} group: {err}") from None
    return device, True


def stop(opened: bool) -> None:
    if opened and dist.is_initialized():
        dist.destroy_process_group()


def check(ranks: Ranks, strategy: str, batch_size: int, optimizer: str) -> None:
    """Refuse, before any work, a run whose settings cannot split over the ranks."""
    if strategy not in STRATEGIES:
        raise DistributedError(f"train.parallel: expected one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if not ranks.active:
        return
    if batch_size % ranks.world_size:
        raise DistributedError(f"train.batch_size: {batch_size} rows do not split over {ranks.world_size} ranks; "
                               f"use a multiple of {ranks.world_size} (the global batch is the same for any number of ranks)")
    if strategy == "fsdp" and optimizer == "muon":
        raise DistributedError("train.optimizer: muon needs whole matrices, which fsdp splits over the ranks; "
                               "use adamw with train.parallel: fsdp, or parallel: ddp")


def wrap(model: torch.nn.Module, ranks: Ranks, strategy: str, device: torch.device) -> torch.nn.Module:
    """The module the training step calls: the model itself in one process, DDP
    around it, or the model sharded in place (each block, then the rest) by FSDP."""
    if not ranks.active:
        return model
    if strategy == "fsdp":
        from torch.distributed.fsdp import fully_shard

        for block in model.model.layers:
            fully_shard(block)
        fully_shard(model)
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def my_rows(batch: tuple[torch.Tensor, ...], ranks: Ranks) -> tuple[tuple[torch.Tensor, ...], float | None]:
    """This rank's rows of a whole micro-batch (inputs, targets[, segments]) and the
    factor N / n that turns its summed loss into loss_r (module docstring); None in
    one process, where the model's mean loss is used as it is."""
    if not ranks.active:
        return batch, None
    rows = batch[0].shape[0]
    if rows % ranks.world_size:
        raise DistributedError(f"a micro-batch of {rows} rows does not split over {ranks.world_size} ranks")
    share = rows // ranks.world_size
    lo = ranks.rank * share
    targets = int((batch[1] != IGNORE_INDEX).sum())
    return tuple(t[lo : lo + share] for t in batch), ranks.world_size / max(1, targets)


def grad_sync(module: torch.nn.Module, last_micro: bool):
    """Gradients are exchanged only on a step's last micro-batch."""
    if isinstance(module, torch.nn.parallel.DistributedDataParallel):
        return contextlib.nullcontext() if last_micro else module.no_sync()
    if hasattr(module, "set_requires_gradient_sync"):  # fully_shard's module
        module.set_requires_gradient_sync(last_micro)
    return contextlib.nullcontext()


def mean(value: torch.Tensor, ranks: Ranks) -> torch.Tensor:
    """The average of a scalar over the ranks (gloo has no AVG: sum, then divide)."""
    if not ranks.active:
        return value
    out = value.detach().clone().float()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / ranks.world_size


def barrier(ranks: Ranks) -> None:
    if ranks.active:
        dist.barrier()


def is_sharded(module: torch.nn.Module) -> bool:
    return hasattr(module, "set_requires_gradient_sync") and not isinstance(
        module, torch.nn.parallel.DistributedDataParallel)


def full_state(model: torch.nn.Module, optimizer: Any) -> tuple[dict | None, dict | None]:
    """Whole tensors of a sharded model and its optimizer, on rank 0 (empty
    elsewhere), in the single-process layout: the optimizer's state keyed by
    parameter index as torch's state_dict is. (None, None) for a model that is not
    sharded: its own state_dicts are already whole."""
    if not is_sharded(model):
        return None, None
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                         get_optimizer_state_dict)

    opts = StateDictOptions(full_state_dict=True, cpu_offload=True)
    weights = get_model_state_dict(model, options=opts)
    by_name = get_optimizer_state_dict(model, optimizer, options=opts)
    if not by_name:
        return weights, {}
    index = {name: i for i, name in enumerate(n for g in by_name["param_groups"] for n in g["params"])}
    return weights, {"state": {index[n]: s for n, s in by_name["state"].items()},
                     "param_groups": [{**g, "params": [index[n] for n in g["params"]]} for g in by_name["param_groups"]]}


def load_optimizer(model: torch.nn.Module, optimizer: Any, state: dict) -> None:
    """Load a single-process optimizer state_dict (keyed by parameter index) into
    the optimizer of a model, sharded or not."""
    if not is_sharded(model):
        optimizer.load_state_dict(state)
        return
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

    names = {id(p): n for n, p in model.named_parameters()}
    order = [names[id(p)] for g in optimizer.param_groups for p in g["params"]]
    by_name = {"state": {order[i]: s for i, s in state["state"].items()},
               "param_groups": [{**g, "params": [order[i] for i in g["params"]]} for g in state["param_groups"]]}
    set_optimizer_state_dict(model, optimizer, by_name, options=StateDictOptions(full_state_dict=True))
