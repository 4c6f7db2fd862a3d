"""HTTP itself (issue 15): body limits, security headers, HEAD, the favicon, compression (and
the page cache's compressed pages), the offline API docs."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import socket
import struct
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import brotli
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import Message, Receive, Scope, Send

from dailypapers.config import Settings
from dailypapers.web.app import create_app
from dailypapers.web.security import MB, BodyLimit
from dailypapers.web.transport import GzipPieces, accepted
from tests.helpers import add_papers, dailypapers_server, free_port, record

T = TypeVar("T")
PAPERS = [record(f"2506.{i:05d}", "2025-06-20", title=f"Paper number {i}") for i in range(1, 25)]
PAGES = ["/", "/papers/date/2025-06-20", "/papers/week/2025-W25", "/papers/trending"]
PAGES += ["/papers/2506.00001", "/search?q=paper", "/login", "/digest/subscribe"]
OTHER = ["/api/daily_papers", "/feeds/daily.atom", "/static/style.css", "/static/htmx.min.js"]
OTHER += ["/papers/2506.00001.md", "/openapi.json", "/docs", "/favicon.ico"]


@pytest.fixture
def papers(engine: Engine) -> None:
    add_papers(engine, *PAPERS)


# --- request bodies -----------------------------------------------------------------------------


def test_bodies_over_1_mb_are_413_with_one_sentence(client: TestClient) -> None:
    big = b'{"email": "' + b"a" * (MB + 10) + b'@example.org"}'
    api = client.post(
        "/api/subscriptions", content=big, headers={"Content-Type": "application/json"}
    )
    assert api.status_code == 413
    assert api.json() == {"error": "the request body is larger than 1 MB, the most accepted here"}
    client.get("/login")
    form = client.post("/login", data={"email": "x" * (MB + 10), "csrf_token": "x"})
    assert form.status_code == 413 and "larger than 1 MB" in form.text and "<html" in form.text
    small = client.post("/api/subscriptions", json={"email": "not an address"})
    assert small.status_code == 400  # under the limit: read and answered as before


async def _run_limited(
    limits: dict[str, int], path: str, chunks: int, chunk: int, declared: int | None = None
) -> tuple[int, int, bytes]:
    """A body of ``chunks`` x ``chunk`` bytes streamed to an app that reads it all, behind
    BodyLimit; (status, chunks the client had to send, body of the answer)."""
    sent = 0

    async def receive() -> Message:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": b"x" * chunk, "more_body": sent < chunks}

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    answer: list[Message] = []

    async def send(message: Message) -> None:
        answer.append(message)

    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    await BodyLimit(reader, limits)(scope, receive, send)
    status = next(m["status"] for m in answer if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
    return status, sent, body


def _in_a_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end in a thread of its own (Playwright's tests, earlier in the same
    session, leave an event loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_streamed_bodies_are_cut_off_at_the_limit_and_routes_may_allow_more() -> None:
    limits = {"/": MB, "/api/library/import": 20 * MB}
    chunk = 64 * 1024
    # 300 MB in chunks, no Content-Length: refused after ~1 MB, the rest never read
    status, sent, body = _in_a_thread(_run_limited(limits, "/api/x", 300 * 16, chunk))
    assert status == 413 and sent == MB // chunk + 1 and b"larger than 1 MB" in body
    # a declared length over the limit: refused before reading a byte
    status, sent, _ = _in_a_thread(_run_limited(limits, "/api/x", 5, chunk, declared=300 * MB))
    assert status == 413 and sent == 0
    # a larger limit for one prefix (the longest matching prefix wins)
    status, _, body = _in_a_thread(_run_limited(limits, "/api/library/import", 80, chunk))
    assert status == 200 and body == b"read it all"  # 5 MB
    status, _, body = _in_a_thread(_run_limited(limits, "/api/library/import", 400, chunk))
    assert status == 413 and b"larger than 20 MB" in body


@pytest.mark.server
def test_a_real_server_refuses_a_300_mb_body_without_reading_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["DAILYPAPERS_JOBS_IN_WEB"] = "false"
    args = ["serve", "--data-dir", str(tmp_path)]
    with dailypapers_server(args, port=port, env=env, log=tmp_path / "log"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            start = time.monotonic()
            sock.sendall(
                b"POST /api/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 300000000\r\n\r\n{"
            )
            received = b""
            while chunk := sock.recv(65536):  # the server closes the connection after it
                received += chunk
            assert time.monotonic() - start < 5
    answer = received.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413 "), answer[:200]
    assert '{"error":"the request body is larger than 1 MB, the most accepted here"}' in answer


# --- headers ------------------------------------------------------------------------------------


def test_every_answer_carries_the_security_headers(client: TestClient, papers: None) -> None:
    for path in [*PAGES, *OTHER, "/nowhere", "/papers/date/9999-99-99"]:
        answer = client.get(path)
        policy = answer.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert "'unsafe-inline'" not in directives["script-src"], path
        assert directives["frame-ancestors"] == "'none'", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin", path
        assert "strict-transport-security" not in answer.headers  # plain http
    # a page with a secret in its URL keeps its stricter policy
    confirm = client.get("/login/confirm?token=abc")
    assert confirm.headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: TestClient, papers: None) -> None:
    """What the CSP forbids must not be in the pages: inline scripts, event handler attributes,
    javascript: URLs, style attributes or <style> elements."""
    for path in PAGES:
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\ssrc=)", html), path
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert "javascript:" not in html and not re.search(r"\sstyle\s*=|<style", html), path


def test_no_template_has_inline_script_or_style() -> None:
    """Every page template, rendered in a test or not, keeps to the CSP (the digest mails'
    templates are mail, with inline CSS, and never served with this policy)."""
    folder = Path(__file__).parents[1] / "src/dailypapers/web/templates"
    for template in sorted(folder.glob("*.html")):
        text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # Jinja comments
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), template.name
        assert not re.search(r"\son[a-z]+\s*=", text), template.name
        assert "javascript:" not in text and not re.search(r"\sstyle\s*=|<style", text), (
            template.name
        )


def test_hsts_under_https(settings: Settings, engine: Engine) -> None:
    settings.base_url = "https://papers.example.org"
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        for path in ("/", "/api/daily_papers", "/static/style.css"):
            assert client.get(path).headers["strict-transport-security"] == "max-age=31536000"


# --- HEAD, favicon ------------------------------------------------------------------------------


def test_head_answers_like_get_without_a_body(client: TestClient, papers: None) -> None:
    for path in [*PAGES, *OTHER, "/nowhere"]:
        for encoding in ("identity", "gzip", "br"):
            headers = {"Accept-Encoding": encoding}
            got, head = client.get(path, headers=headers), client.head(path, headers=headers)
            assert head.status_code == got.status_code, (path, head.status_code)
            assert head.content == b"", path
            for name in ("content-type", "content-length", "content-encoding", "vary"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)


def test_favicon_is_a_small_icon(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00" and len(icon.content) < 4096
    count = struct.unpack("<H", icon.content[4:6])[0]
    sizes = {icon.content[6 + 16 * i] for i in range(count)}
    assert sizes == {16, 32}
    assert "max-age" in icon.headers["cache-control"]


# --- compression --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", ["br", "gzip"]),
        ("gzip", ["gzip"]),
        ("br;q=0.5, gzip", ["gzip", "br"]),
        ("br;q=0, gzip;q=0", []),
        ("*", ["br", "gzip"]),
        ("identity", []),
        ("", []),
        ("gzip;q=nonsense, br", ["br"]),
    ],
)
def test_accept_encoding(header: str, expected: list[str]) -> None:
    assert accepted(header) == expected


def test_ranges_are_not_compressed(client: TestClient) -> None:
    """A part of a file (206) is sent as it is: compressing it would garble the range."""
    whole = client.get("/static/htmx.min.js", headers={"Accept-Encoding": "identity"}).content
    part = client.get(
        "/static/htmx.min.js", headers={"Accept-Encoding": "gzip, br", "Range": "bytes=0-1999"}
    )
    assert part.status_code == 206 and "content-encoding" not in part.headers
    assert part.content == whole[:2000]


def _decoded(answer: Any) -> bytes:
    raw = answer.read() if hasattr(answer, "read") else answer.content
    encoding = answer.headers.get("content-encoding")
    if encoding == "br":
        return bytes(brotli.decompress(raw))
    if encoding == "gzip":
        return gzip.decompress(raw)
    return bytes(raw)


def test_text_answers_are_compressed_as_the_client_asks(client: TestClient, papers: None) -> None:
    for path in [*PAGES, *OTHER]:
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        for encoding in ("br", "gzip"):
            with client.stream("GET", path, headers={"Accept-Encoding": encoding}) as answer:
                raw = b"".join(answer.iter_raw())
                kind = answer.headers["content-type"]
                if len(plain.content) < 1024 or kind.startswith("image/"):
                    assert "content-encoding" not in answer.headers, path
                    continue
                assert answer.headers["content-encoding"] == encoding, path
                assert "accept-encoding" in answer.headers["vary"].lower(), path
                assert answer.headers.get("content-length") == str(len(raw)), path
                assert len(raw) < len(plain.content) / 2, (path, len(raw), len(plain.content))
                unpacked = brotli.decompress(raw) if encoding == "br" else gzip.decompress(raw)
                assert unpacked == plain.content, path
        vary = plain.headers.get("vary", "").lower()
        assert "accept-encoding" in vary or len(plain.content) < 1024, path


def test_cached_pages_stay_cached_and_compressed_with_each_browsers_token(
    settings: Settings, engine: Engine, papers: None
) -> None:
    """The page cache keeps a page gzipped once; each browser still gets its own CSRF token
    inside it, and a brotli client gets brotli."""
    app = create_app(settings)
    with TestClient(app) as one, TestClient(app) as two:
        for browser in (one, two):
            browser.get("/login")
        first = one.get("/", headers={"Accept-Encoding": "gzip"})
        hits = [b.get("/", headers={"Accept-Encoding": "gzip"}) for b in (one, two)]
        assert first.headers["x-page-cache"] == "miss"
        for browser, hit in zip((one, two), hits, strict=True):
            assert hit.headers["x-page-cache"] == "hit"
            assert hit.headers["content-encoding"] == "gzip"
            token = browser.cookies["dp_csrf"]
            assert hit.text.count(token) == 3  # <body hx-headers>, the vote form, the footer
        assert one.cookies["dp_csrf"] != two.cookies["dp_csrf"]
        assert hits[0].text.replace(one.cookies["dp_csrf"], "T") == hits[1].text.replace(
            two.cookies["dp_csrf"], "T"
        )
        # a client that takes brotli only gets the kept page compressed for it
        br = one.get("/", headers={"Accept-Encoding": "br"})
        assert br.headers["x-page-cache"] == "hit" and br.headers["content-encoding"] == "br"
        assert br.text == hits[0].text
        # a JSON listing is kept gzipped only: as it is for gzip, unpacked for others
        listings = [
            one.get("/api/daily_papers", headers={"Accept-Encoding": e})
            for e in ("gzip", "gzip, br", "identity", "br")
        ]
        assert [a.headers["x-page-cache"] for a in listings] == ["miss", "hit", "hit", "hit"]
        assert [a.headers.get("content-encoding") for a in listings] == ["gzip", "gzip", None, "br"]
        assert all(a.json() == listings[0].json() for a in listings)
        assert len(listings[0].json()) == len(PAPERS)
        kept = app.state.page_cache.entries[b"/api/daily_papers?"]
        assert kept.body is None and kept.size < len(listings[2].content) / 3


@pytest.mark.parametrize("marker_at", ["start", "middle", "end", "nowhere", "everywhere"])
@pytest.mark.parametrize("token", [b"", b"t", b"a-much-longer-token.with-a-signature_0123456789"])
def test_gzip_pieces_join_into_one_valid_stream(marker_at: str, token: bytes) -> None:
    marker = b"csrf-placeholder"
    text = b"<p>some page text that repeats</p>\n" * 500
    body = {
        "start": marker + text,
        "middle": text + marker + text,
        "end": text + marker,
        "nowhere": text,
        "everywhere": marker + text + marker + marker + text + marker,
    }[marker_at]
    pieces = GzipPieces(body, marker)
    filled = body.replace(marker, token)
    packed = pieces.render(token, filled)
    assert gzip.decompress(packed) == filled
    assert len(packed) < len(body) / 10


def test_feed_page_weight(client: TestClient, papers: None) -> None:
    """What each card adds to a feed page stays small: 1,357 bytes a card before the card was
    written without indentation, with one vote form for the page and a shorter CSRF token
    (1,081 then, for these test papers; the sample's feed page went from 59.8 to 51.8 KB). Links
    to the authors' pages added ~95 bytes a card (1,177)."""
    one = len(client.get("/papers/date/2025-06-20?category=none").content)
    full = client.get("/papers/date/2025-06-20", headers={"Accept-Encoding": "identity"})
    per_card = (len(full.content) - one) / len(PAPERS)
    assert per_card < 1_225, per_card
    packed = client.get("/papers/date/2025-06-20", headers={"Accept-Encoding": "gzip"})
    assert int(packed.headers["content-length"]) < len(full.content) / 4


# --- the API docs, offline ----------------------------------------------------------------------


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_use_local_files_only(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    urls = re.findall(r'(?:src|href|spec-url|data-openapi-url)="([^"]+)"', html.text)
    assert urls, html.text
    for url in urls:
        assert not urlsplit(url).netloc and url.startswith("/"), url
        assert client.get(url).status_code == 200, url
    policy = html.headers["content-security-policy"]
    script_src = re.search(r"script-src ([^;]*)", policy)
    assert script_src and "'unsafe-inline'" not in script_src.group(1)
