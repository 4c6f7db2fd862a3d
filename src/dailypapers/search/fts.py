"""Keyword search, the same rules on both backends: which words a query matches on, in which steps,
within which reading budget. The query half of the keyword-index seam.

Each backend's engine turns the plan into its own SQL (:func:`keyword_engine`): FTS5 with BM25 on
SQLite (:mod:`dailypapers.search.fts5`), the weighted ``tsvector`` with ``ts_rank_cd`` on PostgreSQL
(:mod:`dailypapers.search.pg_fts`). Both rank title above authors above abstract.

User text never reaches either query syntax: :func:`_terms` keeps words and "quoted phrases" (words
being runs of letters and digits), and the engines build their queries from those words alone, so
``NEAR``, ``*``, ``-``, ``:``, ``&``, ``|``, ``!``, ``<->`` and unbalanced quotes or parentheses are
just text. All words must match; when no paper has them all, papers with any two of the rarest five
are ranked, and failing that papers with any one. Rankings are bounded for speed at any corpus size:
at most :data:`MAX_RANKED_MATCHES` matches are scored (the newest), and words most papers contain are
left out of a query, and out of a phrase, that has others.
Marks for the shown results are made in Python (:mod:`dailypapers.search.marks`) with
:data:`HIT_START` / :data:`HIT_END`, which the web layer turns into <mark> after escaping.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import Connection

from dailypapers.db.engine import Backend, backend_of
from dailypapers.search.filters import SearchFilters, SearchSort, filter_sql, kept_ids
from dailypapers.search.fts5 import Fts5Keywords
from dailypapers.search.fts_query import Column, KeywordEngine, Match, Phrase
from dailypapers.search.pg_fts import PostgresKeywords

__all__ = [
    "HIT_END",
    "HIT_START",
    "SearchFilters",
    "SearchSort",
    "WordShares",
    "filter_sql",
    "keyword_ranking",
    "kept_ids",
    "informative_words",
    "SHARE_WINDOW",
]

HIT_START = "\x02"
HIT_END = "\x03"
MAX_TERMS = 24
MAX_TERM_LENGTH = 64
# At most this many matches of a query are ranked: the newest, when more match (counted before
# filters, so a narrow filter cannot make it score them all). Scoring costs every match (FTS5's
# BM25 ~30 us a match at 1 M papers, phrases more; ts_rank_cd reads each paper's vector), so "model"
# over 1 M papers would take seconds; a query that broad finds its best papers by meaning (the
# dense half, filtered exactly) anyway.
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
# What a keyword search may read: the index's lists of the papers holding each query word, for
# matching and again for ranking, ~50-100 ns a paper. A query is matched on its MIN_MATCHED_TERMS
# rarest terms, and on more of them (up to MAX_MATCHED_TERMS) while their lists hold at most
# POSTINGS_BUDGET papers in all. A query whose lists are longer even so (only common words, like
# "efficient systems" or "can we" at 1 M papers) is matched on the newest papers only, as many as
# the budget reads, and ranked without scoring: title matches first, then newest first.
POSTINGS_BUDGET = 100_000
MIN_MATCHED_TERMS = 3
# Where the newest matches likely start (:func:`likely_after`): the id above which this many
# times the matches wanted are expected, from the words' shares of the newest papers; never a
# window narrower than MIN_WINDOW papers. Only PostgreSQL uses it (pg_fts.py, "Newest first").
WINDOW_MARGIN = 3.0
MIN_WINDOW = 10_000
_TOKEN_RE = re.compile(r'"([^"]*)"|([^\W_]+(?:[.\'-][^\W_]+)*)', re.UNICODE)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
# The share of a word the backend does not index at all (PostgreSQL's English stop words): as
# common as a word can be, so it is left out like one.
UNINDEXED = math.inf


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


def keyword_engine(conn: Connection) -> KeywordEngine:
    """The engine of the connection's backend (FTS5 on SQLite, tsvector on PostgreSQL)."""
    return _ENGINES[backend_of(conn)]


_ENGINES: dict[Backend, KeywordEngine] = {
    "sqlite": Fts5Keywords(),
    "postgresql": PostgresKeywords(),
}


# --- the plan: word shares, common words, the budget --------------------------------------------


