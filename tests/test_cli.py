"""The `forja` command line, run as a user would: a real process, real stdin/stdout."""
import subprocess
import sys

import pytest
import torch

from llm_core.checkpoint import save_checkpoint
from llm_core.config import ModelConfig
from llm_core.model import Transformer
from llm_core.tokenizer import train_tokenizer


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    tok = train_tokenizer(["Hola, ¿qué tal? Muy bien, gracias.\n", "Hello there, how are you? Fine.\n"] * 40,
                          root / "tok", vocab_size=300)
    torch.manual_seed(0)
    model = Transformer(ModelConfig(vocab_size=tok.vocab_size, dim=32, n_layers=1, n_heads=2, max_seq_len=64))
    return save_checkpoint(root / "ck", model, state={"step": 0}, tokenizer_path=tok.path)


def _forja(*args, stdin=""):
    return subprocess.run([sys.executable, "-m", "llm_core.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_generate_streams_a_continuation(ckpt):
    a = _forja("generate", "--model", str(ckpt), "--prompt", "Hola", "--max-new-tokens", "8", "--seed", "3")
    b = _forja("generate", "--model", str(ckpt), "--prompt", "Hola", "--max-new-tokens", "8", "--seed", "3")
    assert a.returncode == 0, a.stderr
    assert a.stdout.startswith("Hola") and len(a.stdout) > len("Hola\n")
    assert a.stdout == b.stdout  # a seed makes it reproducible


def test_chat_answers_each_line_until_exit(ckpt):
    out = _forja("chat", "--model", str(ckpt), "--max-new-tokens", "6", "--seed", "0",
                 stdin="Hola\nHow are you?\n/exit\nnever read\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("> ") == 2  # two replies, then /exit


def test_export_writes_a_hf_folder(ckpt, tmp_path):
    out = _forja("export", "--model", str(ckpt), "--out", str(tmp_path / "hf"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "hf" / "config.json").exists() and (tmp_path / "hf" / "tokenizer.model").exists()
    assert "chat_template" in (tmp_path / "hf" / "tokenizer_config.json").read_text()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    out = _forja("generate", "--model", str(tmp_path / "nope"), "--prompt", "x")
    assert out.returncode == 2 and "nope" in out.stderr and "Traceback" not in out.stderr
