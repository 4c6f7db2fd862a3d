"""How a search runs on PostgreSQL (docs/PERFORMANCE.md, "Search on PostgreSQL"): keyword queries
answered by the GIN index whatever the planner guesses, the planner's settings restored after
them, the same answers as without that; the web engine's connections without JIT or parallel
workers; exact dense search only for filters narrow enough to be cheaper than the HNSW scan.
SQLite's plans are its own and its answers stay the same (the keyword tests run on both)."""

from __future__ import annotations

import math
from contextlib import nullcontext
from datetime import date
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, event, text

from dailypapers.config import Settings
from dailypapers.db.engine import database_unavailable
from dailypapers.search import dense
from dailypapers.search.filters import SearchFilters
from dailypapers.search.fts import keyword_ranking
from dailypapers.search.pg_fts import PostgresKeywords
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record

pytestmark = pytest.mark.only_backend("postgresql")

QUERIES = ["lattice", "lattice magnets", "misspelt latice magnetts", '"gauge theory"', "quarks"]


@pytest.fixture
def papers(engine: Engine) -> Engine:
    words = ["lattice", "magnets", "gauge", "theory", "quarks", "spin", "glass", "protein"]
    add_papers(
        engine,
        *(
            record(
                f"2506.{n:05d}",
                f"2025-06-{1 + n % 28:02d}",
                title=" ".join(words[(n + k) % len(words)] for k in range(3)),
                abstract=" ".join(words[(n * 3 + k) % len(words)] for k in range(6)),
            )
            for n in range(1, 61)
        ),
    )
    return engine


