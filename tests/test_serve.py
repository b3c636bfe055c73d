"""`forja serve` as a caller meets it: a real server process on a free 127.0.0.1 port, started
and stopped by process id, called with the official `openai` client and with raw HTTP for the
requests a client library would not send."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from browser import free_port
from dashboard_project import tiny_checkpoint, tiny_tokenizer

openai = pytest.importorskip("openai", reason="the openai client is a dev extra: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve")
    ckpt = tiny_checkpoint(root / "chat", tiny_tokenizer(root), "finetune", seed=1)
    port = free_port()
    log = open(root / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "llm_core.cli", "serve", "--model", str(ckpt), "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/v1/models", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"forja serve did not start:\n{(root / 'serve.log').read_text()}") from None
                time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()
    assert proc.poll() is not None


def client(url: str):
    return openai.OpenAI(base_url=url + "/v1", api_key="not-needed", max_retries=0, timeout=60)


def post(url: str, body: dict | bytes) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_models_lists_the_served_checkpoint(server):
    assert [m.id for m in client(server).models.list().data] == ["chat"]


def test_a_reply_with_usage_the_same_for_the_same_seed(server):
    ask = dict(model="chat", messages=[{"role": "user", "content": "Hola, ¿qué tal?"}], max_tokens=8, seed=3,
               temperature=0.8)
    first = client(server).chat.completions.create(**ask)
    choice = first.choices[0]
    assert choice.message.role == "assistant" and choice.finish_reason in ("stop", "length")
    assert 1 <= first.usage.completion_tokens <= 8 and first.usage.prompt_tokens > 3
    assert first.usage.total_tokens == first.usage.prompt_tokens + first.usage.completion_tokens
    again = client(server).chat.completions.create(**ask)
    assert again.choices[0].message.content == choice.message.content


def test_streaming_sends_the_same_text_in_pieces(server):
    ask = dict(model="chat", messages=[{"role": "system", "content": "Be brief."},
                                       {"role": "user", "content": "Hello"}], max_tokens=12, seed=5)
    whole = client(server).chat.completions.create(**ask).choices[0].message.content
    chunks = list(client(server).chat.completions.create(stream=True, **ask))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == whole and sum(1 for c in chunks if c.choices[0].delta.content) >= 2
    assert chunks[-1].choices[0].finish_reason in ("stop", "length")


@pytest.mark.parametrize("body, status, says", [
    ({"model": "chat", "messages": []}, 400, "messages"),
    ({"model": "chat", "messages": [{"role": "robot", "content": "hi"}]}, 400, "messages.0.role"),
    ({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]}, 404, "'gpt-4' is not served here"),
    ({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10_000}, 400, "max_tokens: at most"),
    ({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "n": 2}, 400, "n: forja serve makes one"),
    ({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "stop": ["\n"]}, 400, "stop sequences"),
    ({"model": "chat", "messages": [{"role": "user", "content": "x" * 20_000}]}, 400, "at most 16,000 characters"),
    ({"model": "chat", "messages": [{"role": "user", "content": "hi"}], "temperature": -1}, 400, "temperature"),
])
def test_bad_requests_get_a_4xx_that_names_the_field(server, body, status, says):
    code, answer = post(server, body)
    assert code == status and says in answer["error"]["message"], answer
    assert answer["error"]["type"] == "invalid_request_error"


def test_a_huge_or_broken_body_is_refused(server):
    code, answer = post(server, b"{" + b" " * 300_000 + b"}")
    assert code == 413 and "at most 262,144" in answer["error"]["message"]
    code, answer = post(server, b"{not json")
    assert code == 400 and answer["error"]["message"]


def test_the_client_sees_a_refusal_as_its_own_error(server):
    with pytest.raises(openai.NotFoundError, match="not served here"):
        client(server).chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])


def test_a_busy_port_is_a_usage_error_before_the_model_loads(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "llm_core.cli", "serve", "--model", str(tmp_path / "none"),
                               "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr and "loaded" not in done.stderr
