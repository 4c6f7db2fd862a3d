"""Look up one paper and search papers; shared by the HTML pages, the JSON API and Atom feeds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper
from dailypapers.search.fts import SearchFilters, keyword_search
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

MAX_QUERY_LENGTH = 10_000


@dataclass(frozen=True, slots=True)
class SearchHit:
    paper: Paper
    title_marked: str | None = None
    snippet_marked: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResults:
    hits: list[SearchHit]
    total: int
    exact_id: bool = False  # the query was an arXiv id or URL that named this paper


def get_paper(session: Session, text: str) -> Paper | None:
    """The paper for an arXiv id or URL (any version), or None if unknown or not an id."""
    try:
        arxiv_id, _ = parse_arxiv_id(text)
    except InvalidArxivId:
        return None
    return session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))


def search_papers(
    session: Session,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResults:
    """Keyword search; a query that is an arXiv id or URL returns just that paper."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return SearchResults([], 0)
    paper = get_paper(session, query)
    if paper is not None:
        return SearchResults([SearchHit(paper)], 1, exact_id=True)
    keyword_hits, total = keyword_search(
        session.connection(), query, filters or SearchFilters(), limit=limit, offset=offset
    )
    ids = [hit.paper_id for hit in keyword_hits]
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    hits = [
        SearchHit(by_id[h.paper_id], h.title_marked, h.snippet_marked)
        for h in keyword_hits
        if h.paper_id in by_id
    ]
    return SearchResults(hits, total)
