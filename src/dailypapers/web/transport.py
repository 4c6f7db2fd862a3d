"""How answers travel: ``HEAD`` on every page, and compression.

- :class:`HeadAsGet`: a ``HEAD`` request is served as the ``GET`` it stands for (same status,
  same headers, ``Content-Length`` included) and the body is dropped. FastAPI routes declare
  ``GET`` only, so ``HEAD`` used to be a 405 everywhere.
- :class:`Compress`: text answers (HTML, CSS, JavaScript, JSON, Atom, Markdown) of
  :data:`MIN_SIZE` bytes or more are compressed with brotli or gzip, whichever the client's
  ``Accept-Encoding`` prefers (brotli on a tie), with ``Vary: Accept-Encoding``; streamed answers
  (static files) are compressed as they stream. An answer that already has a
  ``Content-Encoding`` passes untouched.
- :class:`GzipPieces`: the page cache keeps each page gzipped once, in pieces around the places
  where each browser's CSRF token goes; an answer is those pieces with the token's own small
  piece between them (raw deflate blocks ended by a full flush can be joined), so a cached page
  is compressed for every browser without compressing it again (see ``page_cache.py``).

Levels: brotli quality 4, gzip level 5. On the demo's 52 KB feed page (2 cores): brotli 0.36 ms
→ 10.1 KB, gzip 0.76 ms → 10.8 KB; a page-cache hit joins its kept gzip pieces in ~0.03 ms →
11.1 KB, which is why kept pages are packed once rather than on every answer.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_SIZE = 1024
GZIP_LEVEL = 5
BROTLI_QUALITY = 4
COMPRESSIBLE = (
    "text/html",
    "text/css",
    "text/plain",
    "text/markdown",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/atom+xml",
    "application/xml",
    "image/svg+xml",
)
ENCODINGS = ("br", "gzip")  # what this server writes, preferred first


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing to send
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def accepted(accept_encoding: str) -> list[str]:
    """The encodings of :data:`ENCODINGS` the client accepts, most preferred first."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[name.strip()] = quality
    star = weights.get("*", 0.0)
    ranked = [(weights.get(name, star), -rank, name) for rank, name in enumerate(ENCODINGS)]
    return [name for quality, _, name in sorted(ranked, reverse=True) if quality > 0]


def vary_on_encoding(headers: MutableHeaders) -> None:
    """``Vary: Accept-Encoding``, once (a cached page may already say it)."""
    current = [v.strip().lower() for v in headers.get("vary", "").split(",") if v.strip()]
    if "accept-encoding" not in current and "*" not in current:
        headers.add_vary_header("Accept-Encoding")


def compressible(headers: Headers) -> bool:
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in COMPRESSIBLE and "content-encoding" not in headers


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return _gzip_header() + _deflate(body, final=True) + _gzip_trailer(zlib.crc32(body), len(body))


def _compressor(encoding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    """(feed, finish) of a streaming compressor."""
    if encoding == "br":
        stream = brotli.Compressor(quality=BROTLI_QUALITY)
        return (lambda data: bytes(stream.process(data))), (lambda: bytes(stream.finish()))
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: with the gzip wrapper
    return deflate.compress, deflate.flush


def _weak(headers: MutableHeaders) -> None:
    """An ETag names one representation: the compressed one gets a weak tag."""
    etag = headers.get("etag")
    if etag and not etag.startswith("W/"):
        headers["etag"] = "W/" + etag


class Compress:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        choices = accepted(Headers(scope=scope).get("accept-encoding", ""))
        start: Message | None = None
        feed: Callable[[bytes], bytes] | None = None
        finish: Callable[[], bytes] | None = None

        async def compressing(message: Message) -> None:
            nonlocal start, feed, finish
            kind = message["type"]
            if kind == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                partial = message["status"] == 206 or "content-range" in headers
                if not compressible(headers) or partial or message["status"] in (204, 304):
                    await send(message)
                    return
                vary_on_encoding(MutableHeaders(scope=message))
                if not choices:
                    await send(message)
                    return
                start = message  # held until the body shows whether it is worth it
                return
            if start is None or kind != "http.response.body":
                if start is not None:  # e.g. a file sent by path: as it is
                    await send(start)
                    start = None
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if feed is None and finish is None:
                headers = MutableHeaders(scope=start)
                if more:  # streamed: its length, when declared, decides
                    length = headers.get("content-length", "")
                    small = length.isdigit() and int(length) < MIN_SIZE
                else:
                    small = len(body) < MIN_SIZE
                if small:
                    await send(start)
                    start = None
                    await send(message)
                    return
                headers["content-encoding"] = choices[0]
                _weak(headers)
                if not more:
                    packed = compress(body, choices[0])
                    headers["content-length"] = str(len(packed))
                    await send(start)
                    await send({"type": "http.response.body", "body": packed})
                    return
                del headers["content-length"]
                await send(start)
                feed, finish = _compressor(choices[0])
            assert feed is not None and finish is not None
            chunk = feed(body) + (b"" if more else finish())
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

        await self.app(scope, receive, compressing)


# --- a cached page, gzipped once ---------------------------------------------------------------


def _deflate(data: bytes, *, final: bool) -> bytes:
    """Raw deflate blocks of ``data``: the last ones of a stream, or ended by a full flush (byte
    aligned, no reference to anything before them), so such pieces can be joined."""
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -15)
    return deflate.compress(data) + deflate.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def _stored(data: bytes) -> bytes:
    """``data`` as one stored (uncompressed) deflate block, not the last: after a full flush the
    stream is byte aligned, so the block is a zero byte, LEN, its complement and the bytes. A
    token is random text that would not compress anyway, and this costs 0.2 µs where a new
    compressor costs ~75 µs."""
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


def _gzip_header() -> bytes:
    # magic, deflate, no flags, no time, no extra flags, unknown OS (RFC 1952)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def _gzip_trailer(crc: int, size: int) -> bytes:
    return struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


class GzipPieces:
    """``body`` gzipped once around each ``marker``; :meth:`render` puts a token in their place.

    A body without a marker is kept as one finished gzip stream (:attr:`whole`)."""

    def __init__(self, body: bytes, marker: bytes) -> None:
        segments = body.split(marker)
        last = len(segments) - 1
        self.pieces = [_deflate(s, final=i == last) for i, s in enumerate(segments)]
        self.whole: bytes | None = None
        if last == 0:  # nothing to put in: kept finished
            self.whole = (
                _gzip_header() + self.pieces[0] + _gzip_trailer(zlib.crc32(body), len(body))
            )
            self.pieces = []

    @property
    def nbytes(self) -> int:
        """Memory the compressed form takes (for the page cache's budget)."""
        return sum(len(piece) for piece in self.pieces) + len(self.whole or b"")

    def render(self, token: bytes, filled: bytes) -> bytes:
        """The gzip stream of ``filled``, the body with ``token`` in every marker's place (the
        caller has it already; its CRC and length go in the trailer). A body without a marker:
        its stream as kept."""
        if self.whole is not None:
            return self.whole
        between = _stored(token) if len(token) < 0x10000 else _deflate(token, final=False)
        out = [_gzip_header(), self.pieces[0]]
        for piece in self.pieces[1:]:
            out += [between, piece]
        out.append(_gzip_trailer(zlib.crc32(filled), len(filled)))
        return b"".join(out)
