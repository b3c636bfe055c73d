"""The local Prefect server: one kept running for the UI, or one for a single command.

    python -m flows.server --serve [--port 4200]   # `make prefect`: runs until Ctrl-C
    python -m flows.server dvc repro                # `make run`: a server for this command

Without a server, every stage would start a temporary one of its own (15-25 s
each); one server also keeps every stage's flow runs and artifacts in one place for
the Prefect UI. Which server a command uses, first found first:

1. PREFECT_API_URL, when set (an operator's own server);
2. the server `make prefect` keeps running: it writes its API URL to
   .prefect/api_url (RUNNING_FILE) while it is up and removes it when it stops;
   the URL is used only if that server answers /health, so a file left by a
   killed server is ignored. flows/__init__.py does the same before Prefect is
   imported, so a plain `dvc repro` (each stage `python -m flows.<stage>`) and the
   dashboard find it too;
3. otherwise `python -m flows.server CMD` starts a temporary one for CMD, and a
   stage run alone starts Prefect's own temporary server.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from flows import RUNNING_FILE, running_server


DEFAULT_PORT = 4200


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def prefect_server(home: Path = Path(".prefect"), timeout: float = 120.0, port: int | None = None) -> Iterator[str]:
    """Start `prefect server start` on 127.0.0.1 (at `port`, or a free one); yields its API URL."""
    port = port or free_port()
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


def serve(port: int, home: Path = Path(".prefect")) -> int:
    """`make prefect`: a server on 127.0.0.1:`port` until Ctrl-C, announced in RUNNING_FILE."""
    if running_server():
        print(f"forja: a Prefect server is already running for this project at {running_server()}", file=sys.stderr)
        return 1
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", port)) == 0:
            print(f"forja: port {port} is in use; choose another: make prefect PREFECT_PORT=4300", file=sys.stderr)
            return 1
    t0 = time.perf_counter()
    with prefect_server(home, port=port) as url:
        marker = RUNNING_FILE.resolve()
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(url + "\n", encoding="utf-8")
        tmp.replace(marker)  # whole or not at all: a reader never sees half a URL
        print(f"forja: Prefect UI at {url.removesuffix('/api')} (up in {time.perf_counter() - t0:.1f} s); "
              "`make run`, `dvc repro` and the dashboard use it while it runs. Ctrl-C stops it.", flush=True)
        try:
            signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            if marker.exists() and marker.read_text(encoding="utf-8").strip() == url:
                marker.unlink()
    print("forja: Prefect server stopped", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        rest = argv[1:]
        if rest[:1] == ["--port"] and len(rest) == 2 and rest[1].isdigit():
            return serve(int(rest[1]))
        if rest:
            print("usage: python -m flows.server --serve [--port N]", file=sys.stderr)
            return 2
        return serve(DEFAULT_PORT)
    if not argv:
        print("usage: python -m flows.server COMMAND [ARGS...] | --serve [--port N]", file=sys.stderr)
        return 2
    if os.environ.get("PREFECT_API_URL"):
        return subprocess.call(argv)
    url = running_server()
    if url:
        print(f"forja: using the running Prefect server at {url.removesuffix('/api')}", flush=True)
        return subprocess.call(argv, env={**os.environ, "PREFECT_API_URL": url})
    with prefect_server() as url:
        print(f"forja: Prefect server at {url.removesuffix('/api')} (stops when the command ends)", flush=True)
        return subprocess.call(argv, env={**os.environ, "PREFECT_API_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
