"""User-caused errors and how they are shown: JSON ``{"error": ...}`` under /api, a page elsewhere.

Routes raise :class:`HTTPProblem`; FastAPI's own validation errors become 400 with one sentence.
Nothing a user sends produces a traceback or a 500 page.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class HTTPProblem(Exception):
    """An error to show the user with an HTTP status (4xx) and one clear sentence."""

    def __init__(self, status: int, message: str, *, links: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.links = links or []


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path.startswith("/feeds/") or path.endswith(".md")


def problem_response(
    request: Request, status: int, message: str, links: list[tuple[str, str]] | None = None
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request,
        "error.html",
        {"status": status, "message": message, "links": links or []},
        status_code=status,
    )


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
        return problem_response(request, exc.status, exc.message, exc.links)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, 400, _validation_message(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = "page not found" if exc.status_code == 404 else str(exc.detail)
        return problem_response(request, exc.status_code, message)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        if _wants_json(request):
            return JSONResponse({"error": "internal error"}, status_code=500)
        return HTMLResponse("<h1>Something went wrong</h1>", status_code=500)

    app.add_exception_handler(HTTPProblem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)
