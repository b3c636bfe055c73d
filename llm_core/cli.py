"""`forja`: generate, chat, export and serve from a terminal.

    forja generate --model models/base --prompt "En el principio" --temperature 0.8
    echo "En el principio" | forja generate
    forja chat --model models/chat
    forja export --model models/chat --out models/chat-hf
    forja serve --model models/chat --port 8000     # OpenAI-compatible, on 127.0.0.1
    forja models

Tokens are printed as they are made (streaming), like the dashboard shows them.
Only generated text goes to stdout; what was loaded, the prompt and the chat's
chrome go to stderr, so `forja generate ... > out.txt` holds the model's words
only, while a terminal shows prompt and continuation together.

Exit status: 0 done, 1 a runtime error (a damaged checkpoint, unreadable input),
2 a usage error (a bad option), 130 interrupted (Ctrl-C), 141 stdout closed
early (`forja generate ... | head`), as for a process that SIGPIPE ended.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from .config import ConfigError

if TYPE_CHECKING:  # torch and friends load in the commands, so --help and --version are instant
    from .config import SampleConfig
    from .textstream import TextStream
    from .tokenizer import Tokenizer

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 1, 2, 130, 141
DEFAULT_NEW_TOKENS = 120
MIN_PROMPT_ROOM = 8  # context tokens --max-new-tokens must leave for the prompt (a chat turn needs ~5 control tokens)


class UsageError(Exception):
    """An option that cannot work with this input or model (exit 2)."""


# --------------------------------------------------------------------------- output


def _out(text: str) -> None:
    """Generated text: stdout, flushed so it streams."""
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


def _note(text: str, end: str = "\n") -> None:
    """Everything else: stderr."""
    sys.stderr.write(text + end)
    sys.stderr.flush()


def _print_stream(tok: Tokenizer, steps: Iterable, reply: bool = False) -> TextStream:
    from .textstream import TextStream

    text = TextStream(tok, reply=reply)
    for step in steps:
        if step.is_stop:
            break
        _out(text.push(step.token_id))
    _out(text.flush())
    return text


# --------------------------------------------------------------------------- inputs


def _load(path: str, device: str = "cpu"):
    """Model (in eval mode, on `device`) and tokenizer; a damaged folder is one CheckpointError."""
    from .checkpoint import CheckpointError, load_model
    from .tokenizer import Tokenizer

    dev = _device(device)  # outside the try: an unavailable device is not a damaged checkpoint
    try:
        model, ckpt = load_model(path, device=dev)
        if ckpt.tokenizer_path is None:
            raise CheckpointError(f"{ckpt.path}: no tokenizer.model in this checkpoint")
        tok = Tokenizer.load(ckpt.tokenizer_path)
    except ValueError as err:  # CheckpointError, or a tokenizer.model sentencepiece cannot read
        raise CheckpointError(_what_to_do(path, err)) from None
    _note(f"forja: loaded {path} ({model.num_params() / 1e6:.2f}M parameters, "
          f"{model.cfg.max_seq_len}-token context, on {dev})")
    return model.eval(), tok


def _what_to_do(path: str, err: Exception) -> str:
    if not Path(path).is_dir():
        return f"{err}; train one first (`dvc repro`) or pass --model a checkpoint folder"
    return (f"{err}; the checkpoint in {path} is damaged or incomplete: re-run the stage that wrote it "
            "(`dvc repro`) or delete the folder")


def _device(name: str):
    import torch

    from .device import pick_device

    dev = pick_device(name)
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device: 'mps' was asked for but MPS is not available on this machine")
    return dev


def _utf8(text: str, what: str) -> str:
    """Python turns undecodable argv/stdin bytes into lone surrogates; refuse them here,
    not as an encoding traceback deep in the tokenizer."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid UTF-8 text; convert it first (e.g. with iconv)") from None
    return text


def _prompt(args: argparse.Namespace) -> str:
    if args.prompt not in (None, "-"):
        return _utf8(args.prompt, "--prompt")
    if sys.stdin is None or (args.prompt is None and sys.stdin.isatty()):
        raise UsageError("give --prompt TEXT, or pipe the prompt on stdin (--prompt - reads it from there too)")
    data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"the prompt read from stdin is not valid UTF-8 (byte {data[err.start]:#04x} at offset "
                         f"{err.start}); convert it first (e.g. with iconv)") from None
    return text.removesuffix("\n")  # the one `echo` adds


