"""Who is asking: the signed-in user from the ``dp_session`` cookie, or an API token holder.

``CurrentUser`` is the user or None; ``RequireUser`` sends anonymous page requests to sign in
(and answers 401 under /api); ``ApiUser`` accepts ``Authorization: Bearer TOKEN`` or the cookie.
The user found is kept on ``request.state.user`` for the page header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.services.accounts import user_for_api_token, user_for_session
from dailypapers.web.deps import SessionDep
from dailypapers.web.errors import HTTPProblem, LoginRequired
from dailypapers.web.responses import back_url

SESSION_COOKIE = "dp_session"
SESSION_MAX_AGE = 30 * 24 * 3600


def client_ip(request: Request) -> str:
    """The peer address (behind a proxy, run uvicorn with --proxy-headers to get the client's)."""
    return request.client.host if request.client else "unknown"


def https_cookies(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def set_session_cookie(response: Response, raw: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)


def _cookie_user(request: Request, session: Session) -> User | None:
    raw = request.cookies.get(SESSION_COOKIE)
    user = user_for_session(session, raw) if raw else None
    request.state.user = user
    return user


async def current_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user or None; anonymous requests cost no query and no thread hop."""
    if SESSION_COOKIE not in request.cookies:
        request.state.user = None
        return None
    return await run_in_threadpool(_cookie_user, request, session)


CurrentUser = Annotated[User | None, Depends(current_user)]


def page_user(request: Request) -> User | None:
    """The user for the page header: the one a dependency found, else looked up from the cookie
    (error pages raised before the route's dependencies ran)."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    with request.app.state.session_factory() as session:
        request.state.user = user_for_session(session, raw)
    return request.state.user  # type: ignore[no-any-return]


def _next_url(request: Request) -> str:
    if request.method == "GET":
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    return back_url(request, "/")


async def require_user(request: Request, user: CurrentUser) -> User:
    if user is None:
        raise LoginRequired(_next_url(request))
    return user


RequireUser = Annotated[User, Depends(require_user)]


def api_user(request: Request, session: SessionDep) -> User:
    """The holder of a Bearer token, else the signed-in user (whose POSTs pass the CSRF check)."""
    header = request.headers.get("authorization")
    if header is None:
        user = _cookie_user(request, session)
        if user is None:
            raise LoginRequired(request.url.path)
        return user
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "bearer" or not raw:
        raise HTTPProblem(
            401, "use Authorization: Bearer TOKEN", headers={"WWW-Authenticate": "Bearer"}
        )
    # a GET (For you listings) reads only: a token's "last used" is recorded by its writes
    user = user_for_api_token(session, raw, record_use=request.method not in ("GET", "HEAD"))
    if user is None:
        raise HTTPProblem(
            401,
            "this API token is not valid or was revoked",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    request.state.user = user
    return user


ApiUser = Annotated[User, Depends(api_user)]
