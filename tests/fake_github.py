"""A fake GitHub REST API on loopback: ``GET /repos/{owner}/{repo}`` answered from a table of
repositories, with ETags, renames (301 to the new name), gone repositories, a rate limit that
runs out, and malformed answers. Every request is recorded (path and If-None-Match)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FakeGithub:
    repos: dict[str, int] = field(default_factory=dict)  # "owner/name" -> stars
    renamed: dict[str, str] = field(default_factory=dict)  # old lower name -> new name
    gone: set[str] = field(default_factory=set)
    broken: dict[str, bytes] = field(default_factory=dict)  # lower name -> raw 200 body
    remaining: int = 1000  # requests left before the rate limit
    reset_in_s: int = 600
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""

    def etag(self, name: str) -> str:
        return f'W/"{name.lower()}-{self.repos[name]}"'


def _handler(fake: FakeGithub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            match = self.headers.get("If-None-Match")
            fake.requests.append((self.path, match))
            limits = {
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Reset": str(int(time.time()) + fake.reset_in_s),
            }
            name = self.path.removeprefix("/repos/")
            lower = name.lower()
            if fake.remaining <= 0:
                body = b'{"message": "API rate limit exceeded"}'
                return self._send(403, body, limits | {"X-RateLimit-Remaining": "0"})
            fake.remaining -= 1
            limits["X-RateLimit-Remaining"] = str(fake.remaining)
            if lower in fake.renamed:
                target = f"{fake.url}/repos/{fake.renamed[lower]}"
                return self._send(
                    301, b'{"message": "Moved Permanently"}', limits | {"Location": target}
                )
            if lower in fake.gone:
                return self._send(404, b'{"message": "Not Found"}', limits)
            if lower in fake.broken:
                return self._send(200, fake.broken[lower], limits)
            real = next((n for n in fake.repos if n.lower() == lower), None)
            if real is None:
                return self._send(404, b'{"message": "Not Found"}', limits)
            etag = fake.etag(real)
            if match == etag:
                return self._send(304, b"", limits | {"ETag": etag})
            body = json.dumps({"full_name": real, "stargazers_count": fake.repos[real]}).encode()
            return self._send(200, body, limits | {"ETag": etag})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


@contextmanager
def fake_github(fake: FakeGithub | None = None) -> Iterator[FakeGithub]:
    fake = fake or FakeGithub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
