"""Keyword search over the FTS5 index with BM25, title weighted above authors above abstract.

User text never reaches FTS5 syntax: :func:`build_match` keeps words and "quoted phrases" and quotes
each one, so ``NEAR``, ``*``, ``-`` and unbalanced quotes or parentheses are just text. All words
must match; when nothing does, any word may (ranked by BM25, so the best overlap comes first).
Snippets mark hits with :data:`HIT_START` / :data:`HIT_END`, which the web layer turns into <mark>
after escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import Connection, bindparam, text

HIT_START = "\x02"
HIT_END = "\x03"
MAX_TERMS = 24
MAX_TERM_LENGTH = 64
# bm25 column weights: title, abstract, authors
WEIGHTS = (8.0, 1.0, 3.0)
_TOKEN_RE = re.compile(r'"([^"]*)"|([^\W_]+(?:[.\'-][^\W_]+)*)', re.UNICODE)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

SearchSort = Literal["relevance", "date", "upvotes"]


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


def build_match(query: str, *, any_term: bool = False, column: str | None = None) -> str | None:
    """An FTS5 MATCH expression for free text, or None when it has no searchable words."""
    terms = _terms(query)
    if not terms:
        return None
    expression = (" OR " if any_term else " AND ").join(terms)
    return f"{{{column}}} : ({expression})" if column else expression


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search (category, announce-date range) and how its results are ordered."""

    category: str | None = None
    since: date | None = None
    until: date | None = None
    sort: SearchSort = "relevance"

    @property
    def narrows(self) -> bool:
        return bool(self.category or self.since or self.until)


def filter_sql(filters: SearchFilters, alias: str = "p") -> tuple[list[str], dict[str, object]]:
    """WHERE conditions (on papers as ``alias``) and their parameters: not deleted, in the
    category and date range. The one definition keyword and dense search both filter with."""
    where = [f"{alias}.deleted_at IS NULL"]
    params: dict[str, object] = {}
    if filters.category:
        where.append(
            f"{alias}.id IN (SELECT paper_id FROM paper_categories WHERE category = :category)"
        )
        params["category"] = filters.category
    if filters.since:
        where.append(f"{alias}.announced_on >= :since")
        params["since"] = filters.since.isoformat()
    if filters.until:
        where.append(f"{alias}.announced_on <= :until")
        params["until"] = filters.until.isoformat()
    return where, params


def _ranked_ids(conn: Connection, match: str, filters: SearchFilters, depth: int) -> list[int]:
    where, params = filter_sql(filters)
    weights = ", ".join(str(w) for w in WEIGHTS)
    # FTS5 ranks every match before the LIMIT; filters go in the same statement so a narrow
    # filter does not leave the page short.
    rows = conn.execute(
        text(
            f"SELECT p.id FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
            f"WHERE papers_fts MATCH :match AND {' AND '.join(where)} "
            f"ORDER BY bm25(papers_fts, {weights}) LIMIT :depth"
        ),
        {**params, "match": match, "depth": depth},
    ).all()
    return [int(r[0]) for r in rows]


def keyword_ranking(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    *,
    depth: int = 100,
    column: str | None = None,
    any_term: bool = False,
) -> list[int]:
    """The ids of the ``depth`` best BM25 matches of ``query`` (best first), filtered.

    Every word must match; when no paper has them all (or with ``any_term``), any word may.
    ``column`` (e.g. ``"abstract"``) restricts matching to one indexed column.
    """
    filters = filters or SearchFilters()
    match = build_match(query, any_term=any_term, column=column)
    if match is None:
        return []
    ids = _ranked_ids(conn, match, filters, depth)
    if not ids and " AND " in match:
        ids = _ranked_ids(
            conn, build_match(query, any_term=True, column=column) or match, filters, depth
        )
    return ids


def keyword_marks(conn: Connection, query: str, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Title and abstract snippet with the query's words marked, for those of ``ids`` that
    contain any of them (papers found by meaning alone may contain none)."""
    match = build_match(query, any_term=True)
    if match is None or not ids:
        return {}
    rows = conn.execute(
        text(
            f"SELECT rowid, highlight(papers_fts, 0, '{HIT_START}', '{HIT_END}'), "
            f"snippet(papers_fts, 1, '{HIT_START}', '{HIT_END}', '…', 40) "
            "FROM papers_fts WHERE papers_fts MATCH :match AND rowid IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"match": match, "ids": list(ids)},
    ).all()
    return {int(r[0]): (r[1], r[2]) for r in rows}
