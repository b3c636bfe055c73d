"""Prefect flows, one per pipeline stage (`python -m flows.<stage>`)."""
import os
import urllib.request
from pathlib import Path

# Before Prefect is imported: route llm_core's and the stages' log lines through
# Prefect's handlers (console and the UI), and keep telemetry off (offline runs).
os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "llm_core,forja")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A stage without a running server starts a temporary one; on a busy 2-core machine that has
# taken longer than Prefect's 20 s default and failed the stage, so allow it 90 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")

RUNNING_FILE = Path(".prefect") / "api_url"  # written by `make prefect` (flows.server) while it runs


def _project(folder: Path) -> Path:
    """The project a stage runs for: `folder`, or, for a DVC experiment run in a copy
    (`dvc exp run --temp`, `dvc queue start`: <project>/.dvc/tmp/exps/...), the project."""
    parts = folder.resolve().parts
    for i in range(len(parts) - 3):
        if parts[i:i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i])
    return folder


def running_server(root: Path | None = None, timeout: float = 2.0) -> str | None:
    """The API URL of the server `make prefect` keeps running for the project in `root`
    (default: the current folder), or None when there is none or it does not answer."""
    try:
        url = (_project(root or Path.cwd()) / RUNNING_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        return None  # only a loopback server this project started
    try:
        with urllib.request.urlopen(url + "/health", timeout=timeout) as r:
            return url if r.status == 200 else None
    except OSError:
        return None


# The server `make prefect` keeps running, when there is one and no other was named: a plain
# `dvc repro` then reports every stage to it instead of starting a temporary server per stage.
if not os.environ.get("PREFECT_API_URL"):
    _running = running_server()
    if _running:
        os.environ["PREFECT_API_URL"] = _running
