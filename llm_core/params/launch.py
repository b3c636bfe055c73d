"""How a training stage's processes start (`pretrain.launch`, `finetune.launch`).

One process on one machine runs the stage as it is. More processes (one per GPU),
or more machines, run it under torchrun: every process trains its share of each
batch (llm_core.distributed) and rank 0 writes. With several machines each one
runs `python -m flows.launch <stage>` in the same project folder (a shared file
system); torchrun's c10d rendezvous at `rdzv_endpoint` (the first machine's
host:port) gathers them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import FieldError, check_limits


@dataclass(frozen=True)
class LaunchParams:
    nproc_per_node: int = 1  # processes on each machine: one per GPU
    nnodes: int = 1  # machines
    rdzv_endpoint: str = ""  # host:port of the first machine; needed when nnodes > 1

    LIMITS = {"nproc_per_node": "> 0", "nnodes": "> 0"}

    def __post_init__(self) -> None:
        check_limits(self)
        if self.nnodes > 1 and not re.fullmatch(r"[\w.\-\[\]:]+:\d+", self.rdzv_endpoint):
            raise FieldError("rdzv_endpoint", f"expected host:port of the first machine when nnodes is {self.nnodes}, "
                             f"got {self.rdzv_endpoint!r}")

    @property
    def distributed(self) -> bool:
        return self.nproc_per_node * self.nnodes > 1

    def command(self, python: str, module: str, run_id: str) -> list[str]:
        """The command that starts `python -m module` as this section asks
        (`python -m torch.distributed.run` is torchrun)."""
        if not self.distributed:
            return [python, "-m", module]
        if self.nnodes == 1:
            where = ["--standalone"]
        else:
            where = [f"--nnodes={self.nnodes}", "--rdzv-backend=c10d", f"--rdzv-endpoint={self.rdzv_endpoint}",
                     f"--rdzv-id={run_id}"]
        return [python, "-m", "torch.distributed.run", *where, f"--nproc-per-node={self.nproc_per_node}", "-m", module]
