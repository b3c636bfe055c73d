"""A tiny pre-training run for the distributed tests: run it with python (one
process) or under `torchrun --nproc_per_node N` (N ranks, gloo); same arguments,
same global batch.

usage: python tests/train_ranks.py OUT_DIR '{"parallel": "ddp", "grad_accum": 2, ...}'
Keys of the JSON: any TrainConfig field, plus "stop_at" (exit at the checkpoint of
that step, as a crash would) and "threads".
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from llm_core.config import ModelConfig, TrainConfig  # noqa: E402
from llm_core.data.loader import TokenWindows  # noqa: E402
from llm_core.model import Transformer  # noqa: E402
from llm_core.train import train  # noqa: E402

TEXT = ("Había una vez un barco chiquitito que no sabía navegar. "
        "Row, row, row your boat gently down the stream. ") * 6


def main(out: str, options: dict) -> None:
    stop_at = options.pop("stop_at", None)
    torch.set_num_threads(options.pop("threads", 1))
    torch.manual_seed(0)
    ids = np.frombuffer(TEXT.encode(), dtype=np.uint8).astype(np.int64)
    model = Transformer(ModelConfig(vocab_size=256, dim=32, n_layers=2, n_heads=2, max_seq_len=32))
    cfg = TrainConfig(**{"max_steps": 12, "batch_size": 4, "seq_len": 32, "lr": 3e-3, "min_lr": 3e-4, "warmup_steps": 2,
                         "eval_interval": 6, "eval_batches": 2, "log_interval": 1, "checkpoint_interval": 6,
                         "device": "cpu", "precision": "fp32", **options})
    data = TokenWindows(ids[:-200], 32, cfg.batch_size, seed=7)
    val = TokenWindows(ids[-200:], 32, cfg.batch_size, eval_batches=2)

    def crash(event, info):
        if event == "checkpoint" and info["step"] == stop_at:
            sys.exit(3)

    train(model, cfg, data, val, out_dir=out, callbacks=[crash], progress=False)


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
