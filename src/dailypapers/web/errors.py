"""User-caused errors and how they are shown: JSON ``{"error": ...}`` under /api, a page elsewhere.

Routes raise :class:`HTTPProblem` or let a service's error through (NotAllowed 403, NotFound 404,
Invalid 400, RateLimited 429 with ``Retry-After``); FastAPI's own validation errors become 400 with
one sentence. An htmx request gets the sentence as a small fragment for the page's message area.
Nothing a user sends produces a traceback or a 500 page.

A database that cannot be reached (PostgreSQL down or restarting, no free connection:
:func:`~dailypapers.db.engine.database_unavailable`) is a 503 with ``Retry-After`` and one sentence,
and one warning line in the log at most every :data:`UNAVAILABLE_LOG_S` seconds instead of a
traceback per request. The pool checks each connection before use, so once the server is back the
next request gets a fresh one: the site recovers without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from markupsafe import escape
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from dailypapers.db.engine import database_unavailable
from dailypapers.services.errors import (
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    RateLimited,
    ServiceError,
)

log = logging.getLogger(__name__)

UNAVAILABLE_MESSAGE = "the database is not available right now; please try again in a few seconds"
UNAVAILABLE_RETRY_S = 5
UNAVAILABLE_LOG_S = 10.0


class _UnavailableLog:
    """One warning line when the database goes away, then one every UNAVAILABLE_LOG_S seconds
    while it stays away (with how many requests were turned away meanwhile)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._logged_at = -UNAVAILABLE_LOG_S
        self._since = 0

    def note(self, exc: BaseException) -> None:
        with self._lock:
            self._since += 1
            if time.monotonic() - self._logged_at < UNAVAILABLE_LOG_S:
                return
            count, self._since, self._logged_at = self._since, 0, time.monotonic()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        log.warning("database unavailable, %d request(s) answered 503: %s", count, reason)


class HTTPProblem(Exception):
    """An error to show the user with an HTTP status (4xx) and one clear sentence."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        links: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.links = links or []
        self.headers = headers or {}


class LoginRequired(Exception):
    """Raised by the RequireUser dependency: pages redirect to sign-in, the API answers 401."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


_SERVICE_STATUS: list[tuple[type[ServiceError], int]] = [
    (NotAllowed, 403),
    (NotFound, 404),
    (Invalid, 400),
    (Conflict, 409),
    (RateLimited, 429),
]


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/feeds/")) or path.endswith((".md", ".atom"))


def problem_response(
    request: Request,
    status: int,
    message: str,
    links: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = headers or {}
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    if request.headers.get("hx-request") == "true":
        # htmx swaps 4xx answers (see base.html's htmx-config) into the page's message area
        fragment = f'<p class="flash error" role="alert">{escape(message)}</p>'
        swap = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return HTMLResponse(fragment, status_code=status, headers={**headers, **swap})
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "message": message, "links": links or []},
        status_code=status,
        headers=headers,
    )


def service_error_response(request: Request, exc: ServiceError) -> Response:
    status = next((code for kind, code in _SERVICE_STATUS if isinstance(exc, kind)), 400)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}
    return problem_response(request, status, exc.message, headers=headers)


# Why a page sent someone to sign in, by the end of the path that asked: the sign-in page says
# "Sign in to upvote" (the key travels as ?for=, the text comes only from LOGIN_HEADINGS).
LOGIN_REASONS = {
    "/upvote": "upvote",
    "/submit": "submit",
    "/comments": "comment",
    "/save": "save",
    "/feedback": "feedback",
    "/for-you": "for-you",
}
LOGIN_HEADINGS = {
    "upvote": "Sign in to upvote",
    "submit": "Sign in to submit a paper",
    "comment": "Sign in to comment",
    "save": "Sign in to save papers",
    "feedback": "Sign in to get more or less of a topic",
    "for-you": "Sign in to see papers picked for you",
}


def login_reason(path: str) -> str | None:
    return next((key for end, key in LOGIN_REASONS.items() if path.endswith(end)), None)


def login_required_response(request: Request, next_url: str) -> Response:
    if _wants_json(request):
        message = "sign in or send an API token (Authorization: Bearer TOKEN)"
        return problem_response(request, 401, message, headers={"WWW-Authenticate": "Bearer"})
    reason = login_reason(request.url.path)
    login = f"/login?next={quote(next_url, safe='/')}" + (f"&for={reason}" if reason else "")
    if request.headers.get("hx-request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": login})
    return RedirectResponse(login, status_code=303)


def _validation_message(exc: RequestValidationError) -> str:
    messages = []
    for error in exc.errors():
        where = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("query", "path")
        )
        messages.append(
            f"{where}: {error.get('msg', 'invalid value')}" if where else error.get("msg", "")
        )
    return "; ".join(messages) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPProblem)
        return problem_response(request, exc.status, exc.message, exc.links, exc.headers)

    async def on_service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return service_error_response(request, exc)

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return login_required_response(request, exc.next_url)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, 400, _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = "page not found" if exc.status_code == 404 else str(exc.detail)
        return problem_response(request, exc.status_code, message)

    unavailable = _UnavailableLog()

    async def on_database_error(request: Request, exc: Exception) -> Response:
        if not database_unavailable(exc):
            raise exc  # a bug or bad data: on_unexpected's 500 and traceback
        unavailable.note(exc)
        request.state.user = None  # the page header must not ask the database again
        headers = {"Retry-After": str(UNAVAILABLE_RETRY_S)}
        return problem_response(request, 503, UNAVAILABLE_MESSAGE, headers=headers)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        if _wants_json(request):
            return JSONResponse({"error": "internal error"}, status_code=500)
        return HTMLResponse("<h1>Something went wrong</h1>", status_code=500)

    app.add_exception_handler(HTTPProblem, on_problem)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(PoolTimeout, on_database_error)
    app.add_exception_handler(Exception, on_unexpected)
