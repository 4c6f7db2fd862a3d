"""Exports for reference managers: a collection or the For-you list as BibTeX, RIS or CSL-JSON
(``rendering/citations.py``), from the pages (``/collections/{id}/export``,
``/papers/for-you/export``) and the API (``/api/collections/{id}/export``,
``/api/recommendations/export``, token). A private collection is exported for its owner only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User
from dailypapers.rendering.citations import FORMATS, Citable, write_citations
from dailypapers.services.collections import get_collection, items
from dailypapers.services.feeds import feed_filters
from dailypapers.services.for_you import for_you
from dailypapers.services.periods import Period
from dailypapers.services.recommend import FOR_YOU_DAYS, recent_window
from dailypapers.web.auth import ApiUser, CurrentUser, RequireUser
from dailypapers.web.deps import RequestRoute, SessionDep
from dailypapers.web.params import RowId

router = APIRouter(route_class=RequestRoute)
Format = Annotated[
    str,
    Query(pattern="^(bibtex|ris|csl-json)$", description="bibtex, ris or csl-json."),
]
EXPORT_LIMIT = 200  # For-you exports: the best this many


def citable(paper: Paper, note: str = "") -> Citable:
    return Citable(
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        authors=tuple(paper.authors or ()),
        abstract=paper.abstract or "",
        announced_on=paper.announced_on,
        primary_category=paper.primary_category,
        categories=tuple(paper.category_list),
        doi=paper.doi,
        journal_ref=paper.journal_ref,
        note=note,
    )


def _file(items_: list[Citable], fmt: str, stem: str) -> Response:
    kind, media_type, extension = FORMATS[fmt]
    return Response(
        write_citations(items_, kind),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{stem}.{extension}"'},
    )


def _collection(session: Session, viewer: User | None, collection_id: int, fmt: str) -> Response:
    collection = get_collection(session, collection_id, viewer)
    entries = [citable(paper, note) for paper, note in items(session, collection)]
    return _file(entries, fmt, f"collection-{collection.id}")


def _for_you(session: Session, user: User, fmt: str) -> Response:
    window = recent_window(session, FOR_YOU_DAYS)
    papers: list[Paper] = []
    if window is not None:
        where = feed_filters(session, Period("day", *window))
        papers = for_you(session, user, where, limit=EXPORT_LIMIT).papers
    return _file([citable(p) for p in papers], fmt, "for-you")


@router.get("/collections/{collection_id:int}/export", include_in_schema=False)
def collection_export(
    session: SessionDep, user: CurrentUser, collection_id: RowId, format: Format = "bibtex"
) -> Response:
    return _collection(session, user, collection_id, format)


@router.get("/papers/for-you/export", include_in_schema=False)
def for_you_export(session: SessionDep, user: RequireUser, format: Format = "bibtex") -> Response:
    return _for_you(session, user, format)


@router.get("/api/collections/{collection_id:int}/export", tags=["for you"])
def api_collection_export(
    session: SessionDep, user: ApiUser, collection_id: RowId, format: Format = "bibtex"
) -> Response:
    """A collection (public, or the token's user's own) as BibTeX, RIS or CSL-JSON."""
    return _collection(session, user, collection_id, format)


@router.get("/api/recommendations/export", tags=["for you"])
def api_for_you_export(session: SessionDep, user: ApiUser, format: Format = "bibtex") -> Response:
    """The token's user's For-you list of the last 7 days (the best 200) as a file."""
    return _for_you(session, user, format)
