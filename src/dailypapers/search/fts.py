"""Keyword search over the FTS5 index with BM25, title weighted above authors above abstract.

User text never reaches FTS5 syntax: :func:`build_match` keeps words and "quoted phrases" and quotes
each one, so ``NEAR``, ``*``, ``-`` and unbalanced quotes or parentheses are just text. All words
must match; when nothing does, any word may (ranked by BM25, so the best overlap comes first).
Snippets mark hits with :data:`HIT_START` / :data:`HIT_END`, which the web layer turns into <mark>
after escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Connection, text

HIT_START = "\x02"
HIT_END = "\x03"
MAX_TERMS = 24
MAX_TERM_LENGTH = 64
# bm25 column weights: title, abstract, authors
WEIGHTS = (8.0, 1.0, 3.0)
_TOKEN_RE = re.compile(r'"([^"]*)"|([^\W_]+(?:[.\'-][^\W_]+)*)', re.UNICODE)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

SearchSort = Literal["relevance", "date", "upvotes"]


@dataclass(frozen=True, slots=True)
class KeywordHit:
    paper_id: int
    score: float
    title_marked: str
    snippet_marked: str


def _terms(query: str) -> list[str]:
    terms: list[str] = []
    for phrase, word in _TOKEN_RE.findall(query[:4096]):
        words = _WORD_RE.findall(phrase if phrase else word)
        words = [w[:MAX_TERM_LENGTH] for w in words]
        if words:
            terms.append('"' + " ".join(words) + '"')
        if len(terms) >= MAX_TERMS:
            break
    return terms


def build_match(query: str, *, any_term: bool = False) -> str | None:
    """An FTS5 MATCH expression for free text, or None when it has no searchable words."""
    terms = _terms(query)
    if not terms:
        return None
    return (" OR " if any_term else " AND ").join(terms)


_ORDER = {
    "relevance": "score",
    "date": "p.announced_on DESC, p.arxiv_id DESC",
    "upvotes": "p.upvotes DESC, score",
}


@dataclass(frozen=True, slots=True)
class SearchFilters:
    category: str | None = None
    since: date | None = None
    until: date | None = None
    sort: SearchSort = "relevance"


def _run(
    conn: Connection, match: str, filters: SearchFilters, limit: int, offset: int
) -> tuple[list[KeywordHit], int]:
    where = ["papers_fts MATCH :match", "p.deleted_at IS NULL"]
    params: dict[str, object] = {"match": match, "limit": limit, "offset": offset}
    if filters.category:
        where.append("p.id IN (SELECT paper_id FROM paper_categories WHERE category = :category)")
        params["category"] = filters.category
    if filters.since:
        where.append("p.announced_on >= :since")
        params["since"] = filters.since.isoformat()
    if filters.until:
        where.append("p.announced_on <= :until")
        params["until"] = filters.until.isoformat()
    body = "FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid WHERE " + " AND ".join(where)
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = conn.execute(
        text(
            f"SELECT p.id, bm25(papers_fts, {weights}) AS score, "
            f"highlight(papers_fts, 0, '{HIT_START}', '{HIT_END}'), "
            f"snippet(papers_fts, 1, '{HIT_START}', '{HIT_END}', '…', 40) "
            f"{body} ORDER BY {_ORDER[filters.sort]} LIMIT :limit OFFSET :offset"
        ),
        params,
    ).all()
    total = conn.execute(text(f"SELECT count(*) {body}"), params).scalar_one()
    return [KeywordHit(r[0], -float(r[1]), r[2], r[3]) for r in rows], int(total)


def keyword_search(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[KeywordHit], int]:
    """Papers matching ``query``: (hits of this page, total number of matches)."""
    match = build_match(query)
    if match is None:
        return [], 0
    filters = filters or SearchFilters()
    hits, total = _run(conn, match, filters, limit, offset)
    if total == 0 and " AND " in match:
        hits, total = _run(conn, build_match(query, any_term=True) or match, filters, limit, offset)
    return hits, total
