"""Keyword search over the FTS5 index with BM25, title weighted above authors above abstract.

User text never reaches FTS5 syntax: :func:`_terms` keeps words and "quoted phrases" and they are
quoted again, so ``NEAR``, ``*``, ``-`` and unbalanced quotes or parentheses are just text. All
words must match; when nothing does, any word may (ranked by BM25, so the best overlap comes first).
Rankings are bounded for speed at any corpus size: at most :data:`MAX_RANKED_MATCHES` matches are
scored (the newest), and words most papers contain are left out of a query, and out of a phrase,
that has others.
Marks for the shown results are made in Python (:mod:`dailypapers.search.marks`) with
:data:`HIT_START` / :data:`HIT_END`, which the web layer turns into <mark> after escaping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Literal

from sqlalchemy import Connection, bindparam, text

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
SHARE_WINDOW = 10_000  # a word's share of papers is counted on the newest this many
# A query whose words never all meet in one paper first tries papers with any two of its rarest
# words (an OR of all pairs of up to this many: 10 pairs at 5), a far smaller and better set than
# papers with any one word; more pairs cost more than they find.
MAX_PAIRED_TERMS = 5
# A long query is matched on its rarest words only: each word's position list is read for every
# candidate, and beyond a handful the rare ones have already picked the papers.
MAX_MATCHED_TERMS = 8
# What a keyword search may read: FTS5 reads the position lists of the query's words, for
# matching and again for BM25 (which counts every paper with each word, to weigh it), ~50-100 ns
# a paper. A query is matched on its MIN_MATCHED_TERMS rarest terms, and on more of them (up to
# MAX_MATCHED_TERMS) while their lists hold at most POSTINGS_BUDGET papers in all. A query whose
# lists are longer even so (only common words, like "efficient systems" or "can we" at 1 M papers)
# is matched on the newest papers only, as many as the budget reads, and ranked without BM25:
# title matches first, then newest first (see _recent_ids). ~10 ms at 1 M papers on 2 cores.
POSTINGS_BUDGET = 100_000
MIN_MATCHED_TERMS = 3
_TOKEN_RE = re.compile(r'"([^"]*)"|([^\W_]+(?:[.\'-][^\W_]+)*)', re.UNICODE)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)

SearchSort = Literal["relevance", "date", "upvotes"]


def _terms(query: str) -> list[tuple[str, ...]]:
    """The query's words and "quoted phrases", each as its words (at most MAX_TERMS)."""
    terms: list[tuple[str, ...]] = []
    for phrase, word in _TOKEN_RE.findall(query[:4096]):
        words = _WORD_RE.findall(phrase if phrase else word)
        if words:
            terms.append(tuple(w[:MAX_TERM_LENGTH] for w in words))
        if len(terms) >= MAX_TERMS:
            break
    return terms


def _quoted(words: Sequence[str]) -> str:
    return '"' + " ".join(words) + '"'


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


def kept_ids(conn: Connection, ids: Sequence[int], filters: SearchFilters) -> list[int]:
    """``ids`` in their order, without those that are deleted or outside the filter."""
    if not ids:
        return []
    where, params = filter_sql(filters)
    allowed = set(
        conn.execute(
            text(
                f"SELECT p.id FROM papers p WHERE p.id IN :ids AND {' AND '.join(where)}"
            ).bindparams(bindparam("ids", expanding=True)),
            {**params, "ids": list(ids)},
        ).scalars()
    )
    return [i for i in ids if i in allowed]


def _ranked_ids(conn: Connection, match: str, filters: SearchFilters, depth: int) -> list[int]:
    """The ``depth`` best matches by BM25, of the newest MAX_RANKED_MATCHES, filtered."""
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


def _recent_ids(
    conn: Connection,
    match: str,
    filters: SearchFilters,
    depth: int,
    after: int,
    column: str | None,
) -> list[int]:
    """The ``depth`` best of the newest MAX_RANKED_MATCHES matches with a rowid above ``after``,
    filtered, without BM25 (too costly for these words): title matches first, then newest first."""
    params = {"match": match, "after": after, "scan": MAX_RANKED_MATCHES}
    ids = [
        int(i)
        for i in conn.execute(
            text(
                "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :match AND rowid > :after "
                "ORDER BY rowid DESC LIMIT :scan"
            ),
            params,
        ).scalars()
    ]
    if not ids:
        return []
    if column is None:
        titled = set(
            conn.execute(
                text(
                    "SELECT rowid FROM papers_fts WHERE papers_fts MATCH :title AND rowid >= :low"
                ),
                {"title": f"{{title}} : ({match})", "low": ids[-1]},
            ).scalars()
        )
        ids.sort(key=lambda i: i not in titled)  # stable: newest first within each
    return kept_ids(conn, ids, filters)[:depth]


def _match(terms: list[str], operator: str, column: str | None) -> str:
    expression = f" {operator} ".join(terms)
    return f"{{{column}}} : ({expression})" if column else expression


def _newest(conn: Connection) -> int:
    """The highest rowid of the keyword index: about the number of papers in it."""
    return int(conn.execute(text("SELECT max(rowid) FROM papers_fts_docsize")).scalar() or 0)