def _sample_cfg(args: argparse.Namespace, model) -> SampleConfig:
    """Sampling settings; --max-new-tokens is checked against the model's context at startup."""
    from .config import SampleConfig

    ctx, n = model.cfg.max_seq_len, args.max_new_tokens
    if n is None:
        n = max(1, min(DEFAULT_NEW_TOKENS, ctx // 2))
    elif n > ctx - MIN_PROMPT_ROOM:
        raise UsageError(f"--max-new-tokens {n} does not fit this model's context of {ctx} tokens: "
                         f"use at most {max(ctx - MIN_PROMPT_ROOM, 0)}, so the prompt keeps {MIN_PROMPT_ROOM}")
    return SampleConfig(max_new_tokens=n, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                        seed=args.seed)


# --------------------------------------------------------------------------- commands


def cmd_generate(args: argparse.Namespace) -> int:
    from .sample import stream

    prompt = _prompt(args)  # before loading: a usage error should not wait for the model
    model, tok = _load(args.model, args.device)
    cfg = _sample_cfg(args, model)
    _note(prompt, end="")  # a terminal shows prompt + continuation; a pipe gets the continuation only
    _print_stream(tok, stream(model, tok.encode(prompt, bos=True), cfg, stop_ids=[tok.eos_id, tok.bos_id]))
    _out("\n")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .conversation import fit_history
    from .sample import stream

    if sys.stdin is None:
        raise UsageError("chat reads one message per line from stdin, which is closed")
    system = _utf8(args.system, "--system") if args.system else None
    model, tok = _load(args.model, args.device)
    cfg = _sample_cfg(args, model)
    history = [{"role": "system", "content": system}] if system else []
    _note("forja chat: write a message; an empty line or /exit ends. / escribe; una línea vacía o /exit termina.")
    for line in sys.stdin:
        text = _utf8(line.rstrip("\n"), "a line read from stdin")
        if text.strip() in ("", "/exit"):
            break
        history.append({"role": "user", "content": text})
        fit = fit_history(tok, history, model.cfg.max_seq_len, cfg.max_new_tokens)  # the latest turns that fit
        if fit.dropped:
            _note(f"forja chat: the conversation outgrew the {fit.window}-token context; the model no longer sees "
                  f"the oldest {len(fit.dropped)} message(s), starting {fit.dropped[0]['content'][:40]!r}")
        _note("> ", end="")
        reply = _print_stream(tok, stream(model, fit.ids, cfg, stop_ids=[tok.end_of_turn_id, tok.eos_id]), reply=True)
        _out("\n")
        history.append({"role": "assistant", "content": reply.text})
    return 0


def _port_free(host: str, port: int) -> None:
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as err:
        raise UsageError(f"cannot listen on {host}:{port} ({err.strerror or err}); choose another with --port "
                         "or stop what uses it") from None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .serve import create_app

    _port_free(args.host, args.port)  # before loading: a busy port should not wait for the model
    model, tok = _load(args.model, args.device)
    name = args.name or Path(args.model).resolve().name
    url = f"http://{args.host if ':' not in args.host else '[' + args.host + ']'}:{args.port}/v1"
    _note(f"forja serve: {url} (model id {name!r}; OpenAI-compatible: /v1/models, /v1/chat/completions); "
          "Ctrl-C stops it")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _note(f"forja serve: listening on {args.host}: anyone who can reach this machine can use the model")
    uvicorn.run(create_app(model, tok, name), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .catalog import find_models

    entries = find_models(args.root)
    if not entries:
        _note(f"forja models: no checkpoints under {args.root}/models or {args.root}/data/cache; "
              "train one first (`make run`)")
        return 0
    for e in entries:
        size = f"{e.parameters / 1e6:.2f}M params, {e.context}-token context" if e.parameters else "-"
        _out(f"{e.kind:5}  {str(e.path):45}  {e.name}  ({size})" + (f"  UNUSABLE: {e.problem}" if e.problem else "") + "\n")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import torch

    from .chat import CHAT_TEMPLATE_JINJA
    from .export import export_hf

    model, tok = _load(args.model)
    out = export_hf(model, tok, args.out, chat_template=CHAT_TEMPLATE_JINJA, dtype=getattr(torch, args.dtype))
    _note(f"forja: wrote {out}")
    return 0


# --------------------------------------------------------------------------- arguments


def _int_at_least(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
        return n
    return parse


def _float_in(low: float, high: float, expected: str, low_open: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            x = float(text)
        except ValueError:
            x = math.nan  # float() accepts "nan" and "inf" too: all three fail the check below
        if not (math.isfinite(x) and (x > low if low_open else x >= low) and x <= high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return x
    return parse


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("forja")
    except PackageNotFoundError:  # a source tree that was never `pip install`ed
        return "unknown (not installed)"


def _add_run_options(s: argparse.ArgumentParser, default_model: str) -> None:
    s.add_argument("--model", default=default_model, help="checkpoint folder (default: %(default)s)")
    s.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run; auto picks CUDA, then MPS, then CPU (default: %(default)s)")
    s.add_argument("--max-new-tokens", type=_int_at_least(1), default=None,
                   help=f"most tokens to generate (default: {DEFAULT_NEW_TOKENS}, or half the model's context "
                        f"if smaller); must leave {MIN_PROMPT_ROOM} tokens of the context for the prompt")
    s.add_argument("--temperature", type=_float_in(0, math.inf, "a finite number >= 0"), default=0.8,
                   help="randomness; 0 always takes the most likely token (default: %(default)s)")
    s.add_argument("--top-k", type=_int_at_least(0), default=40,
                   help="sample among the k most likely tokens only; 0 = no cut (default: %(default)s)")
    s.add_argument("--top-p", type=_float_in(0, 1, "a number in (0, 1]", low_open=True), default=1.0,
                   help="sample among the most likely tokens whose probabilities add up to p; "
                        "1 = no cut (default: %(default)s)")
    s.add_argument("--seed", type=int, default=None,
                   help="random seed: same seed, model and prompt give the same text (default: a new one each run)")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="forja", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n")[-1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    g = sub.add_parser("generate", help="continue a prompt (default model: models/base)")
    g.add_argument("--prompt", default=None,
                   help="the text to continue; '-', or no --prompt with stdin not a terminal, reads it from stdin")
    _add_run_options(g, "models/base")
    g.set_defaults(fn=cmd_generate)
    c = sub.add_parser("chat", help="talk with a model, one message per line of stdin (default model: models/chat)")
    c.add_argument("--system", default=None, help="an optional system message, before the conversation")
    _add_run_options(c, "models/chat")
    c.set_defaults(fn=cmd_chat)
    e = sub.add_parser("export", help="write a Hugging Face folder (with the chat template)")
    e.add_argument("--model", default="models/chat", help="checkpoint folder (default: %(default)s)")
    e.add_argument("--out", default="models/chat-hf", help="folder to write, replaced whole (default: %(default)s)")
    e.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                   help="dtype of the stored weights (default: %(default)s)")
    e.set_defaults(fn=cmd_export)
    v = sub.add_parser("serve", help="an OpenAI-compatible HTTP endpoint for a chat model (default: models/chat)")
    v.add_argument("--model", default="models/chat", help="checkpoint folder (default: %(default)s)")
    v.add_argument("--name", default=None, help="the model id callers use (default: the folder's name)")
    v.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine only)")
    v.add_argument("--port", type=_int_at_least(1), default=8000, help="TCP port (default: %(default)s)")
    v.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"],
                   help="where to run; auto picks CUDA, then MPS, then CPU (default: %(default)s)")
    v.set_defaults(fn=cmd_serve)
    m = sub.add_parser("models", help="list the checkpoints of this project (published ones and every training run)")
    m.add_argument("--root", default=".", help="project folder (default: the current one)")
    m.set_defaults(fn=cmd_models)
    return p


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (never raises for user errors)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error argparse has already printed
        return done.code if isinstance(done.code, int) else 0
    try:
        code = args.fn(args)
        sys.stdout.flush()  # a closed pipe shows up here, not in the interpreter's exit
        return code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _detach_stdout()
        return EXIT_BROKEN_PIPE
    except (UsageError, ConfigError) as err:
        return _fail(args.command, err, EXIT_USAGE)
    except UnicodeDecodeError as err:  # chat's stdin
        return _fail(args.command, f"stdin is not valid UTF-8 text ({err.reason}); convert it first (e.g. with iconv)",
                     EXIT_ERROR)
    except (ValueError, OSError) as err:  # CheckpointError is a ValueError; OSError: files we could not read or write
        return _fail(args.command, err, EXIT_ERROR)


def _fail(command: str, err: object, code: int) -> int:
    _note(f"forja {command}: {err}")
    return code


def _detach_stdout() -> None:
    """The reader went away (`| head`). As Python's docs advise (signal module, "Note on
    SIGPIPE"), point stdout at devnull so the interpreter's final flush fails quietly."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (captured in tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
