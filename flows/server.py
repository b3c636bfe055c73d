"""Run a command against a local Prefect server, started and stopped here.

    python -m flows.server dvc repro

Without a server, every stage would start a temporary one of its own (15-25 s
each); one server for the whole run also keeps every stage's flow runs and
artifacts in one place for the Prefect UI. If PREFECT_API_URL is already set
(an operator's server), the command simply runs against it.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(home: Path = Path(".prefect"), timeout: float = 120.0) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1 at a free port; yields its API URL."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home.resolve()), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    home.mkdir(parents=True, exist_ok=True)
    log = open(home / "server.log", "ab")
    proc = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(url, proc, timeout, home / "server.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Prefect server exited with code {proc.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"Prefect server not healthy after {timeout:.0f}s; see {log_path}")


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m flows.server COMMAND [ARGS...]", file=sys.stderr)
        return 2
    if os.environ.get("PREFECT_API_URL"):
        return subprocess.call(argv)
    with prefect_server() as url:
        print(f"forja: Prefect server at {url.removesuffix('/api')} (stops when the command ends)", flush=True)
        return subprocess.call(argv, env={**os.environ, "PREFECT_API_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
