"""A tiny training run in its own process, for the kill-and-resume test.

usage: python tests/train_tiny.py OUT_DIR STEPS CHECKPOINT_INTERVAL STEP_DELAY_S [OPTIMIZER SCHEDULE]
"""
import sys
import time
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


def main(out: str, steps: int, ckpt_every: int, delay: float, optimizer: str = "adamw", schedule: str = "cosine") -> None:
    torch.set_num_threads(1)  # same thread count in every run: bitwise-equal sums
    torch.manual_seed(0)
    ids = np.frombuffer(TEXT.encode(), dtype=np.uint8).astype(np.int64)
    # dropout > 0 so the run depends on the RNG state the checkpoint must restore
    model = Transformer(ModelConfig(vocab_size=256, dim=32, n_layers=2, n_heads=2, max_seq_len=32, dropout=0.1))
    cfg = TrainConfig(max_steps=steps, batch_size=4, seq_len=32, lr=3e-3, min_lr=3e-4, warmup_steps=5,
                      eval_interval=10, eval_batches=2, log_interval=1, checkpoint_interval=ckpt_every, device="cpu",
                      optimizer=optimizer, schedule=schedule)
    data = TokenWindows(ids[:-200], 32, 4, seed=7)
    val = TokenWindows(ids[-200:], 32, 4, eval_batches=2)
    slow = (lambda event, info: time.sleep(delay)) if delay else (lambda *a: None)
    train(model, cfg, data, val, out_dir=out, callbacks=[slow], progress=False)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:7])
