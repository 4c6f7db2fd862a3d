"""Keyword queries on PostgreSQL: ``papers.search_vector`` (a weighted ``tsvector``: title A,
authors B, abstract C; migration 0006) in a GIN index, ranked by ``ts_rank_cd``.

User text never becomes tsquery syntax: every word or phrase of the plan is a bind parameter given
to ``phraseto_tsquery``, once with the English configuration (stemmed, as titles and abstracts are
indexed) and once with 'simple' (as author names are), and the pieces are combined in SQL
(``&&``, ``||``, ``tsquery_phrase`` for words a given number of positions apart). A word PostgreSQL
does not index in English (a stop word: "the", "of") still matches names through 'simple'.

**Bitmap scans only.** Left to itself, the planner answered "the newest 500 matches" (``ORDER BY
id DESC LIMIT 501``) and the word counts (``... AND id > :after``) by walking the primary
key and testing every row's ``tsvector``, which it thinks costs nothing. It costs the row's
detoasted vector (~5-9 us and three buffers a row): a misspelt word that matches nothing read all
100,000 papers, 0.5-1.1 s a query, and every count of a word in the newest 10,000 papers ~90 ms
(benchmarks/pg_search_profile.py, 2026-12-03). So a search's keyword queries run with
``enable_indexscan`` and ``enable_seqscan`` off (:meth:`PostgresKeywords.reading`, for the
transaction, restored after): the GIN index finds the matches (and a bitmap of the primary key
narrows them to an id range), so a query reads what its words' posting lists hold, as the reading
budget (:data:`dailypapers.search.fts.POSTINGS_BUDGET`) assumes.

**Newest first.** A GIN index gives a word's matches in no order, so "the newest 500 matches"
read every match's row to sort them by id: a misspelt query left with "machine" (in 249,000 of
2.5 M papers) 0.4-0.9 s, "model" 2 s. The plan says where the newest are likely to start (an id
above which about three times as many matches are expected as are wanted, from the words' shares
of the newest papers: :func:`dailypapers.search.fts.likely_after`), and the query reads the
matches above it first, a bitmap of the primary key's range ANDed with the GIN index's, and all of
them only when those fall short (an estimate may be wrong; the answer never is): "machine" 60 ms,
"privacy" 22-27 ms instead of 150 (2.5 M papers, 2026-12-03). What is left is the GIN index's
read of the words' lists, ~0.23 us a match.

**The newest papers' own indexes.** Past a million papers, reading a common word's list in the
whole GIN index costs more than the rest of the query (0.2 us an entry, 100-250 k entries a word
at 2.5 M papers). A query of the papers above an id that one of the recent indexes holds (most of
them: the word counts, the likely window, a query of common words) reads the smallest such
(:mod:`dailypapers.db.pg_recent_index`; where it starts is read in the search's first statement,
:meth:`PostgresKeywords.reading`, and kept on the connection for the search). A step whose likely
window reaches below them all reads the largest first, as it would a likely window
(:func:`_first_from`).

**One statement a step.** A step of the ranking (all words, pairs, any word) is one statement:
the newest matches in a materialised CTE (the GIN index read once), then the filter and
``ts_rank_cd`` on those rows only (:meth:`PostgresKeywords.ranked`; tests/test_pg_search_trips.py
holds the two statements it replaced and compares the answers).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from typing import Literal

from sqlalchemy import Connection, bindparam, text

from dailypapers.db.pg_recent_index import RECENT_FROM_SQL, parse_starts, recent_condition
from dailypapers.search.fts_query import Column, Match, Phrase

# ts_rank_cd's weights, in its order {D, C, B, A}: abstract (C) 1, authors (B) 3, title (A) 8, as
# FTS5's BM25 weighs the columns (scaled into 0..1; D is not used).
RANK_WEIGHTS = "{0.1, 0.125, 0.375, 1.0}"
# ts_rank_cd normalisation: divide by 1 + log(the paper's length) (long abstracts do not win by
# length alone, as BM25's length normalisation does on SQLite).
RANK_NORMALISATION = 1
WEIGHT_OF: dict[Column, Literal["a", "b", "c"]] = {"title": "a", "authors": "b", "abstract": "c"}
# What the ranking reads of each of the newest matches: its vector, and what the search's filters
# (:func:`dailypapers.search.filters.filter_sql`, on papers as ``p``) test.
_NEWEST_COLUMNS = "p.id, p.search_vector, p.deleted_at, p.announced_on"
# Word counts in one statement at most (PostgreSQL's limit is 1,664 columns; a query's words are
# up to 24 and a quoted phrase's as many as its 4,096 characters hold).
COUNTS_PER_STATEMENT = 200
# Where the recent indexes start, for this connection's search (set by PostgresKeywords.reading).
_RECENT_FROM = "dailypapers.pg_recent_from"


class _Query:
    """A tsquery expression in SQL and its bind parameters (words only)."""

    def __init__(self) -> None:
        self.params: dict[str, object] = {}
        self._names = count()

    def bind(self, value: str) -> str:
        name = f"w{next(self._names)}"
        self.params[name] = value
        return f":{name}"

    def phrase(self, phrase: Phrase) -> str:
        parts = []
        for group in phrase.groups:
            words = self.bind(" ".join(group))
            parts.append(
                f"(phraseto_tsquery('english', {words}) || phraseto_tsquery('simple', {words}))"
            )
        sql = parts[0]
        for gap, part in zip(phrase.gaps, parts[1:], strict=True):
            sql = f"tsquery_phrase({sql}, {part}, {gap + 1})"
        return sql

    def match(self, match: Match | Phrase) -> str:
        if isinstance(match, Phrase):
            return self.phrase(match)
        operator = " && " if match.op == "and" else " || "
        return "(" + operator.join(self.match(part) for part in match.parts) + ")"


def tsquery(match: Match | Phrase) -> tuple[str, dict[str, object]]:
    """The plan as a tsquery SQL expression and its parameters (for tests and the engine)."""
    query = _Query()
    return query.match(match), query.params


def _recent_from(conn: Connection) -> dict[int, int]:
    found = conn.info.get(_RECENT_FROM)
    return found if isinstance(found, dict) else {}


def _first_from(conn: Connection, likely: int | None, after: int) -> int | None:
    """Where a step reads its newest matches from first: the plan's likely start, or, where that
    lies below every recent index (or there is none) and the step reads below them too, the
    start of the largest: its matches cost far less to read, and when too few are there the
    older ones are read as well, so the answer is the same."""
    starts = _recent_from(conn)
    lowest = min(starts.values(), default=None)
    if lowest is not None and lowest > after and (likely is None or likely < lowest):
        return lowest
    return likely


def _matching(
    conn: Connection, match: Match, after: int | None, alias: str = "p"
) -> tuple[str, dict[str, object]]:
    """A WHERE condition on papers as ``alias`` for ``match`` among the papers above ``after``
    (None: all; the caller adds that range): a GIN index finds the papers, the smallest of the
    recent ones that holds them all; a column restriction keeps those whose match lies in that
    column's weight."""
    sql, params = tsquery(match)
    vector, recent = recent_condition(alias, after, _recent_from(conn))
    condition = f"{vector} @@ {sql}{recent}"
    if match.column is not None:
        condition += (
            f" AND ts_filter({alias}.search_vector, '{{{WEIGHT_OF[match.column]}}}') @@ {sql}"
        )
    return condition, params


