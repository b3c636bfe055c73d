"""Downloads for URL sources: a file arrives whole, within a deadline, or not at all.

`fetch_url` fetches an http(s) URL once into a cache folder and returns the cached
file. Only a complete body is renamed into the cache (checked against its
Content-Length), so a download that broke off is never reused; a network error, a
5xx answer or a short body is retried with a growing pause, a 4xx answer is not
(asking again gives the same answer); the whole download, every try included, has
a deadline, so a server that trickles bytes cannot hold the pipeline; a redirect is
followed only to http(s). Errors are `DownloadError`s that name the URL.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from ..atomic import atomic_open


class DownloadError(ValueError):
    """A URL could not be downloaded; the message names it and says why."""


RETRY_BACKOFF_S = 0.5  # the pause before the second try; it doubles each try, up to 8 s


def default_deadline(timeout: float) -> float:
    """The whole download's time limit when none is given: ten times the per-read
    timeout, and at least a minute (5 min for the default 30 s timeout)."""
    return max(60.0, 10 * timeout)


class _Incomplete(OSError):
    """The body ended before its Content-Length: retried like a dropped connection."""


@dataclass(frozen=True)
class _Deadline:
    """The time one fetch_url call has left, over all its tries."""

    seconds: float
    stop_at: float

    @classmethod
    def start(cls, seconds: float) -> _Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def left(self) -> float:
        return self.stop_at - time.monotonic()

    def check(self, url: str, received: int) -> None:
        if self.left() <= 0:
            raise DownloadError(f"{url}: not downloaded within the {self.seconds:g} s deadline "
                              f"({received:,} bytes had arrived); the server is too slow or stalled")


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to http(s). urllib's own handler follows one to ftp://
    and turns one to file:// into an HTTPError that would be retried."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                fp.close()
                raise DownloadError(f"{req.full_url}: redirected to {target}; only http:// and https:// are followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def fetch_url(url: str, cache_dir: Path, timeout: float = 30.0, max_bytes: int = 200 * 2**20, retries: int = 3,
              deadline: float | None = None, refresh: int = 0) -> Path:
    """Download `url` once into `cache_dir` and return the cached file.

    http/https only, redirects included; at most `max_bytes`; each read waits at most
    `timeout` seconds and the whole download, every try included, at most `deadline`
    (default: `default_deadline(timeout)`). A network error, a 5xx answer or a body
    shorter than its Content-Length is retried; a 4xx answer is not. Only a complete
    body is renamed into the cache, so a failed download is never reused."""
    if not re.match(r"^https?://", url, re.I):
        raise DownloadError(f"{url}: only http:// and https:// URLs are allowed")
    target = cache_dir / _cache_name(url, refresh)
    if target.exists():
        return target
    clock = _Deadline.start(default_deadline(timeout) if deadline is None else deadline)
    failure, offline = "", False
    for attempt in range(retries):
        if attempt:
            time.sleep(max(0.0, min(8.0, RETRY_BACKOFF_S * 2 ** (attempt - 1), clock.left())))
        try:
            _download(url, target, timeout, max_bytes, clock)
            return target
        except urllib.error.HTTPError as err:
            err.close()
            if err.code < 500:  # the request itself is wrong: asking again gives the same answer
                raise DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason}; "
                                  f"check the URL (a client error is not retried)") from None
            failure, offline = f"the server answered HTTP {err.code} {err.reason}", False
        except urllib.error.URLError as err:  # no connection: DNS, refused, unreachable, TLS
            failure, offline = f"could not connect ({err.reason})", _looks_offline(err.reason)
        except (OSError, http.client.HTTPException) as err:  # connected, then the answer broke off
            failure, offline = _broken_off(err, timeout), False
    hint = f" Are you offline? Once downloaded, the file is kept in {cache_dir} and reused." if offline else ""
    raise DownloadError(f"{url}: could not download after {retries} tries; the last one: {failure}.{hint}")


def _broken_off(err: Exception, timeout: float) -> str:
    if isinstance(err, _Incomplete):
        return str(err)
    if isinstance(err, TimeoutError):
        return f"no data arrived for {timeout:g} s"
    return f"the connection broke mid-download ({type(err).__name__}: {err})"


def _looks_offline(reason: object) -> bool:
    """What no network looks like: a name that does not resolve, a connection refused,
    unreachable or timed out (not a TLS certificate problem, which is the server's)."""
    return (isinstance(reason, (socket.gaierror, ConnectionError, TimeoutError))
            or getattr(reason, "errno", None) in (errno.ENETUNREACH, errno.EHOSTUNREACH))


def _cache_name(url: str, refresh: int) -> str:
    """A hash of the URL (and of `refresh` once bumped), keeping the URL's suffix,
    which says the format."""
    key = f"{url}\nrefresh={refresh}" if refresh else url
    return hashlib.sha256(key.encode()).hexdigest()[:16] + Path(url.split("?")[0]).suffix.lower()


def _download(url: str, target: Path, timeout: float, max_bytes: int, clock: _Deadline) -> None:
    """One try. atomic_open writes beside `target` and renames only when the block
    ends without an exception, so a short, oversized or late body leaves nothing."""
    clock.check(url, 0)
    req = urllib.request.Request(url, headers={"User-Agent": "forja-collect"})
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    with opener.open(req, timeout=max(0.01, min(timeout, clock.left()))) as resp:
        expected = resp.length  # Content-Length; None when absent or chunked
        if expected is not None and expected > max_bytes:
            raise DownloadError(f"{url}: {expected:,} bytes, over the {max_bytes:,}-byte limit")
        with atomic_open(target, "wb") as out:
            received = 0
            # read1 returns what one socket read brings, so a trickling server cannot
            # hold a read past the deadline (read(n) waits until it has n bytes)
            while chunk := resp.read1(1 << 16):
                received += len(chunk)
                if received > max_bytes:
                    raise DownloadError(f"{url}: larger than the {max_bytes:,}-byte limit")
                clock.check(url, received)
                out.write(chunk)
            if expected is not None and received < expected:
                raise _Incomplete(f"the connection closed after {received:,} of the {expected:,} bytes "
                                  f"its Content-Length announced")
