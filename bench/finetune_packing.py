"""Fine-tuning throughput with and without packing, on the pipeline's own data.

Both arms train the base model (`models/base`) on the same task examples
(`data/finetune/tasks_train.jsonl`, written by the finetune stage) through
`llm_core.train.train_step`, with batches of 16 rows of 128 positions:
one example per row, right-padded, versus `ChatBatches(pack=True)`, which fills
each row with several examples kept apart by the attention mask. A step costs
about the same either way; what changes is how much of it is real data.

    python -m bench.finetune_packing            # after `make run`
    python -m bench.finetune_packing --quick

Reports examples/s and loss tokens/s per arm and the packed/unpacked ratio
(median of paired rounds).
"""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from llm_core.chat import encode_conversations
from llm_core.checkpoint import load_model
from llm_core.config import TrainConfig
from llm_core.data.chat_batches import ChatBatches
from llm_core.device import synchronize
from llm_core.tasks.items import as_messages, load_items
from llm_core.tokenizer import Tokenizer
from llm_core.train import build_optimizer, train_step

from . import common

NAME = "finetune_packing"
BASE, ITEMS = Path("models/base"), Path("data/finetune/tasks_train.jsonl")


def _examples(n: int, seq_len: int) -> list:
    if not (BASE / "model.safetensors").exists() or not ITEMS.exists():
        raise SystemExit(f"needs {BASE} and {ITEMS}: run the pipeline first (make run)")
    items = load_items(ITEMS)
    step = max(1, len(items) // n)  # every task, not the first one's items only
    tok = Tokenizer.load(BASE / "tokenizer.model")
    examples, _ = encode_conversations(tok, [as_messages(i) for i in items[::step][:n]], max_len=seq_len + 1)
    return examples


def _arm(model, data: ChatBatches, cfg: TrainConfig, device, steps: int, counter: dict):
    model = copy.deepcopy(model).to(device).train()
    opt = build_optimizer(model, cfg, device)
    state = {"step": 0}

    def run() -> None:
        for _ in range(steps):
            s = state["step"]
            train_step(model, opt, data, s, cfg, device, None)
            counter["examples"] += len(data.indices(s, 0))
            counter["loss_tokens"] += int((data.batch(s, 0)[1] != -100).sum())
            state["step"] += 1
    return run


def main() -> None:
    p = common.base_parser(__doc__.splitlines()[0], steps=10, repeats=4, warmup=0)
    p.add_argument("--examples", type=int, default=8000, help="task examples drawn from the finetune stage's")
    args = p.parse_args()
    if args.quick:
        args.steps, args.repeats, args.examples = 2, 2, 1000
    device = common.setup(args)
    seq_len, batch = 128, 16
    examples = _examples(args.examples, seq_len)
    model, _ = load_model(BASE)
    cfg = TrainConfig(max_steps=10**6, batch_size=batch, seq_len=seq_len, lr=1e-4, device=str(device))
    sources = {name: ChatBatches(examples, seq_len, batch, seed=0, pack=name == "packed")
               for name in ("unpacked", "packed")}
    counters = {name: {"examples": 0, "loss_tokens": 0} for name in sources}
    arms = {name: _arm(model, data, cfg, device, args.steps, counters[name]) for name, data in sources.items()}
    for run in arms.values():
        run()  # a warm-up round, not counted
    for c in counters.values():
        c.update(examples=0, loss_tokens=0)
    times = common.interleave(arms, args.repeats, lambda: synchronize(device))
    total = {n: sum(times[n]) for n in times}
    rows, out = [], {}
    for n in ("unpacked", "packed"):
        ex_s, tok_s = counters[n]["examples"] / total[n], counters[n]["loss_tokens"] / total[n]
        per_row = len(sources[n]) / sources[n].rows_in_epoch(0)
        out[n] = {"examples_per_s": ex_s, "loss_tokens_per_s": tok_s, "s_per_step": common.median(times[n]) / args.steps,
                  "examples_per_row": per_row}
        rows.append([n, f"{ex_s:,.0f}", f"{tok_s:,.0f}", f"{out[n]['s_per_step']:.3f}", f"{per_row:.2f}"])
    ratio = (counters["packed"]["examples"] / total["packed"]) / (counters["unpacked"]["examples"] / total["unpacked"])
    common.print_table(["batches", "examples/s", "loss tokens/s", "s/step", "examples/row"], rows,
                       title=f"fine-tuning {model.num_params() / 1e6:.2f}M params, {batch}x{seq_len} positions/step, "
                             f"{len(examples):,} task examples; packed/unpacked examples/s = {ratio:.2f}")
    common.write_results(NAME, device, {"machine": common.machine_info(device), "args": vars(args),
                                        "results": out, "packed_over_unpacked": ratio},
                         enabled=not args.no_save, quick=args.quick, tag=args.tag)


if __name__ == "__main__":
    main()
