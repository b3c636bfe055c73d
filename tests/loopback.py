"""A threaded HTTP server on a free loopback port, for the tests of URL sources."""
from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler], **state) -> Iterator[http.server.ThreadingHTTPServer]:
    """The server, with `hits` (path -> requests), `base` (its URL) and `state` as attributes."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads, srv.hits = True, {}
    for name, value in state.items():
        setattr(srv, name, value)
    srv.base = f"http://127.0.0.1:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
