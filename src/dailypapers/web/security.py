"""What every answer carries for the browser's protection, and the limit on what a request may send.

Three pure ASGI middlewares (see ``app.create_app`` for their order):

- :class:`BodyLimit`: request bodies are capped before they are read, 1 MB by default
  (:data:`BODY_LIMITS`: path prefix → bytes, the longest matching prefix wins; an upload route
  adds its own line there). A ``Content-Length`` over the limit is answered 413 at once, without
  reading anything; a body without one (chunked) is counted as it streams in and refused with
  413 the moment it passes the limit, so a client can never make the server hold more than the
  limit plus one chunk. NUL characters (``%00``) are dropped from the query string here, so no
  parameter carries one to the database (PostgreSQL refuses them in text; SQLite stored them).
- :class:`SecurityHeaders`: a Content-Security-Policy that allows scripts and styles from this
  site only (no inline script anywhere: htmx and its configuration are static files and a
  ``<meta>``), no framing, ``nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``
  (pages that carry a secret in their URL keep their stricter ``no-referrer``), and HSTS when
  the public URL is https. A route may set its own Content-Security-Policy (``/docs``, a digest
  shown in the browser): it is kept.
- :class:`HttpsCookies`: when the public URL is https, every cookie is ``Secure`` and named with
  the ``__Host-`` prefix (the browser then accepts it only from this exact origin over https,
  never from a sibling subdomain or a plain-http answer). The app keeps its plain names: cookies
  are renamed on the way in and out, and plain-named cookies a browser sends are dropped, since
  anyone who can plant a cookie can plant those.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web.errors import problem_response

MB = 1_000_000
# Path prefix -> the most bytes a request body may have there; the longest matching prefix wins.
# A route that takes uploads adds its line, e.g. "/library/import": 20 * MB.
BODY_LIMITS: dict[str, int] = {"/": 1 * MB, "/settings/library": 20 * MB}

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"
HOST_PREFIX = "__Host-"
OUR_COOKIES = ("dp_",)  # the app's cookie names start with this


class BodyTooLarge(StarletteHTTPException):
    """Raised from ``receive`` when a streamed body passes its limit; the app's handler for
    HTTP exceptions answers it like any 4xx (JSON under /api, else a page)."""

    def __init__(self, limit: int) -> None:
        size = f"{limit / MB:g} MB" if limit >= MB else f"{limit:,} bytes"
        super().__init__(413, f"the request body is larger than {size}, the most accepted here")


class BodyLimit:
    def __init__(self, app: ASGIApp, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        table = BODY_LIMITS if limits is None else limits
        self.limits = sorted(table.items(), key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), 1 * MB)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query:
            scope = {**scope, "query_string": query.replace(b"%00", b"")}
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, BodyTooLarge(limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as exc:  # read outside a route (the app's handlers answer inside)
            if started:
                raise
            await self._refuse(scope, receive, send, exc)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: BodyTooLarge) -> None:
        request = Request(scope, receive)
        response = problem_response(request, 413, str(exc.detail), headers={"Connection": "close"})
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.always = [
            ("content-security-policy", CONTENT_SECURITY_POLICY),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
        ]
        if https:
            self.always.append(("strict-transport-security", HSTS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.always:
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


class HttpsCookies:
    """Under an https public URL: ``__Host-`` names and ``Secure`` on every cookie."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["headers"] = [
            (name, _incoming(value) if name == b"cookie" else value)
            for name, value in scope["headers"]
        ]

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                message["headers"] = [
                    (name, _outgoing(value) if name == b"set-cookie" else value)
                    for name, value in headers
                ]
            await send(message)

        await self.app(scope, receive, secured)


def _incoming(header: bytes) -> bytes:
    """The Cookie header the app sees: ``__Host-dp_x`` as ``dp_x``; a plain ``dp_x`` dropped."""
    kept = []
    for pair in header.decode("latin-1").split(";"):
        name, _, value = pair.strip().partition("=")
        if name.startswith(HOST_PREFIX + OUR_COOKIES[0]):
            kept.append(f"{name.removeprefix(HOST_PREFIX)}={value}")
        elif name and not name.startswith(OUR_COOKIES):
            kept.append(f"{name}={value}")
    return "; ".join(kept).encode("latin-1")


def _outgoing(header: bytes) -> bytes:
    """A Set-Cookie for the browser: ``__Host-`` name, ``Secure``, ``Path=/``, no ``Domain``."""
    text = header.decode("latin-1")
    name, _, rest = text.partition("=")
    if not name.startswith(OUR_COOKIES):
        return header
    attributes = [part.strip() for part in rest.split(";")]
    value, attributes = attributes[0], attributes[1:]
    kept = [a for a in attributes if a.split("=")[0].lower() not in ("secure", "path", "domain")]
    parts = [f"{HOST_PREFIX}{name}={value}", *kept, "Path=/", "Secure"]
    return "; ".join(parts).encode("latin-1")
