"""Anonymous feed pages and listings, kept per process until the database changes.

A feed page costs ~10-15 ms of CPU to query and render; a kept copy costs well under one. What is
kept: the answers to anonymous ``GET`` requests for the feeds (``/``, a day, week or month,
trending) and ``/api/daily_papers``, by path and query string. Signed-in users (a session cookie),
a pending one-time message and htmx requests always get a fresh page.

When a copy is still right: every copy records the database's change counter
(:mod:`dailypapers.db.changes`: SQLite's ``PRAGMA data_version``, or on PostgreSQL a counter that
triggers bump in every write to the tables these pages show) from before its page was built, and
is used only while that number is unchanged. The number moves with every such commit, in this
process or any other (a vote, a comment, an import, another ``serve`` worker or host), so the first
request after any change builds the page afresh. A vote is committed before its answer is sent, so
whoever voted sees their vote in the next page they load.

Requests that miss at the same moment for the same page and data version share one build: the
first builds it, the others wait for its answer instead of each building it again (under load, a
vote invalidates the pages and the next reads arrive together; building the same page three times
at once made each of them three times slower).

Answers that could have been kept say so in an ``X-Page-Cache: hit``, ``shared`` or ``miss``
header.
The pages carry each browser's own CSRF token: a page is built with a placeholder in its place,
which is swapped for the asking browser's token on the way out (kept or not).

Kept pages are compressed once, when kept: gzip in pieces around the placeholders (the asker's
token goes between them, see ``transport.GzipPieces``); a JSON listing (no placeholder) is kept
gzipped only. A hit then costs a join and a CRC instead of compressing 50 KB again for each
browser (~0.05 ms instead of ~0.4-0.8 ms); clients that take gzip get it (brotli is for answers
built per request).
"""

from __future__ import annotations

import asyncio
import gzip
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass, replace

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.db.changes import ChangeCounter
from dailypapers.web.auth import SESSION_COOKIE
from dailypapers.web.flash import COOKIE as FLASH_COOKIE
from dailypapers.web.transport import (
    MIN_SIZE,
    GzipPieces,
    accepted,
    compressible,
    vary_on_encoding,
)

CACHED_PATHS = re.compile(
    r"/|/papers/(date|week|month)/[0-9W-]{4,10}|/papers/trending|/api/daily_papers"
)
# for benchmarks and curious eyes
HIT, SHARED, MISS = ((b"x-page-cache", value) for value in (b"hit", b"shared", b"miss"))


@dataclass(frozen=True, slots=True)
class Asker:
    """What an answer depends on besides the page: the browser's token, the encodings it takes."""

    token: bytes
    encodings: list[str]


@dataclass(frozen=True, slots=True)
class Entry:
    """A kept page. A page with CSRF placeholders keeps its body and its gzip pieces; a body
    without one (a JSON listing: the largest answers, 170 KB for 50 papers) keeps only its gzip
    form, a fifth of the size, unpacked for the rare client that takes no gzip."""

    version: int
    headers: list[tuple[bytes, bytes]]
    body: bytes | None  # with the CSRF placeholder where a token goes; None: only gzip kept
    gzip: GzipPieces | None = None  # the body gzipped once, around the placeholders
    route: object = None  # the route that built it: a kept answer is labelled by it (metrics)

    @classmethod
    def packed(
        cls, version: int, headers: list[tuple[bytes, bytes]], body: bytes, placeholder: bytes
    ) -> Entry:
        """The entry for a page being kept, compressed now (once, on the build that keeps it)."""
        if len(body) < MIN_SIZE or not compressible(Headers(raw=headers)):
            return cls(version, headers, body)
        pieces = GzipPieces(body, placeholder)
        return cls(version, headers, None if pieces.whole else body, pieces)

    @property
    def size(self) -> int:
        return len(self.body or b"") + (self.gzip.nbytes if self.gzip else 0)

    def answer(self, asker: Asker, placeholder: bytes) -> tuple[str | None, bytes]:
        """(content encoding, bytes) for ``asker``: gzip when it takes it, with its own token."""
        filled = self.body.replace(placeholder, asker.token) if self.body is not None else None
        if self.gzip is not None and "gzip" in asker.encodings:
            return "gzip", self.gzip.render(asker.token, filled or b"")
        if filled is None:
            assert self.gzip is not None and self.gzip.whole is not None
            return None, gzip.decompress(self.gzip.whole)
        return None, filled


