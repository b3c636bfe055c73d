"""Helpers for driving the dashboard in a real browser: a Streamlit server and Debian's chromium.

Used by tests/test_dashboard_browser.py and `python -m bench.dashboard --sessions`.

* The server is `streamlit run dashboard/app.py` on a free 127.0.0.1 port, started in its own
  process group (subprocess with list arguments, no shell) and stopped by that group's id, so
  nothing it spawned outlives it.
* The browser is /usr/bin/chromium through `playwright.sync_api` (never a downloaded browser),
  headless, with the flags that keep it off the network.
* Streamlit gives the container of every widget that has a `key=` the CSS class
  `st-key-<key>`: `key_css("pg_prompt")` is the selector of that widget.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOW_TO_GET_CHROMIUM = ("run `make browser` (as root it installs Debian's chromium: `apt-get install -y chromium`) "
                       "and `pip install -e '.[dev]'` for the playwright package")


def missing_browser() -> str | None:
    """Why the browser cannot be driven here (chromium or playwright missing), or None."""
    problems = []
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} is missing")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the playwright package is not installed")
    if not problems:
        return None
    return "REAL-BROWSER TEST NOT RUN: " + " and ".join(problems) + f"; {HOW_TO_GET_CHROMIUM}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def key_css(key: str) -> str:
    """CSS selector of the container Streamlit draws around the widget with `key=key`."""
    return f".st-key-{key}"


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""


def start_streamlit(project: Path, log: Path, port: int | None = None, env: dict[str, str] | None = None) -> Server:
    """`streamlit run dashboard/app.py` with cwd=`project` and FORJA_PROJECT=`project`, in its
    own process group, output to `log`. Call `wait_healthy`, and always `stop`."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP),
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    full_env = dict(os.environ, FORJA_PROJECT=str(project), PYTHONUNBUFFERED="1")
    full_env.update(env or {})
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=project, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(proc, port, log)


def wait_healthy(server: Server, timeout: float = 60.0) -> float:
    """Seconds until /_stcore/health answers "ok"; RuntimeError (with the log) if the server
    exits or does not answer within `timeout`."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if server.proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return time.perf_counter() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit did not answer {server.url}/_stcore/health within {timeout:.0f} s:\n"
                       f"{server.log_tail()}")


def stop(server: Server, grace: float = 10.0) -> None:
    """Stop the server's whole process group (SIGTERM, then SIGKILL after `grace` s)."""
    proc = server.proc
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=grace)
    # Children that ignored SIGTERM while the leader exited: the group id is the leader's pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def streamlit_server(project: Path, log: Path, timeout: float = 60.0,
                     env: dict[str, str] | None = None) -> Iterator[Server]:
    server = start_streamlit(project, log, env=env)
    try:
        wait_healthy(server, timeout)
        yield server
    finally:
        stop(server)


def launch_chromium(playwright):
    """Debian's chromium, headless, through Playwright (`playwright.sync_api.sync_playwright()`)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def wait_app_ready(page, timeout_ms: float = 30_000) -> None:
    """Wait until Streamlit has drawn the page and finished its script run (no "running" widget)."""
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=timeout_ms)
    wait_idle(page, timeout_ms)


def wait_idle(page, timeout_ms: float = 30_000) -> None:
    """Wait until the page script run has ended (Streamlit marks the app root while it runs)
    and every element is drawn (widgets show a grey skeleton for a moment after the run)."""
    page.wait_for_function("() => " + SCRIPT_STATE_JS + " === 'notRunning'"
                           " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms)


def script_state(page) -> str | None:
    """Streamlit's own marker on the app root: "running" while the page script runs, then "notRunning"."""
    return page.evaluate("() => " + SCRIPT_STATE_JS)


SCRIPT_STATE_JS = "document.querySelector('[data-testid=\"stApp\"]')?.getAttribute('data-test-script-state')"


def save_screenshot(page, folder: Path, name: str, also: Path | None = Path("/tmp/forja_screens")) -> Path:
    """A full-page PNG `folder/name.png`, copied to `also` for a person to look at.

    Streamlit scrolls inside its main section (on a chat page: the scroll-to-bottom container),
    not the document, so Playwright's full_page alone stops at the window: the viewport is
    stretched to the content's height for the shot."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(_CONTENT_HEIGHT_JS)
    try:
        if size and height > size["height"]:
            page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
            page.wait_for_timeout(300)  # let the layout settle
        page.screenshot(path=str(path), full_page=True)
    finally:
        if size:
            page.set_viewport_size(size)
    if also is not None:
        with contextlib.suppress(OSError):
            also.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, also / path.name)
    return path


_CONTENT_HEIGHT_JS = """() => Math.max(document.documentElement.clientHeight,
  ...['[data-testid="stMain"]', '[data-testid="stAppScrollToBottomContainer"]', '[data-testid="stSidebarContent"]']
    .map(sel => document.querySelector(sel)).filter(Boolean).map(e => e.scrollHeight))"""


_WATCH_JS = """([name, expr]) => {
  window.__forjaWatch = window.__forjaWatch || {};
  const log = window.__forjaWatch[name] = [];
  const measure = new Function('return (' + expr + ');');
  let last;
  const note = () => {
    let value;
    try { value = measure(); } catch (err) { value = null; }
    const key = JSON.stringify(value);
    if (key !== last) { last = key; log.push([performance.now(), value]); }
  };
  note();
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def watch(page, name: str, expr: str) -> None:
    """From now on, record (ms, value) each time the JavaScript expression `expr` changes value
    as the page changes (a MutationObserver); read the record with `watched(page, name)`."""
    page.evaluate(_WATCH_JS, [name, expr])


def watch_text(page, selector: str) -> None:
    """Record the length of the innerText of `selector` (-1 while it is absent) as it changes."""
    watch(page, selector, f"(document.querySelector({json.dumps(selector)}) || {{innerText: null}}).innerText"
                          "?.length ?? -1")


def watched(page, name: str) -> list[tuple[float, object]]:
    """What `watch` recorded under `name`: one (ms since the page loaded, value) per change."""
    return [tuple(x) for x in page.evaluate("(name) => (window.__forjaWatch || {})[name] || []", name)]


def growth_steps(log: list[tuple[float, int]]) -> int:
    """How many times a recorded length grew: a streamed text grows many times."""
    return sum(1 for (_, a), (_, b) in itertools.pairwise(log) if b > a >= 0)
