"""Look up one paper, search papers, find similar papers; shared by the HTML pages, the JSON API
and the Atom feeds, so all three show the same results for the same request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import and_, exists, extract, func, or_, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, PaperCategory
from dailypapers.search.authors import (
    author_paper_ids,
    implicit_author,
    parse_author_query,
)
from dailypapers.search.dense import dense_ranking
from dailypapers.search.fts import SearchFilters, WordShares, kept_ids, keyword_ranking
from dailypapers.search.hybrid import RankedPage, SearchMode, Semantic, hybrid_search, rank_among
from dailypapers.search.marks import mark_title, query_stems, snippet
from dailypapers.search.spelling import Spelling
from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id
from dailypapers.vectors import VectorIndex

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
    mode: SearchMode = "keyword"  # "hybrid" when meaning was searched too
    more: bool = False  # more papers match than ``total`` (a method filled its depth)
    author: str | None = None  # the author the query named (their papers come first)
    suggestion: str | None = None  # "Did you mean ...?": the query with its spelling corrected
    corrected: bool = False  # nothing matched the query: these are the suggestion's results
    every: Sequence[int] = ()  # every result's paper id, in order (for facets)


def get_paper(session: Session, text: str) -> Paper | None:
    """The paper for an arXiv id or URL (any version), or None if unknown or not an id."""
    try:
        arxiv_id, _ = parse_arxiv_id(text)
    except InvalidArxivId:
        return None
    return session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))


def _papers(session: Session, ids: list[int]) -> list[Paper]:
    """The papers with these ids, in this order (ids no longer present are skipped)."""
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def search_papers(
    session: Session,
    query: str,
    filters: SearchFilters | None = None,
    *,
    semantic: Semantic | None = None,
    shares: WordShares | None = None,
    limit: int = 20,
    offset: int = 0,
    spelling: Spelling | None = None,
    marks: bool = True,
) -> SearchResults:
    """Hybrid search (keyword only without ``semantic``); a query that is an arXiv id or URL
    returns just that paper; an empty query returns nothing (callers show the feed instead).

    With ``spelling``, a query with a misspelt word gets a suggestion, and when nothing matched
    it the suggestion's results are returned instead (``corrected``). Without ``marks`` the hits
    have no marked title or snippet (the JSON API shows neither: ~0.5 ms a hit)."""
    results = _search(session, query, filters, semantic, shares, limit, offset, marks)
    if spelling is None or results.exact_id or results.author is not None:
        return results
    suggestion = spelling.suggest(query.strip()[:MAX_QUERY_LENGTH])
    if suggestion is None:
        return results
    if results.total == 0:
        retried = _search(session, suggestion, filters, semantic, shares, limit, offset, marks)
        if retried.total:
            return replace(retried, suggestion=suggestion, corrected=True)
    return replace(results, suggestion=suggestion)


def _search(
    session: Session,
    query: str,
    filters: SearchFilters | None,
    semantic: Semantic | None,
    shares: WordShares | None,
    limit: int,
    offset: int,
    marks: bool = True,
) -> SearchResults:
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return SearchResults([], 0)
    paper = get_paper(session, query)
    if paper is not None and paper.deleted_at is None:
        return SearchResults([SearchHit(paper)], 1, exact_id=True)
    filters = filters or SearchFilters()
    conn = session.connection()
    author = parse_author_query(query)
    if author is not None:  # author:"..." typed: only their papers, the other words among them
        ids = kept_ids(conn, author_paper_ids(conn, author.tokens), filters)
        ranked = rank_among(conn, ids, author.rest, semantic, sort=filters.sort)
        mode: SearchMode = "hybrid" if semantic is not None else "keyword"
        page = RankedPage(ranked[offset : offset + limit], len(ranked), mode, every=ranked)
    else:  # a query that is a name the index knows: that author's papers first
        author = implicit_author(query)
        first = kept_ids(conn, author_paper_ids(conn, author.tokens), filters) if author else []
        author = author if first else None
        page = hybrid_search(
            conn,
            query,
            filters,
            semantic,
            limit=limit,
            offset=offset,
            shares=shares,
            first=first,
        )
    stems = query_stems(author.rest if author and author.explicit else query)
    hits = [
        SearchHit(p, mark_title(p.title, stems), snippet(p.abstract, stems))
        if marks
        else SearchHit(p)
        for p in _papers(session, page.ids)
    ]
    named = author.name if author is not None else None
    return SearchResults(
        hits, page.total, mode=page.mode, more=page.more, author=named, every=page.every
    )


@dataclass(frozen=True, slots=True)
class Facets:
    """How many results are in each category and announced in each year, most first."""

    categories: list[tuple[str, int]]
    years: list[tuple[int, int]]


def search_facets(session: Session, results: SearchResults) -> Facets:
    """Counts of the whole result set (not only the page) by category and by year."""
    ids = list(results.every) or [hit.paper.id for hit in results.hits]
    if not ids:
        return Facets([], [])
    by_category = session.execute(
        select(PaperCategory.category, func.count())
        .where(PaperCategory.paper_id.in_(ids))
        .group_by(PaperCategory.category)
        .order_by(func.count().desc(), PaperCategory.category)
    ).all()
    year = extract("year", Paper.announced_on)
    by_year = session.execute(
        select(year, func.count()).where(Paper.id.in_(ids)).group_by(year).order_by(year.desc())
    ).all()
    return Facets(
        [(str(c), int(n)) for c, n in by_category], [(int(y), int(n)) for y, n in by_year]
    )


SIMILAR_LIMIT = 8


def similar_papers(
    session: Session,
    paper: Paper,
    index: VectorIndex | None,
    *,
    limit: int = SIMILAR_LIMIT,
    shares: WordShares | None = None,
) -> list[Paper]:
    """Papers nearest this one's vector (never itself, never deleted ones); by BM25 on its title
    when it has no vector yet (or no index exists)."""
    conn = session.connection()
    vector = index.vectors_for([paper.id]).get(paper.id) if index is not None else None
    if index is not None and vector is not None:
        ids = dense_ranking(conn, index, vector, depth=limit + 1)
    else:
        ids = keyword_ranking(conn, paper.title, depth=limit + 1, any_term=True, shares=shares)
    return _papers(session, [i for i in ids if i != paper.id][:limit])


def papers_after(
    session: Session, after: tuple[date, str] | None, limit: int, category: str | None = None
) -> list[Paper]:
    """Live papers newest first (announce day, then arXiv id, both descending), starting after
    the paper ``after`` names: keyset pages that stay right while papers arrive."""
    query = select(Paper).where(Paper.deleted_at.is_(None))
    if after is not None:
        day, arxiv_id = after
        query = query.where(
            or_(
                Paper.announced_on < day, and_(Paper.announced_on == day, Paper.arxiv_id < arxiv_id)
            )
        )
    if category:
        query = query.where(
            exists().where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        )
    order = (Paper.announced_on.desc(), Paper.arxiv_id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))