class PageStore:
    """The kept pages of one process: an LRU within a byte budget, all of one data version."""

    def __init__(self, version: ChangeCounter, budget_bytes: int) -> None:
        self.version = version
        self.budget = budget_bytes
        self.entries: OrderedDict[bytes, Entry] = OrderedDict()
        self.entries_version: int | None = None
        self.size = 0
        self.hits = self.misses = 0

    def get(self, key: bytes, now: int) -> Entry | None:
        entry = self.entries.get(key)
        if entry is None or entry.version != now:
            self.misses += 1
            return None
        self.hits += 1
        self.entries.move_to_end(key)
        return entry

    def keep(self, key: bytes, entry: Entry) -> None:
        if entry.version != self.entries_version:  # the data moved on: the rest is stale
            self.entries.clear()
            self.size = 0
            self.entries_version = entry.version
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= old.size
        if entry.size > self.budget:
            return
        self.entries[key] = entry
        self.size += entry.size
        while self.size > self.budget:
            _key, evicted = self.entries.popitem(last=False)
            self.size -= evicted.size


class PageCache:
    """Pure ASGI middleware, inside the cookie middleware (which puts the CSRF token in state)."""

    def __init__(self, app: ASGIApp, store: PageStore) -> None:
        self.app = app
        self.store = store
        self.placeholder = f"csrf{secrets.token_hex(16)}"
        # pages being built now: (key, data version) -> the kept entry, or None when not kept
        self.building: dict[tuple[bytes, int], asyncio.Future[Entry | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        asker = Asker(
            str(state.get("csrf_token", "")).encode(),
            accepted(Headers(scope=scope).get("accept-encoding", "")),
        )
        key = scope["path"].encode() + b"?" + scope.get("query_string", b"")
        now = await self.store.version.read()
        if now is None:
            await self.app(scope, receive, send)
            return
        entry = self.store.get(key, now)
        if entry is not None:
            scope["route"] = entry.route
            await self._send(send, asker, HIT, entry=entry)
            return
        building = self.building.get((key, now))
        if building is not None:
            entry = await asyncio.shield(building)
            if entry is not None:
                scope["route"] = entry.route
                await self._send(send, asker, SHARED, entry=entry)
                return
        await self._build(scope, receive, send, key, now, asker)

    async def _build(
        self, scope: Scope, receive: Receive, send: Send, key: bytes, now: int, asker: Asker
    ) -> None:
        """Build the page (kept when it may be), sharing it with those who ask meanwhile."""
        done: asyncio.Future[Entry | None] = asyncio.get_running_loop().create_future()
        self.building.setdefault((key, now), done)
        entry = None
        try:
            scope["state"]["csrf_token"] = self.placeholder
            status, headers, body = await self._run(scope, receive)
            if status == 200 and self._keepable(headers):
                entry = Entry.packed(now, headers, body, self.placeholder.encode())
                entry = replace(entry, route=scope.get("route"))
                self.store.keep(key, entry)
        finally:  # those waiting get the page, or None (then they build it themselves)
            if self.building.get((key, now)) is done:
                del self.building[(key, now)]
            done.set_result(entry)
        if entry is not None:
            await self._send(send, asker, MISS, entry=entry)
        else:  # not kept: as the app made it (the compression middleware outside may pack it)
            await self._send(send, asker, MISS, status=status, headers=headers, body=body)

    @staticmethod
    def _cacheable(scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        if not CACHED_PATHS.fullmatch(scope["path"]):
            return False
        for name, value in scope["headers"]:
            if name == b"hx-request":
                return False
            if name == b"cookie" and (
                SESSION_COOKIE.encode() + b"=" in value or FLASH_COOKIE.encode() + b"=" in value
            ):
                return False
        return True

    @staticmethod
    def _keepable(headers: list[tuple[bytes, bytes]]) -> bool:
        for name, value in headers:
            if name == b"set-cookie" or (name == b"cache-control" and b"no-store" in value):
                return False
        return True

    async def _run(
        self, scope: Scope, receive: Receive
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The app's whole answer, collected (feed pages are small and never streamed)."""
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, collect)
        headers = [
            (name, value)
            for name, value in start.get("headers", [])
            if name.lower() != b"content-length"
        ]
        return int(start.get("status", 500)), headers, b"".join(chunks)

    async def _send(
        self,
        send: Send,
        asker: Asker,
        cache_header: tuple[bytes, bytes],
        *,
        entry: Entry | None = None,
        status: int = 200,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
    ) -> None:
        """The answer for ``asker``: the entry compressed as it accepts, or the raw body, with
        the asker's own CSRF token in place of the placeholder."""
        encoding = None
        if entry is not None:
            headers = entry.headers
            encoding, body = entry.answer(asker, self.placeholder.encode())
        else:
            body = body.replace(self.placeholder.encode(), asker.token)
        assert headers is not None
        message: Message = {"type": "http.response.start", "status": status, "headers": []}
        out = MutableHeaders(scope=message)
        for name, value in [*headers, cache_header]:
            out.append(name.decode("latin-1"), value.decode("latin-1"))
        if encoding is not None:
            out["content-encoding"] = encoding
        if entry is not None and entry.gzip is not None:
            vary_on_encoding(out)
        out["content-length"] = str(len(body))
        await send(message)
        await send({"type": "http.response.body", "body": body})
