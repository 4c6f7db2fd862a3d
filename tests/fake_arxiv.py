"""A fake arXiv on loopback for tests: serves scripted (mostly recorded) responses, injects faults.

Each route answers requests whose path and query parameters match; a route with ``times`` answers
that many requests and then gives way to the next matching route, so a test can script "503 with
Retry-After, then the page". Every request is recorded for assertions (headers, timing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Route:
    path: str
    params: dict[str, str] = field(default_factory=dict)  # must match exactly (subset of query)
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "text/xml; charset=utf-8"}
    )
    times: int | None = None  # None: answers forever
    drop: bool = False  # close the connection without answering
    delay_s: float = 0.0  # wait before answering (real time: for concurrency tests)
    before: Callable[[], None] | None = None  # run as the request arrives (e.g. kill the client)

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return (
            path == self.path
            and all(query.get(k) == v for k, v in self.params.items())
            and (self.times is None or self.times > 0)
        )


@dataclass
class Seen:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    started: float = 0.0  # time.monotonic() as it arrived
    ended: float = 0.0  # ... and once answered


class FakeArxiv:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Seen] = []
        self.in_flight = 0
        self.most_in_flight = 0  # requests being answered at the same moment, at most
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                split = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
                seen, route = fake._take(split.path, query, dict(self.headers.items()))
                try:
                    self._respond(route)
                finally:
                    fake._done(seen)

            def _respond(self, route: Route | None) -> None:
                if route is not None and route.before is not None:
                    route.before()
                if route is not None and route.delay_s:
                    time.sleep(route.delay_s)
                if route is None:
                    self._answer(
                        404,
                        b"no fake route for " + self.path.encode(),
                        {"Content-Type": "text/plain"},
                    )
                elif route.drop:
                    self.close_connection = True
                    self.connection.close()
                else:
                    self._answer(route.status, route.body, route.headers)

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _take(
        self, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[Seen, Route | None]:
        with self._lock:
            seen = Seen(path, query, headers, started=time.monotonic())
            self.requests.append(seen)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            for route in self.routes:
                if route.matches(path, query):
                    if route.times is not None:
                        route.times -= 1
                    return seen, route
        return seen, None

    def _done(self, seen: Seen) -> None:
        with self._lock:
            self.in_flight -= 1
            seen.ended = time.monotonic()

    def add(self, path: str, body: bytes = b"", **options: object) -> Route:
        route = Route(path, body=body, **options)  # type: ignore[arg-type]
        self.routes.append(route)
        return route

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def fake_arxiv() -> Iterator[FakeArxiv]:
    fake = FakeArxiv()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
