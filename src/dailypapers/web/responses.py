"""Small response helpers the HTML routes share: render a template, redirect safely, htmx checks."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.mail import LogSender
from dailypapers.web.flash import set_flash

MAX_NEXT_LENGTH = 500


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    templates = request.app.state.templates
    return templates.TemplateResponse(  # type: ignore[no-any-return]
        request, template, context, status_code=status, headers=headers
    )


def mails_go_to_the_log(request: Request) -> bool:
    """No mail server is configured: mails (sign-in links too) are written to the server's log,
    and "Check your inbox" pages say where to look."""
    return isinstance(request.app.state.mail_sender, LogSender)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def local_path(value: str | None) -> str | None:
    """``value`` when it is a path on this site (``/x?y``), else None: no open redirects."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return None
    if value.startswith(("//", "/\\")) or any(ch in value for ch in "\\\r\n\t\x00"):
        return None
    return value


def back_url(request: Request, fallback: str) -> str:
    """The same-origin page the request came from (path and query only), else ``fallback``."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc == request.url.netloc:
        path = referer.path + (f"?{referer.query}" if referer.query else "")
        return local_path(path) or fallback
    return fallback


def redirect(url: str, *, flash: str | None = None, arg: str = "") -> RedirectResponse:
    """A 303 See Other (the answer to a form POST), with an optional one-time message."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, arg)
    return response
