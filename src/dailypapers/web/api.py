"""The JSON API: HF-compatible paths and fields (see hf_schema), plus the paper as Markdown."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from dailypapers.search.fts import SearchFilters
from dailypapers.services.feeds import feed
from dailypapers.services.papers import get_paper, search_papers
from dailypapers.sources.arxiv.ids import is_arxiv_id
from dailypapers.web.deps import SessionDep
from dailypapers.web.errors import HTTPProblem
from dailypapers.web.hf_schema import feed_entry, paper_object
from dailypapers.web.markdown import paper_markdown
from dailypapers.web.periods import requested_period

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=100, description="Results per page, 1–100.")]
Page = Annotated[int, Query(ge=0, le=10_000, description="Page number, from 0.")]
Category = Annotated[str | None, Query(max_length=32, description="Only this arXiv category.")]


@router.get("/api/daily_papers", tags=["papers"])
def daily_papers(
    session: SessionDep,
    date: Annotated[str | None, Query(description="Day, YYYY-MM-DD (default: newest).")] = None,
    week: Annotated[str | None, Query(description="ISO week, YYYY-Www.")] = None,
    month: Annotated[str | None, Query(description="Month, YYYY-MM.")] = None,
    sort: Literal["publishedAt", "trending", "upvotes"] = "upvotes",
    p: Page = 0,
    limit: Limit = 50,
    category: Category = None,
    submitter: Annotated[str | None, Query(description="Only papers this user submitted.")] = None,
) -> list[dict[str, Any]]:
    """Papers announced on a day, in an ISO week or a month (HF's `list_daily_papers`)."""
    period = requested_period(session, date, week, month)
    if period is None or submitter:  # no submissions exist yet on this instance
        return []
    page = feed(session, period, sort=sort, category=category, limit=limit, offset=p * limit)
    return [feed_entry(paper) for paper in page.papers]


@router.get("/api/papers/search", tags=["papers"])
def search(
    session: SessionDep,
    q: Annotated[str, Query(max_length=10_000, description="Words, a phrase or an arXiv id.")] = "",
    limit: Limit = 50,
    p: Page = 0,
    category: Category = None,
    sort: Literal["relevance", "date", "upvotes"] = "relevance",
) -> list[dict[str, Any]]:
    """Keyword search with BM25 ranking (HF's `list_papers`); an empty query lists the newest day."""
    if not q.strip():
        return daily_papers(session, limit=limit, p=p, category=category)
    filters = SearchFilters(category=category, sort=sort)
    results = search_papers(session, q, filters, limit=limit, offset=p * limit)
    return [feed_entry(hit.paper) for hit in results.hits]


@router.get("/api/papers/{arxiv_id:path}", tags=["papers"])
def paper_info(session: SessionDep, arxiv_id: str) -> dict[str, Any]:
    """One paper by arXiv id (HF's `paper_info`)."""
    if not is_arxiv_id(arxiv_id):
        raise HTTPProblem(400, f"not an arXiv id: {arxiv_id[:80]!r}")
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id} is not in this instance")
    return paper_object(paper)


def markdown_response(session: SessionDep, arxiv_id: str) -> PlainTextResponse:
    """The paper as Markdown (HF's `read_paper`); routed from the HTML paper path."""
    paper = get_paper(session, arxiv_id)
    if paper is None:
        raise HTTPProblem(404, f"paper {arxiv_id} is not in this instance")
    return PlainTextResponse(paper_markdown(paper), media_type="text/markdown; charset=utf-8")
