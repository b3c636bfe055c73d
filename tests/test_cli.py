"""The `forja` command line: in-process through `main([...])`, and as a user runs it
(a real process, real stdin/stdout) where signals and pipes matter."""
import io
import json
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from llm_core import cli
from llm_core.checkpoint import save_checkpoint
from llm_core.cli import main
from llm_core.config import ModelConfig
from llm_core.model import Transformer
from llm_core.tokenizer import train_tokenizer

CONTEXT = 64


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    tok = train_tokenizer(["Hola, ¿qué tal? Muy bien, gracias.\n", "Hello there, how are you? Fine.\n"] * 40,
                          root / "tok", vocab_size=300)
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=CONTEXT))
    return save_checkpoint(root / "ck", model, state={"step": 0}, tokenizer_path=tok.path)


def _stdin(monkeypatch, data: bytes, tty: bool = False):
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    if tty:
        stream.isatty = lambda: True
    monkeypatch.setattr(sys, "stdin", stream)


def _forja(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "llm_core.cli", *args], input=stdin, capture_output=True, check=False,
                          text=True, timeout=120)


def _gen(ckpt, *extra):
    return ["generate", "--model", str(ckpt), "--max-new-tokens", "8", "--seed", "3", *extra]


# --------------------------------------------------------------------------- as a user runs it


def test_generate_streams_a_continuation(ckpt):
    a = _forja(*_gen(ckpt, "--prompt", "Hola"))
    b = _forja(*_gen(ckpt, "--prompt", "Hola"))
    assert a.returncode == 0, a.stderr
    assert a.stdout.endswith("\n") and len(a.stdout) > 1 and not a.stdout.startswith("Hola")
    assert a.stderr.endswith("Hola")  # the prompt is echoed on stderr, before the continuation
    assert a.stdout == b.stdout  # a seed makes it reproducible


def test_chat_answers_each_line_until_exit(ckpt):
    out = _forja("chat", "--model", str(ckpt), "--max-new-tokens", "6", "--seed", "0",
                 stdin="Hola\nHow are you?\n/exit\nnever read\n")
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("> ") == 2  # two replies, then /exit
    assert "> " not in out.stdout and "forja chat" not in out.stdout  # chrome on stderr only


