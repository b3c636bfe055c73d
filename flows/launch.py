"""How a training stage starts: the `cmd` of pretrain and finetune in dvc.yaml.

    python -m flows.launch pretrain

runs `python -m flows.pretrain` when params.yaml's `pretrain.launch` asks for one
process on one machine, and otherwise the same module under torchrun (one process
per GPU, one or more machines; llm_core.params.launch). On several machines, run
this same command on each one, in the same project folder.
"""
from __future__ import annotations

import os
import sys

from .common import describe, stage_params

STAGES = ("pretrain", "finetune")


def command(stage: str) -> list[str]:
    launch = stage_params(stage).launch
    return launch.command(sys.executable, f"flows.{stage}", run_id=f"forja-{stage}")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in STAGES:
        print(f"usage: python -m flows.launch {{{','.join(STAGES)}}}", file=sys.stderr)
        sys.exit(2)
    stage = args[0]
    try:
        cmd = command(stage)
    except Exception as err:  # a bad param: the one sentence the stage itself would print
        print(f"forja {stage} failed: {describe(err)}", file=sys.stderr)
        sys.exit(1)
    if len(cmd) > 3:  # torchrun: say so, it starts several processes
        print(f"forja {stage}: python {' '.join(cmd[1:])}", flush=True)
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
