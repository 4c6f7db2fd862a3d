"""CSRF protection: a signed double-submit token, bound to the browser's session.

Every browser gets a random token in the ``dp_csrf`` cookie (HttpOnly, SameSite=Lax): a nonce and
an HMAC of it and of the session cookie (none for an anonymous visitor) under the instance's
secret key. Pages put the same token in each form (``csrf_token`` field) and in htmx's headers
(``X-CSRF-Token``, via ``hx-headers`` on <body>). :func:`verify_csrf` runs on every route and
refuses a POST, PUT, PATCH or DELETE whose token does not match the cookie, or whose cookie was
not signed by this instance for the session it arrives with. So a token someone obtained from
their own visit and planted in another browser (a sibling subdomain, a man in the middle on
plain http) does not work with that browser's session. Signing in sets a new token for the new
session; signing out sets a new anonymous one.

API calls that authenticate with ``Authorization: Bearer`` need no token (a browser never adds
that header to a cross-site request), nor do API calls without a session cookie (they are refused
by the route unless they carry a token).

:class:`BrowserCookies` is the ASGI middleware that sets the cookie on any response to a browser
that lacks a valid one, and clears the one-time message cookie (see flash.py) once a page showed
it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web import flash
from dailypapers.web.auth import SESSION_COOKIE
from dailypapers.web.errors import HTTPProblem

COOKIE = "dp_csrf"
COOKIE_FLASH = flash.COOKIE
FIELD = "csrf_token"
HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_AGE = 365 * 24 * 3600


def _signature(secret: bytes, nonce: str, session: str) -> str:
    """The token's HMAC: of its nonce and of the session cookie it belongs to ("" anonymous)."""
    bound = hashlib.sha256(session.encode()).hexdigest() if session else ""
    mac = hmac.new(secret, f"csrf:{nonce}|{bound}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_token(secret: bytes, session: str = "") -> str:
    """A fresh token for the browser whose session cookie is ``session`` (none: "")."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_signature(secret, nonce, session)}"


def is_signed(secret: bytes, token: str, session: str = "") -> bool:
    """Whether this instance made ``token`` for the session cookie ``session``."""
    nonce, _, signature = token.partition(".")
    return bool(nonce) and _same(signature, _signature(secret, nonce, session))


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _cookie_header(name: str, value: str, max_age: int, secure: bool) -> str:
    """A Set-Cookie value; ``value`` is URL-safe base64 (or empty), so it needs no quoting."""
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    return "; ".join(parts + ["Secure"] if secure else parts)


def set_csrf_cookie(response: Response, secret: bytes, session: str, *, secure: bool) -> None:
    """Give the browser a new token for its new session (sign-in) or none (sign-out)."""
    value = _cookie_header(COOKIE, new_token(secret, session), MAX_AGE, secure)
    response.headers.append("set-cookie", value)


OPS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapers: no cookies to set


class BrowserCookies:
    """Pure ASGI middleware: puts the CSRF token in ``scope['state']`` and sets the cookies."""

    def __init__(self, app: ASGIApp, secret: bytes, https: bool = False) -> None:
        self.app = app
        self.secret = secret
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/") or scope["path"] in OPS:
            await self.app(scope, receive, send)
            return
        cookies = HTTPConnection(scope).cookies
        session = cookies.get(SESSION_COOKIE, "")
        token = cookies.get(COOKIE, "")
        fresh = not is_signed(self.secret, token, session)
        if fresh:
            token = new_token(self.secret, session)
        state = scope.setdefault("state", {})
        state["csrf_token"] = token
        secure = self.https or scope.get("scheme") == "https"
        had_flash = COOKIE_FLASH in cookies

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                already = " ".join(headers.getlist("set-cookie"))
                if fresh and f"{COOKIE}=" not in already:
                    headers.append("set-cookie", _cookie_header(COOKIE, token, MAX_AGE, secure))
                if had_flash and state.get("flash_shown") and f"{COOKIE_FLASH}=" not in already:
                    headers.append("set-cookie", _cookie_header(COOKIE_FLASH, "", 0, secure))
            await send(message)

        await self.app(scope, receive, send_with_cookies)


# RFC 8058 one-click unsubscribing: a mail provider POSTs to the URL from the mail's
# List-Unsubscribe header, without cookies; the signed token in that URL is the authority.
EXEMPT_PATHS = frozenset({"/digest/unsubscribe"})


async def verify_csrf(request: Request) -> None:
    """Dependency on every route: a state-changing request must carry the cookie's token."""
    if request.method in SAFE_METHODS or request.url.path in EXEMPT_PATHS:
        return
    if request.url.path.startswith("/api/") and (
        "authorization" in request.headers or SESSION_COOKIE not in request.cookies
    ):
        return  # not signed in by cookie: the route's auth dependency wants a Bearer token
    expected = request.cookies.get(COOKIE, "")
    sent = request.headers.get(HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(FIELD)
        sent = value if isinstance(value, str) else None
    secret: bytes = request.app.state.secret_key
    if not (sent and expected and _same(sent, expected)):
        raise HTTPProblem(
            403, "this form has expired or came from another site; reload the page and try again"
        )
    if not is_signed(secret, expected, request.cookies.get(SESSION_COOKIE, "")):
        raise HTTPProblem(403, "this form has expired; reload the page and try again")