class WordShares:
    """A cache of the share of papers each word or phrase is in, per database.

    Shares change slowly, so a process keeps them (its :class:`dailypapers.runtime.Runtime` owns
    one) and recounts a word only after about a tenth of SHARE_WINDOW new papers. Each count is
    bounded: it is taken on the newest SHARE_WINDOW papers, at any corpus size.
    """

    MAX_ENTRIES = 50_000

    def __init__(self) -> None:
        self._cache: dict[
            tuple[str, Phrase], tuple[float, int]
        ] = {}  # (db, term) -> (share, newest)

    def share(self, conn: Connection, phrase: Phrase, newest: int) -> float:
        """The share of papers containing ``phrase`` (:data:`UNINDEXED` for a word the backend
        does not index); ``newest``: the engine's, asked once per search."""
        return self.count(conn, [phrase], newest)[phrase]

    def count(
        self, conn: Connection, phrases: Sequence[Phrase], newest: int
    ) -> dict[Phrase, float]:
        """The shares of ``phrases``: those not counted recently are counted together (on
        PostgreSQL one statement: a query's words cost one round trip, not one each). Answered
        from what this call found or counted, not read back from the cache: the process's
        requests share it, and another's may empty it meanwhile."""
        url = str(conn.engine.url)
        found: dict[Phrase, float] = {}
        missing = []
        for phrase in dict.fromkeys(phrases):
            cached = self._cache.get((url, phrase))
            if cached is not None and cached[1] >= newest - SHARE_WINDOW // 10:
                found[phrase] = cached[0]
            else:
                missing.append(phrase)
        if not missing:
            return found
        counts = keyword_engine(conn).counts(conn, missing, newest - SHARE_WINDOW)
        if len(self._cache) + len(missing) > self.MAX_ENTRIES:
            self._cache.clear()
        for phrase, count in zip(missing, counts, strict=True):
            share = UNINDEXED if count is None else count / max(1, min(newest, SHARE_WINDOW))
            self._cache[(url, phrase)] = (share, newest)
            found[phrase] = share
        return found

    def clear(self) -> None:
        self._cache.clear()


@dataclass(frozen=True, slots=True)
class _Term:
    """One term of a query, the share of papers it matches (the rarer, the more it tells), and
    about how many papers' positions are read for it (every indexed word's: a phrase is matched by
    reading each of its words' lists)."""

    phrase: Phrase
    share: float
    postings: float


def _common(conn: Connection, shares: WordShares, word: str, newest: int) -> bool:
    """Whether ``word`` is in more than COMMON_WORD_SHARE of papers (never, in a small corpus,
    unless the backend does not index it at all)."""
    share = shares.share(conn, Phrase.of(word), newest)
    return share == UNINDEXED or (newest >= COMMON_WORD_MIN and share > COMMON_WORD_SHARE)


def _phrase(conn: Connection, shares: WordShares, words: tuple[str, ...], newest: int) -> _Term:
    """One query term: a word, or a phrase without its very common words.

    A common word's position list is most of the index (e.g. "for" in "for image goal": ~100 ms at
    1 M papers). So a phrase with rarer words leaves the common ones out: the rest stay in order,
    as many words apart as there were common words between them (``"state of the art"`` with
    only "of" and "the" common is "state", two words, "art"). A phrase of common words only is kept.
    """
    common = [_common(conn, shares, word, newest) for word in words]
    if all(common) or not any(common):
        phrase = Phrase.of(*words)
    else:
        groups: list[list[str]] = []
        gaps: list[int] = []
        gap = 0
        for word, is_common in zip(words, common, strict=True):
            if is_common:
                gap += 1 if groups else 0
            elif groups and gap == 0:
                groups[-1].append(word)
            else:
                if groups:
                    gaps.append(gap)
                groups.append([word])
                gap = 0
        phrase = Phrase(tuple(tuple(g) for g in groups), tuple(gaps))
    word_shares = (shares.share(conn, Phrase.of(w), newest) for g in phrase.groups for w in g)
    postings = sum(s for s in word_shares if s != UNINDEXED) * newest
    return _Term(phrase, shares.share(conn, phrase, newest), postings)


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


def _share(part: Match | Phrase, shares: dict[Phrase, float]) -> float | None:
    """About the share of papers ``part`` matches: words as counted, "and" as if independent (a
    product: too low when they go together, which only widens the window), "or" a sum. (The
    rarest part's share for "and", as if they always went together, was tried: its windows fell
    short and were read twice, keyword p95 over the 150 user queries at 2.5 M papers 200 ms
    against the product's 99-112 and 420-470 without windows.)"""
    if isinstance(part, Phrase):
        share = shares.get(part)
        return None if share is None or share == UNINDEXED else share
    found = [_share(p, shares) for p in part.parts]
    if any(s is None for s in found):
        return None
    known = [s for s in found if s is not None]
    return math.prod(known) if part.op == "and" else min(1.0, sum(known))