class WordShares:
    """A cache of the share of papers each word or phrase is in, per database.

    Shares change slowly, so a process keeps them (its :class:`dailypapers.runtime.Runtime` owns
    one) and recounts a word only after about a tenth of SHARE_WINDOW new papers. Each count is
    bounded: it is taken on the newest SHARE_WINDOW papers, at any corpus size.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[float, int]] = {}  # (db, term) -> (share, newest)

    def share(self, conn: Connection, term: str, newest: int) -> float:
        """The share of papers containing ``term``; ``newest``: :func:`_newest`, asked once per
        search."""
        key = (str(conn.engine.url), term)
        cached = self._cache.get(key)
        if cached is not None and cached[1] >= newest - SHARE_WINDOW // 10:
            return cached[0]
        count = conn.execute(
            text("SELECT count(*) FROM papers_fts WHERE papers_fts MATCH :t AND rowid > :after"),
            {"t": term, "after": newest - SHARE_WINDOW},
        ).scalar_one()
        share = int(count) / max(1, min(newest, SHARE_WINDOW))
        if len(self._cache) >= self.MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = (share, newest)
        return share

    def clear(self) -> None:
        self._cache.clear()


@dataclass(frozen=True, slots=True)
class _Term:
    """One term of a query as FTS5 syntax, the share of papers it matches (the rarer, the more it
    tells), and about how many papers' positions FTS5 reads for it (every word's: a phrase is
    matched by reading each of its words' lists)."""

    syntax: str
    share: float
    postings: float


def _common(conn: Connection, shares: WordShares, word: str, newest: int) -> bool:
    """Whether ``word`` is in more than COMMON_WORD_SHARE of papers (never, in a small corpus)."""
    return (
        newest >= COMMON_WORD_MIN
        and shares.share(conn, _quoted([word]), newest) > COMMON_WORD_SHARE
    )


def _phrase(conn: Connection, shares: WordShares, words: tuple[str, ...], newest: int) -> _Term:
    """One query term: a word, or a phrase without its very common words.

    A common word's position list is most of the index (e.g. "for" in "for image goal": ~100 ms at
    1 M papers). So a phrase with rarer words leaves the common ones out: the rest stay in order as
    one phrase, or, when common words stood between them, within that many words of each other
    (``"state of the art"`` is ``NEAR("state" "art", 2)``). A phrase of common words only is kept.
    """
    common = [_common(conn, shares, word, newest) for word in words]
    if all(common) or not any(common):
        kept = [[*words]]
    else:
        kept = []
        gap = between = 0
        for word, is_common in zip(words, common, strict=True):
            if is_common:
                gap += 1 if kept else 0
            elif kept and gap == 0:
                kept[-1].append(word)
            else:
                kept.append([word])
                between += gap
                gap = 0
    syntax = (
        _quoted(kept[0])
        if len(kept) == 1
        else f"NEAR({' '.join(_quoted(group) for group in kept)}, {between})"
    )
    postings = (
        sum(shares.share(conn, _quoted([w]), newest) for group in kept for w in group) * newest
    )
    return _Term(syntax, shares.share(conn, syntax, newest), postings)


def _informative(
    conn: Connection, shares: WordShares, terms: list[tuple[str, ...]], newest: int
) -> list[_Term]:
    """The terms without the very common words (in more than COMMON_WORD_SHARE of papers),
    unless nothing else is left (or the corpus is too small to tell); phrases lose their common
    words (:func:`_phrase`)."""
    rare = [t for t in terms if len(t) > 1 or not _common(conn, shares, t[0], newest)]
    return [_phrase(conn, shares, t, newest) for t in rare or terms]


def _affordable(terms: list[_Term]) -> list[_Term]:
    """The rarest MIN_MATCHED_TERMS terms, and more (up to MAX_MATCHED_TERMS) while all their
    position lists stay within POSTINGS_BUDGET, in query order."""
    chosen: list[_Term] = []
    total = 0.0
    for term in sorted(terms, key=lambda t: t.share):
        if len(chosen) >= MAX_MATCHED_TERMS:
            break
        if len(chosen) >= MIN_MATCHED_TERMS and total + term.postings > POSTINGS_BUDGET:
            break
        chosen.append(term)
        total += term.postings
    return [t for t in terms if t in chosen]


def keyword_ranking(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    *,
    depth: int = 100,
    column: str | None = None,
    any_term: bool = False,
    shares: WordShares | None = None,
) -> list[int]:
    """The ids of the ``depth`` best BM25 matches of ``query`` (best first), filtered.

    Every word must match; when no paper has them all, papers with any two of the rarest five
    are ranked, and failing that papers with any one (``any_term`` skips the first step). Words in
    most papers are left out (unless the query has nothing else), and of a long query only the
    rarest count (:data:`POSTINGS_BUDGET`). ``column`` (e.g. ``"abstract"``) restricts matching to
    one indexed column. ``shares``: the process's word-share cache (without one, shares are
    counted afresh for this query).
    """
    filters = filters or SearchFilters()
    newest = _newest(conn)
    terms = _affordable(_informative(conn, shares or WordShares(), _terms(query), newest))
    if not terms:
        return []
    cost = sum(t.postings for t in terms)
    after = newest - int(newest * POSTINGS_BUDGET / cost) if cost > POSTINGS_BUDGET else None
    syntax = [t.syntax for t in terms]
    steps = [_match(syntax, "OR", column)]
    if len(terms) > 2:
        paired = sorted(terms, key=lambda t: t.share)[:MAX_PAIRED_TERMS]
        pairs = [f"({a.syntax} AND {b.syntax})" for a, b in combinations(paired, 2)]
        steps.insert(0, _match(pairs, "OR", column))
    if not any_term and len(terms) > 1:
        steps.insert(0, _match(syntax, "AND", column))
    for match in steps:
        if after is None:
            ids = _ranked_ids(conn, match, filters, depth)
        else:
            ids = _recent_ids(conn, match, filters, depth, after, column)
        if ids:
            return ids
    return []
