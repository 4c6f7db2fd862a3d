"""What the search page, the search API and the search feed read from a request — the same
parameters, parsed once, so all three return the same results for the same query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from dailypapers.search.filters import SearchFilters
from dailypapers.search.fts import WordShares
from dailypapers.search.hybrid import Semantic
from dailypapers.search.semantic import SemanticSource
from dailypapers.search.spelling import Spelling
from dailypapers.services.periods import BadPeriod, parse_day
from dailypapers.vectors import VectorIndex
from dailypapers.web.errors import HTTPProblem

QueryText = Annotated[
    str, Query(max_length=10_000, description='Words, a "quoted phrase" or an arXiv id / URL.')
]
Sort = Literal["relevance", "date", "upvotes"]


@dataclass(frozen=True, slots=True)
class SearchRequest:
    q: str
    filters: SearchFilters
    semantic: Semantic | None
    semantic_status: str
    shares: WordShares  # the process's word-share cache (keyword search's budget)
    spelling: Spelling | None = None  # the process's vocabulary for suggestions

    def url_params(self) -> dict[str, str | None]:
        """The filter parameters as they appear in links (pager, Atom feed, sort form)."""
        f = self.filters
        return {
            "q": self.q,
            "category": f.category,
            "from": f.since.isoformat() if f.since else None,
            "to": f.until.isoformat() if f.until else None,
            "sort": None if f.sort == "relevance" else f.sort,
        }


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return parse_day(value)
    except BadPeriod as exc:
        raise HTTPProblem(400, f"{name}: {exc}") from None


def semantic_source(request: Request) -> SemanticSource:
    source: SemanticSource = request.app.state.semantic
    return source


def search_request(
    request: Request,
    q: QueryText = "",
    category: Annotated[
        str | None, Query(max_length=32, description="Only this arXiv category.")
    ] = None,
    since: Annotated[
        str | None,
        Query(alias="from", max_length=10, description="Announced on or after, YYYY-MM-DD."),
    ] = None,
    until: Annotated[
        str | None,
        Query(alias="to", max_length=10, description="Announced on or before, YYYY-MM-DD."),
    ] = None,
    sort: Sort = "relevance",
) -> SearchRequest:
    start, end = _day(since, "from"), _day(until, "to")
    if start and end and start > end:
        raise HTTPProblem(400, f"from ({start}) is after to ({end})")
    filters = SearchFilters(category=category or None, since=start, until=end, sort=sort)
    semantic, status = semantic_source(request).current() if q.strip() else (None, "ready")
    spelling: Spelling | None = getattr(request.app.state, "spelling", None)
    return SearchRequest(q, filters, semantic, status, word_shares(request), spelling)


def word_shares(request: Request) -> WordShares:
    shares: WordShares = request.app.state.runtime.word_shares
    return shares


def current_index(request: Request) -> VectorIndex | None:
    """The vector index for this request (similar papers), or None."""
    return semantic_source(request).index()[0]


SearchDep = Annotated[SearchRequest, Depends(search_request)]
IndexDep = Annotated[VectorIndex | None, Depends(current_index)]
