"""PostgreSQL's indexes of the newest papers (src/dailypapers/db/pg_recent_index.py): the keyword
queries of papers above a tier's start read the smallest such tier and answer as the whole index
does; tiers are built when due, rebuilt when outgrown, one builder at a time, by every import's
catch-up, and a failed build neither fails the import nor lingers."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from dailypapers.db import keyword_index, pg_recent_index
from dailypapers.db.pg_recent_index import (
    RECENT_INDEX,
    parse_starts,
    place,
    recent_condition,
    recent_starts,
    terms,
)
from dailypapers.search import fts
from dailypapers.search.filters import SearchFilters
from dailypapers.search.fts import keyword_ranking
from dailypapers.search.fts_query import Phrase
from dailypapers.search.pg_fts import PostgresKeywords, _first_from
from dailypapers.vectors.pgvector import PgVectorIndex
from tests.test_pg_search_trips import QUERIES, corpus  # noqa: F401  (a fixture)

pytestmark = pytest.mark.only_backend("postgresql")


def _indexes(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            str(name): int(oid)
            for name, oid in conn.execute(
                text(
                    "SELECT c.relname, c.oid FROM pg_index i JOIN pg_class c "
                    f"ON c.oid = i.indexrelid WHERE c.relname LIKE '{RECENT_INDEX}%'"
                )
            )
        }


def _newest(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM papers")).scalar_one())


def _starts(engine: Engine) -> dict[int, int]:
    with engine.connect() as conn:
        return recent_starts(conn)


@pytest.mark.parametrize("budget", [fts.POSTINGS_BUDGET, 30])  # scored; the newest, unscored
def test_queries_of_the_newest_papers_read_a_recent_index_and_answer_the_same(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    budget: int,
) -> None:
    engine, _, filters = corpus
    monkeypatch.setattr(fts, "MAX_RANKED_MATCHES", 7)  # fewer than match: the newest matter
    monkeypatch.setattr(fts, "POSTINGS_BUDGET", budget)
    monkeypatch.setattr(fts, "MIN_WINDOW", 1)
    monkeypatch.setattr(fts, "SHARE_WINDOW", 40)  # the word counts: of the newest 40 papers
    asked = [(q, f) for q in QUERIES for f in filters]
    words = [Phrase.of(w) for q in QUERIES for w in q.replace('"', "").split()]
    newest = _newest(engine)
    windows = (newest // 8, newest // 2)
    starts = {0: newest - windows[0], 1: newest - windows[1]}

    def counts() -> list[list[int | None]]:  # each word's papers from each tier's first on
        with engine.connect() as conn, PostgresKeywords().reading(conn):
            return [PostgresKeywords().counts(conn, words, s) for s in starts.values()]

    with engine.connect() as conn:
        whole = [keyword_ranking(conn, q, f) for q, f in asked]
    counted = counts()
    assert place(engine, windows=windows, min_papers=1) == starts
    assert counts() == counted and all(any(c) for c in counted)
    sent: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, sql: str, params: Any, *_a: Any) -> None:  # noqa: ANN401
        sent.append((sql, params))

    with engine.connect() as conn:
        event.listen(engine, "before_cursor_execute", note)
        try:
            recent = [keyword_ranking(conn, q, f) for q, f in asked]
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert "dailypapers.pg_recent_from" not in conn.info  # the search's only
        reading: dict[int, list[tuple[str, Any]]] = {tier: [] for tier in starts}
        for sql, params in sent:  # by the largest tier's expression in it (each holds the last)
            tier = max((t for t in starts if terms("p", t) in sql), default=None)
            if tier is not None:
                reading[tier].append((sql, params))
        for tier, start in starts.items():
            assert all(f"p.id > {start}" in s for s, _ in reading[tier])
            assert reading[tier], f"no query read tier {tier}"
        assert sum(map(len, reading.values())) > len(asked) // 2
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        plans = {}
        with PostgresKeywords().reading(conn):
            for tier, statements in reading.items():
                for sql, params in statements[:20]:
                    cursor.execute("EXPLAIN " + sql, params)
                    plans[tier] = "\n".join(row[0] for row in cursor.fetchall())
                    if f"Bitmap Index Scan on {RECENT_INDEX}{tier}" in plans[tier]:
                        break
                else:
                    pytest.fail(f"no query read through tier {tier}: {plans[tier]}")
        conn.rollback()
    assert recent == whole
    assert sum(bool(r) for r in recent) > len(asked) // 4


def test_they_are_built_when_due_rebuilt_when_outgrown_and_a_failed_build_is_dropped(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],  # noqa: F811
) -> None:
    engine = corpus[0]
    newest = _newest(engine)
    assert place(engine, windows=(10, 50), min_papers=newest + 1) == {}  # small: none
    assert _indexes(engine) == {}
    assert list(place(engine, windows=(newest // 8, newest), min_papers=1)) == [0]  # not 1:
    # a tier holding more than half the papers would save little
    windows = (newest // 8, newest // 2)
    assert place(engine, windows=windows, min_papers=1) == {
        0: newest - newest // 8,
        1: newest - newest // 2,
    }
    built = _indexes(engine)
    assert set(built) == {f"{RECENT_INDEX}0", f"{RECENT_INDEX}1"}
    assert place(engine, windows=windows, min_papers=1) == _starts(engine)
    assert _indexes(engine) == built  # not outgrown: kept
    with engine.begin() as conn:  # what a build that died part-way leaves
        conn.execute(text(f"CREATE INDEX {RECENT_INDEX}1_new ON papers (id)"))
    windows = (newest // 8, newest // 5)  # tier 1 now holds more than twice its window
    assert place(engine, windows=windows, min_papers=1)[1] == newest - newest // 5
    rebuilt = _indexes(engine)
    assert set(rebuilt) == set(built)  # the leftover gone
    assert rebuilt[f"{RECENT_INDEX}0"] == built[f"{RECENT_INDEX}0"]  # tier 0 kept
    assert rebuilt[f"{RECENT_INDEX}1"] != built[f"{RECENT_INDEX}1"]
    assert _starts(engine) == {0: newest - newest // 8, 1: newest - newest // 5}


def test_one_builder_at_a_time(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],  # noqa: F811
) -> None:
    engine = corpus[0]
    with engine.connect() as other:
        other.execute(text("SELECT pg_advisory_lock(:k)"), {"k": pg_recent_index._LOCK})
        assert place(engine, windows=(10,), min_papers=1) == {}  # another is building them
        assert _indexes(engine) == {}
        other.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": pg_recent_index._LOCK})
        other.commit()
    assert place(engine, windows=(10,), min_papers=1) == {0: _newest(engine) - 10}


def test_every_import_places_them_and_a_failure_only_warns(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = corpus[0]
    keyword_index.catch_up(engine)
    assert _indexes(engine) == {}  # a million papers before they pay
    monkeypatch.setattr(pg_recent_index, "RECENT_MIN_PAPERS", 1)
    monkeypatch.setattr(pg_recent_index, "RECENT_WINDOWS", (10, 40))

    def broken(*_args: object) -> None:
        raise OperationalError("CREATE INDEX", {}, Exception("disk full"))

    with monkeypatch.context() as patched, caplog.at_level(logging.WARNING):
        patched.setattr(pg_recent_index, "_place", broken)
        assert keyword_index.catch_up(engine) == 0
    assert "could not build the recent keyword indexes" in caplog.text
    keyword_index.catch_up(engine)
    assert _starts(engine) == {0: _newest(engine) - 10, 1: _newest(engine) - 40}


def test_the_tiers_starts_are_read_as_postgresql_prints_them() -> None:
    listed = (
        f"{RECENT_INDEX}0=(id > 2450000);{RECENT_INDEX}1=(id > '2250000'::bigint);"
        f"{RECENT_INDEX}1_new=(id > 2300000);other=(id > 5)"
    )
    assert parse_starts(listed) == {0: 2450000, 1: 2250000}
    assert parse_starts(None) == {}
    starts = {0: 2450000, 1: 2250000}
    assert recent_condition("p", 2460000, starts) == (terms("p", 0), " AND p.id > 2450000")
    assert recent_condition("p", 2300000, starts) == (terms("p", 1), " AND p.id > 2250000")
    assert recent_condition("p", 2000000, starts) == ("p.search_vector", "")
    assert recent_condition("p", None, starts) == ("p.search_vector", "")


def test_a_step_reads_the_largest_tier_first_when_its_likely_window_reaches_below_them(
    engine: Engine,
) -> None:
    """pg_fts.py: the newest matches are read from the largest tier first (then, if too few are
    there, the older ones), when the plan's likely start lies below every tier or is unknown."""
    with engine.connect() as conn:
        conn.info["dailypapers.pg_recent_from"] = {0: 900, 1: 500}
        assert _first_from(conn, None, 0) == 500  # unknown: the largest tier first
        assert _first_from(conn, 300, 0) == 500  # below every tier
        assert _first_from(conn, 700, 0) == 700  # inside one: the plan's own
        assert _first_from(conn, None, 600) is None  # the step reads no further down anyway
        conn.info.pop("dailypapers.pg_recent_from")
        assert _first_from(conn, 300, 0) == 300  # no tiers


def test_a_step_with_no_likely_window_reads_the_largest_tier_first_and_answers_the_same(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = corpus[0]
    monkeypatch.setattr(fts, "MAX_RANKED_MATCHES", 7)  # fewer than match: the newest matter
    asked = [("learning", "abstract"), ("model", "abstract"), ("quantum", "title")]
    with engine.connect() as conn:  # (a column restriction: no likely window)
        whole = [keyword_ranking(conn, q, column=c) for q, c in asked]  # type: ignore[arg-type]
    newest = _newest(engine)
    starts = place(engine, windows=(newest // 8, newest // 2), min_papers=1)
    sent: list[str] = []

    def note(_c: Any, _cur: Any, sql: str, *_a: Any) -> None:  # noqa: ANN401
        sent.append(sql)

    with engine.connect() as conn:
        event.listen(engine, "before_cursor_execute", note)
        try:
            first = [keyword_ranking(conn, q, column=c) for q, c in asked]  # type: ignore[arg-type]
        finally:
            event.remove(engine, "before_cursor_execute", note)
    assert first == whole and all(first)
    steps = [s for s in sent if "WITH newest AS MATERIALIZED" in s]
    assert any(terms("p", 1) in s and f"p.id > {starts[1]}" in s for s in steps), steps
