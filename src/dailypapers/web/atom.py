"""Atom feeds (RFC 4287) for the daily, weekly and monthly listings, any search and public
collections."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.db.models import Paper
from dailypapers.rendering.plain import latex_to_text
from dailypapers.services.collections import get_collection, items
from dailypapers.services.feeds import feed
from dailypapers.services.papers import search_papers
from dailypapers.web.api_models import ApiError
from dailypapers.web.deps import RequestRoute, SessionDep, SettingsDep
from dailypapers.web.params import DayParam, MonthParam, RowId, WeekParam
from dailypapers.web.periods import requested_period
from dailypapers.web.search_request import SearchDep

ATOM = "application/atom+xml; charset=utf-8"


class AtomResponse(Response):
    """An Atom document: the routes' ``response_class``, so OpenAPI shows ``application/atom+xml``
    (each answer still carries the full ``ATOM`` content type)."""

    media_type = "application/atom+xml"


router = APIRouter(
    route_class=RequestRoute,
    default_response_class=AtomResponse,
    responses={
        200: {"description": "An Atom 1.0 feed (RFC 4287)."},
        "4XX": {  # as JSON, not Atom (a "model" here would be listed under the Atom type)
            "description": "A bad parameter (400) or no such feed (404).",
            "content": {"application/json": {"schema": ApiError.model_json_schema()}},
        },
    },
)
Category = Annotated[str | None, Query(max_length=32)]


def _base(request: Request, settings: Settings) -> str:
    return settings.base_url or str(request.base_url).rstrip("/")


# Characters XML 1.0 cannot hold at all, not even escaped (C0 controls but tab, CR, LF; FFFE/FFFF)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _NOT_XML.sub("", v) for k, v in attrs.items()})
    element.text = _NOT_XML.sub("", text) if text else text
    return element


def _entry(root: ET.Element, base: str, paper: Paper) -> None:
    entry = _sub(root, "entry")
    page = f"{base}/papers/{paper.arxiv_id}"
    stamp = datetime.combine(paper.announced_on, datetime.min.time(), UTC).isoformat()
    _sub(entry, "id", page)
    _sub(entry, "title", latex_to_text(paper.title))  # feed readers show titles as text
    _sub(entry, "updated", stamp)
    _sub(entry, "published", stamp)
    _sub(entry, "link", href=page, rel="alternate", type="text/html")
    _sub(entry, "link", href=paper.abs_url, rel="related", title="arXiv")
    _sub(entry, "link", href=paper.pdf_url, rel="related", type="application/pdf", title="PDF")
    for name in paper.authors:
        _sub(_sub(entry, "author"), "name", name)
    for category in paper.category_list:
        _sub(entry, "category", term=category)
    _sub(entry, "summary", paper.abstract)


def atom_document(
    request: Request, settings: Settings, title: str, papers: list[Paper]
) -> Response:
    """An Atom 1.0 document (RFC 4287); ElementTree escapes every text and attribute."""
    base = _base(request, settings)
    root = ET.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    _sub(root, "id", str(request.url))
    _sub(root, "title", f"{settings.site_name}: {title}")
    newest = max((p.announced_on for p in papers), default=None)
    updated = datetime.combine(newest, datetime.min.time(), UTC) if newest else datetime.now(UTC)
    _sub(root, "updated", updated.isoformat())
    _sub(root, "link", href=str(request.url), rel="self")
    _sub(root, "link", href=base + "/", rel="alternate")
    _sub(root, "generator", "dailypapers", version=__version__)
    for paper in papers:
        _entry(root, base, paper)
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return AtomResponse(body, media_type=ATOM)


@router.get("/feeds/daily.atom", tags=["feeds"])
def daily_feed(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    date: DayParam = None,
    week: WeekParam = None,
    month: MonthParam = None,
    category: Category = None,
) -> Response:
    """The papers of a day (default: newest), week or month as Atom."""
    period = requested_period(session, date, week, month)
    papers = feed(session, period, category=category, limit=100).papers if period else []
    label = period.label if period else "no papers yet"
    title = f"{label}" + (f" · {category}" if category else "")
    return atom_document(request, settings, title, papers)


@router.get("/feeds/search.atom", tags=["feeds"])
def search_feed(
    request: Request, session: SessionDep, settings: SettingsDep, ask: SearchDep
) -> Response:
    """A saved search as Atom: its first 50 results, exactly as the search page and API rank
    them (same filters and sort); an empty query gives the newest day."""
    if not ask.q.strip():
        return daily_feed(request, session, settings, category=ask.filters.category)
    results = search_papers(
        session,
        ask.q,
        ask.filters,
        semantic=ask.semantic,
        shares=ask.shares,
        spelling=ask.spelling,
        limit=50,
        marks=False,
    )
    return atom_document(
        request, settings, f"search “{ask.q[:80]}”", [hit.paper for hit in results.hits]
    )


@router.get("/collections/{collection_id:int}.atom", tags=["feeds"])
def collection_feed(
    request: Request, session: SessionDep, settings: SettingsDep, collection_id: RowId
) -> Response:
    """A public collection as Atom, newest additions first (private ones are not found)."""
    collection = get_collection(session, collection_id, None)
    papers = [paper for paper, _ in items(session, collection)]
    return atom_document(request, settings, collection.name, papers)