def test_export_writes_a_hf_folder(ckpt, tmp_path):
    out = _forja("export", "--model", str(ckpt), "--out", str(tmp_path / "hf"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "hf" / "config.json").exists() and (tmp_path / "hf" / "tokenizer.model").exists()
    assert "chat_template" in (tmp_path / "hf" / "tokenizer_config.json").read_text()
    assert (tmp_path / "hf" / "README.md").exists()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    out = _forja("generate", "--model", str(tmp_path / "nope"), "--prompt", "x")
    assert out.returncode == 1 and "nope" in out.stderr and "Traceback" not in out.stderr


def test_closed_stdout_exits_quietly(ckpt):
    # `forja generate ... | head -c 10`, with the reader gone before the first write.
    proc = subprocess.Popen([sys.executable, "-m", "llm_core.cli", *_gen(ckpt, "--prompt", "Hola")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err


def test_ctrl_c_exits_130_without_a_traceback(ckpt):
    # A job started in the background by a shell inherits SIGINT ignored, and Python
    # then keeps it ignored: give the child the default, as a terminal would.
    proc = subprocess.Popen([sys.executable, "-m", "llm_core.cli", "chat", "--model", str(ckpt)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        while "forja chat:" not in (line := proc.stderr.readline()):  # the banner: it now waits on stdin
            assert line, "chat exited before it read stdin"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


# --------------------------------------------------------------------------- conventions, in-process


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("forja ")


def test_version_without_installed_metadata(monkeypatch, capsys):
    import importlib.metadata as md

    def missing(name):
        raise md.PackageNotFoundError(name)

    monkeypatch.setattr(md, "version", missing)
    assert main(["--version"]) == 0
    assert "unknown" in capsys.readouterr().out


def test_every_option_has_help():
    subs = cli.parser()._subparsers._group_actions[0].choices
    for name, sub in subs.items():
        for action in sub._actions:
            assert action.help, f"forja {name} {action.option_strings}"


@pytest.mark.parametrize("option,value", [
    ("--temperature", "nan"), ("--temperature", "-0.5"), ("--temperature", "inf"), ("--top-p", "0"),
    ("--top-p", "1.5"), ("--max-new-tokens", "-1"), ("--max-new-tokens", "0"), ("--top-k", "-1"),
])
def test_bad_option_values_are_refused_by_name(ckpt, capsys, option, value):
    assert main(_gen(ckpt, "--prompt", "Hola", option, value)) == 2
    err = capsys.readouterr().err
    assert f"argument {option}: expected" in err and repr(value) in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["generate", "chat"])
def test_max_new_tokens_beyond_the_context_fails_at_startup(ckpt, capsys, monkeypatch, command):
    _stdin(monkeypatch, b"Hola\n")
    assert main([command, "--model", str(ckpt), "--prompt" if command == "generate" else "--system", "Hola",
                 "--max-new-tokens", "300"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "forja chat: write" not in err  # before any message was read
    assert f"--max-new-tokens 300 does not fit this model's context of {CONTEXT} tokens" in err
    assert sys.stdin.read() == "Hola\n"


def test_only_generated_text_goes_to_stdout(ckpt, capsys, monkeypatch):
    assert main(_gen(ckpt, "--prompt", "Hola")) == 0
    out, err = capsys.readouterr()
    assert "loaded" in err and "loaded" not in out and err.endswith("Hola")
    _stdin(monkeypatch, b"Hola\n")
    assert main(["chat", "--model", str(ckpt), "--max-new-tokens", "4"]) == 0
    out, err = capsys.readouterr()
    assert "forja chat: write" in err and "> " in err and "> " not in out and "loaded" not in out


@pytest.mark.parametrize("how", [["--prompt", "-"], []])
def test_prompt_from_stdin(ckpt, capsys, monkeypatch, how):
    assert main(_gen(ckpt, "--prompt", "Hola")) == 0
    expected = capsys.readouterr().out
    _stdin(monkeypatch, b"Hola\n")
    assert main(_gen(ckpt, *how)) == 0
    assert capsys.readouterr().out == expected  # echo's newline is not part of the prompt


def test_no_prompt_on_a_terminal_is_a_usage_error(ckpt, capsys, monkeypatch):
    _stdin(monkeypatch, b"", tty=True)
    assert main(_gen(ckpt)) == 2
    assert "--prompt" in capsys.readouterr().err


def test_prompt_that_is_not_utf8_is_one_sentence(ckpt, capsys, monkeypatch):
    _stdin(monkeypatch, b"Hola \xff\xfe")
    assert main(_gen(ckpt, "--prompt", "-")) == 1
    err = capsys.readouterr().err
    assert "not valid UTF-8 (byte 0xff at offset 5)" in err and err.count("\n") == 1


def test_chat_line_that_is_not_utf8_is_one_sentence(ckpt, capsys, monkeypatch):
    _stdin(monkeypatch, b"Hola \xff\n")
    assert main(["chat", "--model", str(ckpt), "--max-new-tokens", "4"]) == 1
    assert "stdin is not valid UTF-8" in capsys.readouterr().err


def test_device_option(ckpt, capsys):
    assert main(_gen(ckpt, "--prompt", "Hola", "--device", "cpu")) == 0
    assert "on cpu" in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(_gen(ckpt, "--prompt", "Hola", "--device", "cuda")) == 1
        assert "CUDA is not available" in capsys.readouterr().err


def test_ctrl_c_in_process_is_quiet(ckpt, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load", interrupted)
    assert main(_gen(ckpt, "--prompt", "Hola")) == 130
    assert capsys.readouterr().err == ""


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage", [
    lambda ck: _truncate(ck / "model.safetensors"),  # a save killed half way, by something else than forja
    lambda ck: (ck / "model.safetensors").unlink(),
    lambda ck: (ck / "forja_config.json").write_text('{"format": "forja-checkpoint", "model": {'),
    lambda ck: (ck / "forja_config.json").unlink(),
    lambda ck: (ck / "tokenizer.model").unlink(),
    lambda ck: (ck / "tokenizer.model").write_bytes(b"not a sentencepiece model"),
], ids=["truncated-weights", "no-weights", "bad-json", "no-config", "no-tokenizer", "bad-tokenizer"])
def test_damaged_checkpoint_is_one_sentence_naming_the_folder(ckpt, tmp_path, capsys, damage):
    folder = shutil.copytree(ckpt, tmp_path / "ck")
    damage(folder)
    assert main(_gen(folder, "--prompt", "Hola")) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(folder) in err and "re-run the stage" in err and "delete the folder" in err


def test_old_checkpoint_folder_still_loads(ckpt, tmp_path, capsys):
    folder = shutil.copytree(ckpt, tmp_path / "ck")
    (folder / "forja_config.json").rename(folder / "config.json")  # written before the rename
    assert json.loads((folder / "config.json").read_text())["format"] == "forja-checkpoint"
    assert main(_gen(folder, "--prompt", "Hola")) == 0
