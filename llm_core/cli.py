"""`forja`: generate, chat and export from a terminal.

    forja generate --model models/base --prompt "En el principio" --temperature 0.8
    forja chat --model models/chat
    forja export --model models/chat --out models/chat-hf

Tokens are printed as they are made (streaming), like the dashboard shows them.
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterable, TextIO

from .chat import decode_reply, encode_chat, truncate_left
from .checkpoint import CheckpointError, load_model
from .config import ConfigError, SampleConfig
from .sample import stream
from .tokenizer import Tokenizer


def _load(path: str):
    model, ckpt = load_model(path)
    if ckpt.tokenizer_path is None:
        raise CheckpointError(f"{path}: no tokenizer.model in this checkpoint")
    return model.eval(), Tokenizer.load(ckpt.tokenizer_path)


def _sample_cfg(args: argparse.Namespace) -> SampleConfig:
    return SampleConfig(max_new_tokens=args.max_new_tokens, temperature=args.temperature, top_k=args.top_k,
                        top_p=args.top_p, seed=args.seed)


def emit(tok: Tokenizer, steps: Iterable, out: TextIO, reply: bool = False) -> list[int]:
    """Print text as tokens arrive. A character split over byte-fallback tokens
    decodes to U+FFFD until its last byte comes, so it is held back until then.
    With `reply`, the tokens are an assistant turn: the template's leading space
    is not printed."""
    decode = (lambda ids: decode_reply(tok, ids)) if reply else tok.decode
    ids: list[int] = []
    shown = ""
    for step in steps:
        if step.is_stop:
            break
        ids.append(step.token_id)
        text = decode(ids)
        if not text.endswith("\ufffd"):
            out.write(text[len(shown):])
            out.flush()
            shown = text
    out.write(decode(ids)[len(shown):])
    return ids


def cmd_generate(args: argparse.Namespace) -> int:
    model, tok = _load(args.model)
    ids = tok.encode(args.prompt, bos=True)
    sys.stdout.write(args.prompt)
    emit(tok, stream(model, ids, _sample_cfg(args), stop_ids=[tok.eos_id, tok.bos_id]), sys.stdout)
    sys.stdout.write("\n")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    model, tok = _load(args.model)
    history = [{"role": "system", "content": args.system}] if args.system else []
    limit = model.cfg.max_seq_len - args.max_new_tokens
    print("forja chat: write a message; an empty line or /exit ends. / escribe; una línea vacía o /exit termina.",
          file=sys.stderr)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip() or text.strip() == "/exit":
            break
        history.append({"role": "user", "content": text})
        enc = encode_chat(tok, history, add_generation_prompt=True)
        ids, _, _ = truncate_left(enc.ids, enc.loss_mask, limit)  # keep the latest turns in the window
        sys.stdout.write("> ")
        reply = emit(tok, stream(model, ids, _sample_cfg(args), stop_ids=[tok.end_of_turn_id, tok.eos_id]), sys.stdout, reply=True)
        sys.stdout.write("\n")
        sys.stdout.flush()
        history.append({"role": "assistant", "content": decode_reply(tok, reply)})
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    from .chat import CHAT_TEMPLATE_JINJA
    from .export import export_hf

    model, ckpt = load_model(args.model)
    out = export_hf(model, ckpt.tokenizer_path, args.out, chat_template=CHAT_TEMPLATE_JINJA, dtype=getattr(torch, args.dtype))
    print(f"wrote {out}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="forja", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, default_model, fn in (("generate", "models/base", cmd_generate), ("chat", "models/chat", cmd_chat)):
        s = sub.add_parser(name, help=f"{name} with a checkpoint (default {default_model})")
        s.add_argument("--model", default=default_model, help="checkpoint folder")
        s.add_argument("--max-new-tokens", type=int, default=120)
        s.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
        s.add_argument("--top-k", type=int, default=40)
        s.add_argument("--top-p", type=float, default=1.0)
        s.add_argument("--seed", type=int, default=None)
        s.set_defaults(fn=fn)
    sub.choices["generate"].add_argument("--prompt", required=True)
    sub.choices["chat"].add_argument("--system", default=None, help="an optional system message")
    e = sub.add_parser("export", help="write a Hugging Face folder (with the chat template)")
    e.add_argument("--model", default="models/chat")
    e.add_argument("--out", default="models/chat-hf")
    e.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    e.set_defaults(fn=cmd_export)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.fn(args)
    except (CheckpointError, ConfigError, FileNotFoundError, ValueError) as err:
        print(f"forja {args.command}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
