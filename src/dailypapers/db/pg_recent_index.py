"""PostgreSQL's other keyword indexes: GIN indexes of the newest papers only.

Most keyword queries want the newest matches: the word counts that plan a search (on the newest
:data:`~dailypapers.search.fts.SHARE_WINDOW` papers), "the newest 500 matches" of a ranking step,
and a query of common words ranked newest first (:mod:`dailypapers.search.pg_fts`). The whole
GIN index answers them by reading each word's entire list of papers and ANDing it with the
primary key's range, or the planner walks the range testing every paper's vector: at 2.5 M
papers "test time scaling reasoning" read 16,505 papers' entries (three lists of 100-250 k) to
keep the 1,462 in its range, 50-55 ms; an OR of five common words in the newest 10,000 papers
tested each of them, 60-70 ms (benchmarks/pg_search_profile.py, 2026-12-04).

So a PostgreSQL instance of more than :data:`RECENT_MIN_PAPERS` papers keeps a ladder of partial
GIN indexes, tier ``k`` holding the papers above an id (about ``RECENT_WINDOWS[k]`` of them when
it is built). Each is on its own expression (:func:`terms`: ``search_vector`` concatenated with
nothing ``k + 1`` times: the same vector, but an expression only that index has), so the planner
cannot take the whole index, or a larger tier, for a query written with it. A query of the papers
above ``after`` is written for the smallest tier that holds them all, with the tier's ``id > T``
spelt out (:func:`recent_condition`), and reads its words' lists of those papers only: the two
queries above 9 and 11 ms. The answers are the same with or without the indexes: each expression
is the vector itself, and ``id > T`` is implied by the query's own range.

A tier covers every paper above its ``T`` whenever it exists (PostgreSQL keeps it up to date in
the statement that writes a paper), and grows as papers arrive; :func:`place` builds a fresh one
(``CREATE INDEX CONCURRENTLY``: reads and writes go on) when it covers more than twice its window,
then drops the old one. It runs at the start and end of every import
(:func:`dailypapers.db.keyword_index.catch_up`), one builder at a time (an advisory lock); a failed
build leaves only an invalid index, which the next run drops.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dailypapers.db.engine import advisory_key

log = logging.getLogger(__name__)

RECENT_INDEX = "ix_papers_search_recent"  # tier k: RECENT_INDEX + str(k)
# The papers each tier holds when it is built: a query's range is read from the smallest that
# holds it, so from at most ~2 x 5 times the papers it asks for (a week brings ~20 k papers: the
# smallest tier is rebuilt every few weeks, in seconds; the largest about once a year).
RECENT_WINDOWS = (50_000, 250_000, 1_000_000)
# The size of instance that has them (below it the whole index's lists are short enough); a tier
# is built only where it holds at most half the papers.
RECENT_MIN_PAPERS = 1_000_000
# Where each tier starts, as "name=predicate;..." (valid indexes only: a build under way or failed
# is not). For a search's first statement (pg_fts.py, PostgresKeywords.reading).
RECENT_FROM_SQL = (
    "(SELECT string_agg(c.relname || '=' || pg_get_expr(i.indpred, i.indrelid), ';') "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    f"WHERE i.indrelid = to_regclass('papers') AND c.relname LIKE '{RECENT_INDEX}%' "
    "AND i.indisvalid)"
)
_TIER = re.compile(rf"^{RECENT_INDEX}(\d+)=\(?id > '?(\d+)'?(?:::bigint)?\)?$")
_LOCK = advisory_key(RECENT_INDEX)


def terms(alias: str | None, tier: int) -> str:
    """Tier ``tier``'s indexed expression (the paper's vector itself), on papers as ``alias``."""
    column = f"{alias}.search_vector" if alias else "search_vector"
    for _ in range(tier + 1):
        column = f"({column} || ''::tsvector)"
    return column


def parse_starts(listed: str | None) -> dict[int, int]:
    """Each tier's start from :data:`RECENT_FROM_SQL`'s answer."""
    starts = {}
    for part in (listed or "").split(";"):
        found = _TIER.match(part.strip())
        if found:
            starts[int(found.group(1))] = int(found.group(2))
    return starts


def recent_starts(conn: Connection) -> dict[int, int]:
    """The id above which each tier holds every paper (tiers without a valid index left out)."""
    return parse_starts(conn.execute(text(f"SELECT {RECENT_FROM_SQL}")).scalar())


def recent_condition(alias: str, after: int | None, starts: dict[int, int]) -> tuple[str, str]:
    """The vector to match in a query of the papers above ``after``, and a condition to add:
    the smallest tier holding them all, its expression and its range; else the column."""
    holding = [
        (start, tier) for tier, start in starts.items() if after is not None and start <= after
    ]
    if not holding:
        return f"{alias}.search_vector", ""
    start, tier = max(holding)
    return terms(alias, tier), f" AND {alias}.id > {int(start)}"


def place(
    engine: Engine, *, windows: Sequence[int] | None = None, min_papers: int | None = None
) -> dict[int, int]:
    """Build each tier the instance is large enough for (``min_papers``, default
    :data:`RECENT_MIN_PAPERS`, and twice the tier's window) and lacks or has outgrown (more than
    twice its window; default :data:`RECENT_WINDOWS`); return where each starts. A failure is
    logged, never raised: the indexes only make queries faster, and an import must not fail for
    them."""
    try:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")  # CONCURRENTLY: no transaction
            return _place(
                conn,
                RECENT_WINDOWS if windows is None else windows,
                RECENT_MIN_PAPERS if min_papers is None else min_papers,
            )
    except SQLAlchemyError:
        log.warning("could not build the recent keyword indexes", exc_info=True)
        return {}


def _due(newest: int, starts: dict[int, int], windows: Sequence[int], least: int) -> list[int]:
    """The tiers to build: those the instance is large enough for that are missing or hold more
    than twice their window."""
    return [
        k
        for k, w in enumerate(windows)
        if newest >= max(least, 2 * w) and (k not in starts or newest - starts[k] > 2 * w)
    ]


def _place(conn: Connection, windows: Sequence[int], min_papers: int) -> dict[int, int]:
    newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar() or 0)
    starts = recent_starts(conn)
    if not _due(newest, starts, windows, min_papers):
        return starts
    if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK}).scalar():
        return starts  # another process is building them
    try:
        for tier in _due(newest, recent_starts(conn), windows, min_papers):  # (once locked)
            start = max(0, newest - windows[tier])
            name = f"{RECENT_INDEX}{tier}"
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}_new"))  # a failed build's
            conn.execute(
                text(
                    f"CREATE INDEX CONCURRENTLY {name}_new ON papers "
                    f"USING gin ({terms(None, tier)}) WHERE id > {int(start)}"
                )
            )
            conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
            conn.execute(text(f"ALTER INDEX {name}_new RENAME TO {name}"))
            log.info("recent keyword index %d: the papers above id %d", tier, start)
        return recent_starts(conn)
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK})
