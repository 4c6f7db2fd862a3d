"""A polite HTTP client for arXiv: paced requests, one at a time, Retry-After, bounded backoff.

arXiv's terms: no more than one request every 3 seconds and a single connection, from all your
machines together. The client paces itself and, through ``before_request``, lets the caller pace
across processes (the database lease in :mod:`dailypapers.db.locks`). On 503 / 429 it waits as long
as ``Retry-After`` says; on other server errors, timeouts and dropped connections it backs off
exponentially with jitter; after ``max_retries`` retries it raises :class:`ArxivUnavailable`.
Time comes from an injected :class:`Clock`, so tests run the real waiting logic instantly.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Protocol

import httpx

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_S = 600.0  # a server asking for longer than this is treated as down


class Clock(Protocol):
    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ArxivUnavailable(Exception):
    """arXiv did not give a usable answer after the allowed retries (one clear sentence)."""


class TooLarge(Exception):
    """An answer larger than the caller accepts: refused from its ``Content-Length``, or cut off
    the moment the bytes read pass the limit (so memory never holds more than limit + a chunk)."""


@dataclass(frozen=True, slots=True)
class Download:
    status: int
    content_type: str
    body: bytes


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


@dataclass
class PoliteClient:
    user_agent: str
    delay_s: float = 3.0
    max_retries: int = 5
    timeout_s: float = 60.0
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.BaseTransport | None = None
    before_request: Callable[[], None] | None = None  # cross-process pacing, lease renewal
    rng: random.Random = field(default_factory=random.Random)
    _last_request: float | None = None
    _http: httpx.Client | None = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                headers={"User-Agent": self.user_agent},
                timeout=self.timeout_s,
                transport=self.transport,
                limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                follow_redirects=True,
            )
        return self._http

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _pace(self) -> None:
        if self.before_request is not None:
            self.before_request()
        if self._last_request is not None:
            self.clock.sleep(self._last_request + self.delay_s - self.clock.now())
        self._last_request = self.clock.now()

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter, never shorter than the pacing delay."""
        return float(max(self.delay_s, 1.0) * 2**attempt * (1 + self.rng.random()))

    def get(self, url: str, params: Mapping[str, str | int] | None = None) -> httpx.Response:
        """GET with pacing and retries; returns any response below 500 except 429."""
        return self._retrying(url, lambda: self._client().get(url, params=params))

    def download(self, url: str, *, max_bytes: int) -> Download:
        """GET a file as a stream, paced and retried like :meth:`get`, refusing more than
        ``max_bytes`` (:class:`TooLarge`: from ``Content-Length`` before reading, else as soon
        as the count passes it). A 4xx answer comes back with its status and no body."""

        def fetch() -> httpx.Response:
            with self._client().stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    return response
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise TooLarge(f"{int(declared):,} bytes announced, over {max_bytes:,}")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"more than {max_bytes:,} bytes sent")
                    chunks.append(chunk)
                kept = {"Content-Type": response.headers.get("Content-Type", "")}
                return httpx.Response(response.status_code, headers=kept, content=b"".join(chunks))

        response = self._retrying(url, fetch)
        body = response.content if response.status_code < 400 else b""
        return Download(response.status_code, response.headers.get("Content-Type", ""), body)

    def _retrying(self, url: str, request: Callable[[], httpx.Response]) -> httpx.Response:
        problem = "no attempt made"
        for attempt in range(self.max_retries + 1):
            self._pace()
            try:
                response = request()
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                wait = self._backoff(attempt)
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                problem = f"HTTP {response.status_code}"
                asked = retry_after_seconds(response.headers.get("Retry-After"), self.clock.now())
                if asked is not None and asked > MAX_RETRY_AFTER_S:
                    raise ArxivUnavailable(
                        f"arXiv asked us to come back in {asked:.0f} s ({url}); try again later"
                    )
                wait = asked if asked is not None else self._backoff(attempt)
            if attempt == self.max_retries:
                break
            log.warning("arXiv request failed (%s); retrying in %.1f s", problem, wait)
            self.clock.sleep(wait)
        raise ArxivUnavailable(
            f"arXiv did not answer after {self.max_retries + 1} tries ({problem}) for {url}"
        )
