"""Author pages: ``/authors/{name}`` (papers newest first, co-authors, categories) and
``/authors/{name}.atom``; following an author (``POST /follows``, ``POST /follows/remove``:
their papers come first in the user's For-you list). The URL scheme is stable (later work, such
as claimed author profiles, builds on it): the name as any paper writes it, percent-encoded
(``web.filters.author_url``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from dailypapers.services.authors import author_page
from dailypapers.services.card_extras import card_extras
from dailypapers.services.follows import follow_author, is_following, unfollow_author
from dailypapers.web.atom import atom_document
from dailypapers.web.auth import CurrentUser, RequireUser
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.filters import author_url
from dailypapers.web.responses import back_url, redirect, render

router = APIRouter(route_class=RequestRoute, include_in_schema=False)
MAX_NAME = 300
PageNumber = Annotated[int, Query(ge=0, le=10_000)]


@router.get("/authors/{name:path}")
def author(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    name: str,
    p: PageNumber = 0,
) -> Response:
    if len(name) > MAX_NAME:
        raise HTTPProblem(400, f"an author name is at most {MAX_NAME} characters")
    if name.endswith(".atom"):
        found = author_page(session, name.removesuffix(".atom"), limit=50)
        return atom_document(request, settings, f"papers by {found.name}", found.papers)
    size = settings.page_size
    found = author_page(session, name, limit=size, offset=p * size)
    if not found.total:
        raise HTTPProblem(
            404,
            f"no papers by {name.strip()[:80]!r} in this instance",
            links=[(f"/search?q={author_url(name).removeprefix('/authors/')}", "Search for it")],
        )
    context = {
        "author": found,
        "papers": found.papers,
        "extras": card_extras(session, user, found.papers),
        "total": found.total,
        "p": p,
        "pages": -(-found.total // size),
        "feed_url": author_url(name) + ".atom",
        "tab": None,
        "query": _query,
        "base_url": author_url(name),
        "following": is_following(session, user, found.name),
    }
    return render(request, "author.html", context)


Name = Annotated[str, Form(min_length=1, max_length=MAX_NAME)]


@router.post("/follows")
def follow(request: Request, session: SessionDep, user: RequireUser, name: Name) -> Response:
    """Follow an author (404 when no paper here is by that name; following twice is one follow)."""
    followed = follow_author(session, user, name)
    return redirect(
        back_url(request, author_url(followed.name)), flash="followed", arg=followed.name
    )


@router.post("/follows/remove")
def unfollow(request: Request, session: SessionDep, user: RequireUser, name: Name) -> Response:
    unfollow_author(session, user, name)
    return redirect(back_url(request, "/settings/signals"), flash="unfollowed", arg=name)


def _query(**params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return ("?" + urlencode(kept)) if kept else ""