def likely_after(match: Match, shares: dict[Phrase, float], newest: int, wanted: int) -> int | None:
    """An id above which about WINDOW_MARGIN times ``wanted`` papers match ``match``; None when
    that window is no narrower than every paper, the share is unknown, or ``match`` is limited to
    a column (fewer match than its words' shares say). A hint for the engine, never a bound."""
    share = _share(match, shares)
    if match.column is not None or not share:
        return None
    window = max(MIN_WINDOW, WINDOW_MARGIN * wanted / share)
    return newest - math.ceil(window) if window < newest else None


# --- running the plan ---------------------------------------------------------------------------


def _recent_ids(
    conn: Connection,
    engine: KeywordEngine,
    match: Match,
    filters: SearchFilters,
    depth: int,
    after: int,
    likely: int | None,
) -> list[int]:
    """The ``depth`` best of the newest MAX_RANKED_MATCHES matches with an id above ``after``,
    filtered, without scoring (too costly for these words): title matches first, then newest."""
    ids = engine.recent(conn, match, after, MAX_RANKED_MATCHES, likely)
    if not ids:
        return []
    if match.column is None:
        titled = engine.in_title(conn, match, ids)
        ids.sort(key=lambda i: i not in titled)  # stable: newest first within each
    return kept_ids(conn, ids, filters)[:depth]


def keyword_ranking(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    *,
    depth: int = 100,
    column: Column | None = None,
    any_term: bool = False,
    shares: WordShares | None = None,
) -> list[int]:
    """The ids of the ``depth`` best matches of ``query`` (best first), filtered.

    Every word must match; when no paper has them all, papers with any two of the rarest five
    are ranked, and failing that papers with any one (``any_term`` skips the first step). Words in
    most papers are left out (unless the query has nothing else), and of a long query only the
    rarest count (:data:`POSTINGS_BUDGET`). ``column`` (e.g. ``"abstract"``) restricts matching to
    one indexed column. ``shares``: the process's word-share cache (without one, shares are
    counted afresh for this query).
    """
    filters = filters or SearchFilters()
    engine = keyword_engine(conn)
    with engine.reading(conn) as newest:
        return _keyword_ranking(
            conn, engine, newest, query, filters, depth, column, any_term, shares
        )


def informative_words(
    conn: Connection, query: str, newest: int, shares: WordShares | None = None
) -> dict[str, float]:
    """The query's informative words (as :func:`keyword_ranking` keeps them: very common ones
    left out, the words of phrases one by one), each with the share of papers it is in, counted
    on the newest ``min(newest, SHARE_WINDOW)`` (from ``shares`` when the keyword half counted
    them: no statement); words the backend does not index are left out."""
    shares = shares or WordShares()
    typed = _terms(query)
    shares.count(conn, [Phrase.of(word) for term in typed for word in term], newest)
    terms = _informative(conn, shares, typed, newest)
    words = {w for t in terms for g in t.phrase.groups for w in g}
    found = {w: shares.share(conn, Phrase.of(w), newest) for w in words}
    return {w: s for w, s in found.items() if s != UNINDEXED}


def _keyword_ranking(
    conn: Connection,
    engine: KeywordEngine,
    newest: int,
    query: str,
    filters: SearchFilters,
    depth: int,
    column: Column | None,
    any_term: bool,
    shares: WordShares | None,
) -> list[int]:
    shares = shares or WordShares()
    typed = _terms(query)
    shares.count(conn, [Phrase.of(word) for term in typed for word in term], newest)  # at once
    terms = _affordable(_informative(conn, shares, typed, newest))
    if not terms:
        return []
    cost = sum(t.postings for t in terms)
    after = newest - int(newest * POSTINGS_BUDGET / cost) if cost > POSTINGS_BUDGET else None
    phrases = tuple(t.phrase for t in terms)
    steps = [Match("or", phrases, column)]
    if len(terms) > 2:
        paired = [t.phrase for t in sorted(terms, key=lambda t: t.share)[:MAX_PAIRED_TERMS]]
        pairs = tuple(Match("and", pair) for pair in combinations(paired, 2))
        steps.insert(0, Match("or", pairs, column))
    if not any_term and len(terms) > 1:
        steps.insert(0, Match("and", phrases, column))
    where, params = filter_sql(conn, filters)
    known = {t.phrase: t.share for t in terms}
    for match in steps:
        likely = likely_after(match, known, newest, MAX_RANKED_MATCHES + 1)
        if after is None:
            ids = engine.ranked(conn, match, where, params, depth, MAX_RANKED_MATCHES, likely)
        else:
            ids = _recent_ids(conn, engine, match, filters, depth, after, likely)
        if ids:
            return ids
    return []