def _statements(engine: Engine, conn: Connection, run: Any) -> list[tuple[str, Any]]:  # noqa: ANN401
    sent: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, sql: str, params: Any, *_args: Any) -> None:  # noqa: ANN401
        sent.append((sql, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        run(conn)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sent


def test_keyword_queries_read_the_gin_index_and_restore_the_settings(papers: Engine) -> None:
    with papers.connect() as conn:
        sent = _statements(papers, conn, lambda c: keyword_ranking(c, "lattice magnets"))
        assert conn.execute(text("SHOW enable_indexscan")).scalar() == "on"  # restored
        assert conn.execute(text("SHOW enable_seqscan")).scalar() == "on"
        assert not [s for s in sent if "OFFSET" in s]  # no statement of its own for the floor
        ranked = [(s, p) for s, p in sent if "ts_rank_cd" in s]
        assert len(ranked) == 1  # the newest matches and their ranking: one statement
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with PostgresKeywords().reading(conn):
            for sql, params in ranked:
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                # the matches come from the GIN index, never from a scan that tests every row's
                # tsvector (which 60 papers invite without the settings)
                assert "Bitmap Index Scan on ix_papers_search_vector" in plan, plan
                assert "Seq Scan" not in plan and "Index Scan Backward" not in plan, plan
        conn.rollback()


def test_the_settings_change_no_answer(papers: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with papers.connect() as conn:
        fast = [keyword_ranking(conn, q) for q in QUERIES]
        fast += [keyword_ranking(conn, q, SearchFilters(category="cs.LG")) for q in QUERIES]
        monkeypatch.setattr(
            PostgresKeywords, "reading", lambda self, conn: nullcontext(self.newest(conn))
        )
        plain = [keyword_ranking(conn, q) for q in QUERIES]
        plain += [keyword_ranking(conn, q, SearchFilters(category="cs.LG")) for q in QUERIES]
    assert fast == plain and any(fast)


def test_the_web_engine_compiles_nothing_and_runs_no_parallel_workers(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings)
    try:
        with app.state.engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "15s"
        with engine.connect() as conn:  # jobs, imports and the CLI keep the server's settings
            assert conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar() != "0"
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
    finally:
        app.state.engine.dispose()


class _Index:
    """A PgVectorIndex stand-in: its size, and which kind of search each call asked for."""

    model_name = "m"

    def __init__(self, size: int, found: int = 100) -> None:
        self.size = size
        self.found = found  # papers an approximate search returns
        self.exact: list[bool] = []

    def __len__(self) -> int:
        return self.size

    def search_where(self, *_args: object, exact: bool = False, **_kw: object) -> Any:  # noqa: ANN401
        self.exact.append(exact)
        found = 100 if exact else self.found
        return np.arange(found, dtype=np.int64), np.zeros(found, np.float32)


@pytest.mark.parametrize("papers_in_index", [100_000, 2_500_000])
def test_postgres_searches_a_filter_exactly_only_when_that_is_cheaper(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, papers_in_index: int
) -> None:
    bound = math.sqrt(dense.PG_EXACT_FACTOR * 100 * papers_in_index)  # depth 100
    filters = SearchFilters(category="cs.RO")
    monkeypatch.setattr(dense, "codes_plan", lambda *_a: None)  # (codes: the test below)
    with engine.connect() as conn:
        for passing, exact in [(int(bound) - 10, True), (int(bound) + 10, False)]:
            monkeypatch.setattr(dense, "filter_size", lambda *_a, n=passing: n)
            index = _Index(papers_in_index)
            dense._ranking_in_sql(conn, index, np.zeros(4, np.float32), filters, 100)  # type: ignore[arg-type]
            assert index.exact == [exact], (passing, bound)
        monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 10)  # never above SQLite's limit either
        index = _Index(papers_in_index)
        dense._ranking_in_sql(conn, index, np.zeros(4, np.float32), filters, 100)  # type: ignore[arg-type]
        assert index.exact == [False]


@pytest.mark.parametrize(
    ("category_papers", "day_papers", "passing", "depth", "expected"),
    [
        (100_000, None, 100_000, 100, "category"),  # a mid-size category
        (300_000, None, 300_000, 100, None),  # a broad one: the HNSW scan
        (100_000, 50_000, 6_000, 100, "days"),  # the days hold fewer papers
        (100_000, 500_000, 20_000, 100, "category"),  # the category does
        (100_000, 200_000, 8_000, 100, "category"),  # days too many for their codes
        (4_000, None, 4_000, 100, None),  # narrow: the exact query is as cheap
        (200_000, 120_000, 5_000, 100, None),  # the rest would leave too few candidates
        (100_000, None, 100_000, 1_000, None),  # a page too deep for the candidates
    ],
)
def test_postgres_reads_the_smaller_codes_while_that_pays(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    category_papers: int,
    day_papers: int | None,
    passing: int,
    depth: int,
    expected: str | None,
) -> None:
    """search/dense.py: CODES_FIRST_MAX (categories), DAY_CODES_MAX, CODES_MIN."""
    monkeypatch.setattr(dense.COUNTS, "category", lambda *_a: category_papers)
    monkeypatch.setattr(dense.COUNTS, "dated", lambda *_a: day_papers)
    since = date(2024, 1, 1) if day_papers is not None else None
    filters = SearchFilters(category="cs.RO", since=since)
    with engine.connect() as conn:
        codes = dense.codes_plan(conn, filters, passing, depth)
    if expected is None:
        assert codes is None
    elif expected == "category":
        assert codes is not None and codes.category == "cs.RO"
    else:
        assert codes is not None and codes.category is None and codes.since == since


@pytest.mark.parametrize(
    ("category", "passing", "then_exact"),
    [
        (None, None, False),  # no filter: every vector (2.5 M), seconds: the index's answer stands
        ("cs.LG", 1_000_000, False),  # a broad category, the same
        ("cs.RO", 50_000, True),  # wide enough for the index, narrow enough to settle exactly
    ],
)
def test_postgres_settles_a_short_scan_exactly_only_for_a_narrow_filter(
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    category: str | None,
    passing: int | None,
    then_exact: bool,
) -> None:
    """At 2.5 M papers an HNSW walk that ended after 65 papers sent an unfiltered search to an
    exact query over every vector: 7-8 s."""
    monkeypatch.setattr(dense, "filter_size", lambda *_a: passing)
    index = _Index(2_500_000, found=65)
    with engine.connect() as conn:
        ids = dense._ranking_in_sql(  # type: ignore[arg-type]
            conn, index, np.zeros(4, np.float32), SearchFilters(category=category), 100
        )
    assert index.exact == ([False, True] if then_exact else [False])
    assert len(ids) == (100 if then_exact else 65)


def test_an_error_in_the_keyword_queries_is_the_error_raised(engine: Engine) -> None:
    """A statement cancelled by the web's statement timeout must stay that error (a 503), not
    become the aborted transaction's complaint about restoring the settings (a 500)."""
    with engine.connect() as conn:
        with pytest.raises(Exception) as raised, PostgresKeywords().reading(conn):
            conn.execute(text("SET LOCAL statement_timeout = 1"))
            conn.execute(text("SELECT pg_sleep(0.2)"))
        assert "statement timeout" in str(raised.value)
        assert database_unavailable(raised.value)
        conn.rollback()
        assert conn.execute(text("SHOW enable_seqscan")).scalar() == "on"  # rolled back with it