class PostgresKeywords:
    """:class:`~dailypapers.search.fts_query.KeywordEngine` over ``papers.search_vector``."""

    @contextmanager
    def reading(self, conn: Connection) -> Iterator[int]:
        """Bitmap scans only (no plain index scans, no sequential scans) for this search's
        keyword queries, so ``search_vector @@`` is answered by the GIN index (see the module
        docstring). The settings are the transaction's, restored afterwards. Gives
        :meth:`newest`, read in the same statement: planned before the settings change (they
        change as it runs), so still an index-only read of the primary key's end (under the
        settings it was a 90 ms bitmap scan of every row), and where the recent indexes start
        (kept on the connection until the end)."""
        before = conn.execute(
            text(
                "SELECT max(id), current_setting('enable_indexscan'), "
                "current_setting('enable_seqscan'), "
                "set_config('enable_indexscan', 'off', true), "
                f"set_config('enable_seqscan', 'off', true), {RECENT_FROM_SQL} FROM papers"
            )
        ).one()
        conn.info[_RECENT_FROM] = parse_starts(before[5])
        yield int(before[0] or 0)  # (after an error nothing is restored: the transaction is
        # rolled back, and with it the settings; a statement now would fail again and hide it)
        conn.execute(
            text(
                "SELECT set_config('enable_indexscan', :i, true), "
                "set_config('enable_seqscan', :s, true)"
            ),
            {"i": before[1], "s": before[2]},
        )
        conn.info.pop(_RECENT_FROM, None)

    def newest(self, conn: Connection) -> int:
        return int(conn.execute(text("SELECT max(id) FROM papers")).scalar() or 0)

    def count(self, conn: Connection, phrase: Phrase, after: int) -> int | None:
        return self.counts(conn, [phrase], after)[0]

    def counts(self, conn: Connection, phrases: Sequence[Phrase], after: int) -> list[int | None]:
        """Each phrase's count in one statement (one round trip for a query's words), or one per
        :data:`COUNTS_PER_STATEMENT` phrases (a long quoted phrase: a target list holds at most
        1,664 columns)."""
        found: list[int | None] = []
        for start in range(0, len(phrases), COUNTS_PER_STATEMENT):
            found += self._counts(conn, phrases[start : start + COUNTS_PER_STATEMENT], after)
        return found

    def _counts(self, conn: Connection, phrases: Sequence[Phrase], after: int) -> list[int | None]:
        query = _Query()
        columns = []
        vector, recent = recent_condition("p", after, _recent_from(conn))
        for phrase in phrases:
            first = f":w{len(query.params)}"  # the name its first word is bound to
            sql = query.phrase(phrase)
            counted = (
                f"(SELECT count(*) FROM papers p WHERE {vector} @@ {sql}{recent} AND p.id > :after)"
            )
            if len(phrase.groups) == 1 and len(phrase.groups[0]) == 1:
                # counted only when English indexes the word (CASE runs it lazily)
                counted = f"CASE WHEN numnode(phraseto_tsquery('english', {first})) > 0 THEN {counted} END"
            columns.append(counted)
        if not columns:
            return []
        row = conn.execute(
            text(f"SELECT {', '.join(columns)}"), {**query.params, "after": after}
        ).one()
        return [None if found is None else int(found) for found in row]

    def ranked(
        self,
        conn: Connection,
        match: Match,
        where: list[str],
        params: dict[str, object],
        depth: int,
        scan: int,
        likely_after: int | None = None,
    ) -> list[int]:
        """The newest ``scan`` + 1 matches above ``likely_after`` first, all only when fewer are
        there (see the module docstring, "Newest first")."""
        likely_after = _first_from(conn, likely_after, 0)
        if likely_after is not None and likely_after > 0:
            found, ids = self._ranked(conn, match, where, params, depth, scan, likely_after)
            if found > scan:
                return ids
        return self._ranked(conn, match, where, params, depth, scan, None)[1]

    def _ranked(
        self,
        conn: Connection,
        match: Match,
        where: list[str],
        params: dict[str, object],
        depth: int,
        scan: int,
        after: int | None,
    ) -> tuple[int, list[int]]:
        """How many of the newest ``scan`` + 1 matches above ``after`` there are, and the
        ``depth`` best of them that pass ``where``."""
        condition, words = _matching(conn, match, after)
        sql, _ = tsquery(match)
        rank = f"ts_rank_cd('{RANK_WEIGHTS}', p.search_vector, {sql}, {RANK_NORMALISATION})"
        if after is not None:
            condition += " AND p.id > :after"
        # One statement, one pass over the matches: the newest ``scan`` + 1 (walking them newest
        # first is cheap: no scoring, no filter; the GIN index is read once), then the filter and
        # the scoring of those only. (Two statements before: the oldest match that is ranked,
        # ``ORDER BY id DESC OFFSET scan``, then the ranking of the matches from that id on,
        # which read the GIN index again: 5-15 ms for a query of many words at 100 k papers.)
        found, ids = conn.execute(
            text(
                f"WITH newest AS MATERIALIZED (SELECT {_NEWEST_COLUMNS} FROM papers p "
                f"WHERE {condition} ORDER BY p.id DESC LIMIT :scan) "
                "SELECT (SELECT count(*) FROM newest), ARRAY(SELECT p.id FROM newest p "
                f"WHERE {' AND '.join(where) or 'true'} "
                f"ORDER BY {rank} DESC, p.id LIMIT :depth)"  # ties as FTS5 gives them: by id
            ),
            {**params, **words, "depth": depth, "scan": scan + 1}
            | ({} if after is None else {"after": after}),
        ).one()
        return int(found), [int(i) for i in ids]

    def recent(
        self, conn: Connection, match: Match, after: int, scan: int, likely_after: int | None = None
    ) -> list[int]:
        """The matches above ``likely_after`` first, then, if fewer than ``scan``, the older
        ones down to ``after``."""
        likely_after = _first_from(conn, likely_after, after)
        if likely_after is None or likely_after <= after:
            return self._recent(conn, match, after, None, scan)
        ids = self._recent(conn, match, likely_after, None, scan)
        if len(ids) < scan:
            ids += self._recent(conn, match, after, likely_after, scan - len(ids))
        return ids

    def _recent(
        self, conn: Connection, match: Match, after: int, upto: int | None, scan: int
    ) -> list[int]:
        condition, words = _matching(conn, match, after)
        if upto is not None:
            condition += " AND p.id <= :upto"
        return [
            int(i)
            for i in conn.execute(
                text(
                    f"SELECT p.id FROM papers p WHERE {condition} AND p.id > :after "
                    "ORDER BY p.id DESC LIMIT :scan"
                ),
                {**words, "after": after, "scan": scan} | ({} if upto is None else {"upto": upto}),
            ).scalars()
        ]

    def in_title(self, conn: Connection, match: Match, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        sql, words = tsquery(match)
        return {
            int(i)
            for i in conn.execute(
                text(
                    "SELECT p.id FROM papers p WHERE p.id IN :ids "
                    f"AND ts_filter(p.search_vector, '{{a}}') @@ {sql}"
                ).bindparams(bindparam("ids", expanding=True)),
                {**words, "ids": ids},
            ).scalars()
        }
