"""Keyword search over the FTS5 index with BM25, title weighted above authors above abstract.

User text never reaches FTS5 syntax: :func:`build_match` keeps words and "quoted phrases" and quotes
each one, so ``NEAR``, ``*``, ``-`` and unbalanced quotes or parentheses are just text. All words
must match; when nothing does, any word may (ranked by BM25, so the best overlap comes first).
Rankings are bounded for speed at any corpus size: at most :data:`MAX_RANKED_MATCHES` matches are
scored (the newest), and words most papers contain are left out of a query that has others.
Marks for the shown results are made in Python (:mod:`dailypapers.search.marks`) with
:data:`HIT_START` / :data:`HIT_END`, which the web layer turns into <mark> after escaping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Literal

from sqlalchemy import Connection, text

HIT_START = "\x02"
HIT_END = "\x03"
MAX_TERMS = 24
MAX_TERM_LENGTH = 64
# bm25 column weights: title, abstract, authors
WEIGHTS = (8.0, 1.0, 3.0)
# BM25 ranks at most this many matches of a query: the newest, when more match (counted before
# filters, so a narrow filter cannot make it score them all). FTS5 scores every match before
# ORDER BY ... LIMIT (~4 us each), so "model" over 1 M papers would take seconds; a query that
# broad finds its best papers by meaning (the dense half, filtered exactly) anyway. Scoring costs
# ~30 us a match at 1M papers (phrases more), so 500 keep a search within budget.
MAX_RANKED_MATCHES = 500
# A query leaves out words found in more than this share of papers (we, a, for, propose, method,
# learning): their IDF is near zero, so they hardly move the ranking, but scoring their long
# position lists costs most of the time, and in an any-word query they make every paper a match.
COMMON_WORD_SHARE = 0.2
COMMON_WORD_MIN = 100  # papers needed to tell (a smaller corpus keeps every word)
SHARE_WINDOW = 20_000  # a word's share of papers is counted on the newest this many
# A query whose words never all meet in one paper first tries papers with any two of its rarest
# words (an OR of all pairs of up to this many: 10 pairs at 5), a far smaller and better set than
# papers with any one word; more pairs cost more than they find.
MAX_PAIRED_TERMS = 5
# A long query is matched on its rarest words only: each word's position list is read for every
# candidate, and beyond a handful the rare ones have already picked the papers.
MAX_MATCHED_TERMS = 8
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
    return _match(terms, "OR" if any_term else "AND", column) if terms else None


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
    # "+" keeps SQLite from choosing ix_papers_deleted_at for this (nearly every row passes it;
    # without statistics the planner would scan that index instead of the date or id index)
    where = [f"+{alias}.deleted_at IS NULL"]
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
    params = {**params, "match": match, "depth": depth, "scan": MAX_RANKED_MATCHES}
    body = (
        "FROM papers_fts JOIN papers p ON p.id = papers_fts.rowid "
        f"WHERE papers_fts MATCH :match AND {' AND '.join(where)}"
    )
    # Walking the matches newest first is cheap (no scoring, no filter); the one
    # MAX_RANKED_MATCHES down is the oldest that is ranked. None: fewer match, all are ranked.
    floor = conn.execute(
        text(
            "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match "
            "ORDER BY rowid DESC LIMIT 1 OFFSET :scan"
        ),
        params,
    ).scalar()
    if floor is not None:
        body += " AND papers_fts.rowid >= :floor"
        params["floor"] = floor
    weights = ", ".join(str(w) for w in WEIGHTS)
    rows = conn.execute(
        text(f"SELECT p.id {body} ORDER BY bm25(papers_fts, {weights}) LIMIT :depth"), params
    ).all()
    return [int(r[0]) for r in rows]


def _match(terms: list[str], operator: str, column: str | None) -> str:
    expression = f" {operator} ".join(terms)
    return f"{{{column}}} : ({expression})" if column else expression


def _share(conn: Connection, term: str) -> float:
    """The share of papers containing ``term``, estimated on the newest SHARE_WINDOW papers (a
    bounded count at any corpus size; cached per process, as it changes slowly)."""
    newest = int(conn.execute(text("SELECT max(rowid) FROM papers_fts_docsize")).scalar() or 0)
    key = (str(conn.engine.url), term)
    cached = _share_cache.get(key)
    if cached is not None and cached[1] >= newest - SHARE_WINDOW // 10:
        return cached[0]
    count = conn.execute(
        text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :t AND rowid > :after"),
        {"t": term, "after": newest - SHARE_WINDOW},
    ).scalar_one()
    share = int(count) / max(1, min(newest, SHARE_WINDOW))
    if len(_share_cache) >= 50_000:
        _share_cache.clear()
    _share_cache[key] = (share, newest)
    return share


_share_cache: dict[tuple[str, str], tuple[float, int]] = {}  # (db, term) -> (share, newest id)


def _rarest(conn: Connection, terms: list[str], count: int) -> list[str]:
    """The ``count`` terms found in fewest papers, in query order."""
    keep = sorted(terms, key=lambda t: _share(conn, t))[:count]
    return [t for t in terms if t in keep]


def _informative(conn: Connection, terms: list[str]) -> list[str]:
    """The terms without the very common ones (in more than COMMON_WORD_SHARE of papers),
    unless nothing else is left (or the corpus is too small to tell)."""
    if len(terms) < 2:
        return terms
    size = conn.execute(text("SELECT max(rowid) FROM papers_fts_docsize")).scalar() or 0
    if size < COMMON_WORD_MIN:
        return terms
    rare = [t for t in terms if _share(conn, t) <= COMMON_WORD_SHARE]
    return rare or terms


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

    Every word must match; when no paper has them all, papers with any two of the rarest five
    are ranked, and failing that papers with any one (``any_term`` skips the first step). Words in most
    papers are left out (unless the query has nothing else), and only the eight rarest count.
    ``column`` (e.g. ``"abstract"``) restricts matching to one indexed column.
    """
    filters = filters or SearchFilters()
    terms = _rarest(conn, _informative(conn, _terms(query)), MAX_MATCHED_TERMS)
    if not terms:
        return []
    steps = [_match(terms, "OR", column)]
    if len(terms) > 2:
        paired = _rarest(conn, terms, MAX_PAIRED_TERMS)
        pairs = [f"({a} AND {b})" for a, b in combinations(paired, 2)]
        steps.insert(0, _match(pairs, "OR", column))
    if not any_term and len(terms) > 1:
        steps.insert(0, _match(terms, "AND", column))
    for match in steps:
        ids = _ranked_ids(conn, match, filters, depth)
        if ids:
            return ids
    return []
