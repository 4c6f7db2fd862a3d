"""Organization pages: ``/organizations/{slug}`` (papers submitted on its behalf, members),
``/organizations/{slug}.atom``, and ``/organizations`` (all of them; admins create one there)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from dailypapers.services.card_extras import card_extras
from dailypapers.services.errors import Conflict, Invalid
from dailypapers.services.organizations import (
    add_organization,
    list_organizations,
    organization_page,
)
from dailypapers.web.atom import atom_document
from dailypapers.web.auth import CurrentUser, RequireUser
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.responses import redirect, render

router = APIRouter(route_class=RequestRoute, include_in_schema=False)
PageNumber = Annotated[int, Query(ge=0, le=10_000)]


@router.get("/organizations")
def organizations(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    context: dict[str, Any] = {"orgs": list_organizations(session), "error": None, "values": {}}
    return render(request, "organizations.html", context)


@router.post("/organizations")
def create_organization(
    request: Request,
    session: SessionDep,
    user: RequireUser,
    slug: Annotated[str, Form(max_length=100)],
    name: Annotated[str, Form(max_length=300)],
    url: Annotated[str, Form(max_length=600)] = "",
    logo: Annotated[str, Form(max_length=600)] = "",
) -> Response:
    if not user.is_admin:
        raise HTTPProblem(403, "only admins create organizations")
    try:
        org = add_organization(session, slug, name, site_url=url, logo_url=logo)
    except (Invalid, Conflict) as exc:
        values = {"slug": slug, "name": name, "url": url, "logo": logo}
        context = {"orgs": list_organizations(session), "error": exc.message, "values": values}
        return render(request, "organizations.html", context, status=400)
    return redirect(f"/organizations/{org.slug}")


@router.get("/organizations/{slug}")
def organization(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    slug: str,
    p: PageNumber = 0,
) -> Response:
    if len(slug) > 50:
        raise HTTPProblem(404, "no such organization")
    if slug.endswith(".atom"):
        found = organization_page(session, slug.removesuffix(".atom"), limit=50)
        title = f"papers of {found.organization.name}"
        return atom_document(request, settings, title, found.papers)
    size = settings.page_size
    found = organization_page(session, slug, limit=size, offset=p * size)
    base_url = f"/organizations/{found.organization.slug}"
    context = {
        "org": found.organization,
        "members": found.members,
        "papers": found.papers,
        "extras": card_extras(session, user, found.papers),
        "total": found.total,
        "p": p,
        "pages": max(-(-found.total // size), 1),
        "feed_url": base_url + ".atom",
        "tab": None,
        "query": _query,
        "base_url": base_url,
    }
    return render(request, "organization.html", context)


def _query(**params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", 0)}
    return ("?" + urlencode(kept)) if kept else ""
