"""Filtered search's fast paths give the plain path's answers, on both backends: the category as an
index probe, filters applied to ids found elsewhere (:func:`kept_ids`), a filter's papers listed
from an index (:func:`filtered_ids`), the plan by estimated size (exact among the filter's papers
or over-fetching from the index), with the filter catalogue (tests/test_filter_catalogue.py) and
without, and HNSW's exact search among ids through int8 codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, text, update

from dailypapers.db.dialect import id_array
from dailypapers.db.models import Paper
from dailypapers.search import dense
from dailypapers.search.catalogue import CATALOGUES
from dailypapers.search.dense import COUNTS, dense_ranking, filter_size
from dailypapers.search.filters import SearchFilters, filter_sql, filtered_ids, kept_ids
from dailypapers.search.fts import keyword_ranking
from dailypapers.vectors import ExactIndex
from dailypapers.vectors.hnsw import HnswIndex
from tests.helpers import add_papers, record

CATS = ["cs.CL", "cs.CV", "cs.LG", "stat.ML"]
N = 160
DELETED = {3, 7, 11, 40}
FILTERS = [
    SearchFilters(category="cs.CV"),
    SearchFilters(category="stat.ML"),
    SearchFilters(category="nope.XX"),
    SearchFilters(since=date(2025, 6, 3), until=date(2025, 6, 9)),
    SearchFilters(since=date(2025, 6, 20)),
    SearchFilters(until=date(2025, 6, 2)),
    SearchFilters(category="cs.LG", since=date(2025, 6, 3), until=date(2025, 6, 14)),
    SearchFilters(category="cs.CL", since=date(2025, 7, 1)),
]


@pytest.fixture
def corpus(engine: Engine) -> tuple[Engine, ExactIndex]:
    """N papers, each in one or two categories, over four weeks; clustered vectors; some deleted."""
    rng = np.random.default_rng(3)
    add_papers(
        engine,
        *(
            record(
                f"2506.{i:05d}",
                date(2025, 6, 1 + i % 28).isoformat(),
                title=f"Paper {i} on {'graphs' if i % 3 else 'vision'}",
                categories=[CATS[i % 4]] + ([CATS[(i + 1) % 4]] if i % 5 == 0 else []),
            )
            for i in range(N)
        ),
    )
    with engine.begin() as conn:
        ids = [int(i) for i in conn.execute(text("SELECT id FROM papers ORDER BY id")).scalars()]
        conn.execute(
            update(Paper).where(Paper.id.in_(DELETED)).values(deleted_at=datetime.now(UTC))
        )
    centres = rng.normal(size=(5, 16))
    index = ExactIndex("m", 16)
    for paper_id in ids:
        v = centres[paper_id % 5] + 0.6 * rng.normal(size=16)
        index.add([paper_id], (v / np.linalg.norm(v)).astype(np.float32)[None, :])
    COUNTS.clear()
    return engine, index


def _plain(conn: Connection, filters: SearchFilters) -> set[int]:
    """The papers a filter leaves, by the plain WHERE clause."""
    where, params = filter_sql(conn, filters)
    sql = f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"
    return {int(i) for i in conn.execute(text(sql), params).scalars()}


def _brute(index: ExactIndex, query: np.ndarray, allowed: set[int], depth: int) -> list[int]:
    vectors = index.vectors_for(allowed)
    return sorted(vectors, key=lambda i: (-float(vectors[i] @ query), i))[:depth]


def test_filtered_ids_and_kept_ids_match_the_where_clause(
    corpus: tuple[Engine, ExactIndex],
) -> None:
    engine, _ = corpus
    with engine.connect() as conn:
        everyone = list(range(N + 5, 0, -1))  # newest first, with ids that do not exist
        for filters in FILTERS:
            plain = _plain(conn, filters)
            assert set(filtered_ids(conn, filters).tolist()) == plain, filters
            assert kept_ids(conn, everyone, filters) == [i for i in everyone if i in plain]
            assert filter_size(conn, filters, N) >= (len(plain) if not filters.category else 0)
        assert kept_ids(conn, [], FILTERS[0]) == []
        with pytest.raises(ValueError, match="narrows"):
            filtered_ids(conn, SearchFilters())
        live = [i for i in everyone if i <= N and i not in DELETED]
        assert kept_ids(conn, everyone, SearchFilters()) == live


def test_id_array_reads_sql_text_as_sqlalchemy_does(corpus: tuple[Engine, ExactIndex]) -> None:
    """The one reader of a column of ids (For-you's candidates, the filters, the catalogue) takes
    SQL text with parameters too: the same ids, in the same order, none for no rows."""
    engine, _ = corpus
    with engine.connect() as conn:
        for filters in FILTERS:
            where, params = filter_sql(conn, filters)
            sql = f"SELECT p.id FROM papers p WHERE {' AND '.join(where)} ORDER BY p.id DESC"
            want = [int(i) for i in conn.execute(text(sql), params).scalars()]
            found = id_array(conn, sql, params)
            assert found.dtype == np.int64 and found.tolist() == want, filters
        assert id_array(conn, "SELECT id FROM papers WHERE id < :n", {"n": 0}).tolist() == []
        assert id_array(conn, "SELECT paper_id FROM paper_categories WHERE 1 = 0").tolist() == []


def test_filter_size_counts_categories_and_days(corpus: tuple[Engine, ExactIndex]) -> None:
    engine, _ = corpus
    with engine.connect() as conn:
        in_cv = conn.execute(
            text("SELECT count(*) FROM paper_categories WHERE category = 'cs.CV'")
        ).scalar_one()
        assert filter_size(conn, SearchFilters(category="cs.CV"), N) == in_cv
        week = SearchFilters(since=date(2025, 6, 3), until=date(2025, 6, 9))
        assert filter_size(conn, week, N) == sum(1 for i in range(N) if 3 <= 1 + i % 28 <= 9)
        assert filter_size(conn, SearchFilters(since=date(2026, 1, 1)), N) == 0
        assert filter_size(conn, SearchFilters(category="nope.XX"), N) == 0


@pytest.mark.parametrize("catalogue", [True, False])  # search/catalogue.py, or the SQL plan
@pytest.mark.parametrize("exact_max", [0, 30, 10_000])  # over-fetch, by size, always exact
def test_every_plan_gives_the_exact_answer(
    corpus: tuple[Engine, ExactIndex],
    monkeypatch: pytest.MonkeyPatch,
    exact_max: int,
    catalogue: bool,
) -> None:
    engine, index = corpus
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", exact_max)
    if catalogue:
        CATALOGUES.warm(engine, index)
    query = index.vectors_for([42])[42]
    with engine.connect() as conn:
        for filters in [SearchFilters(), *FILTERS]:
            want = _brute(index, query, _plain(conn, filters), 10)
            assert dense_ranking(conn, index, query, filters, depth=10) == want, filters


def test_overfetch_falls_back_to_exact_when_short(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter the counts say is broad but that the index's neighbours miss: the rounds stop at
    MAX_OVERFETCH and the exact pass answers."""
    engine, index = corpus
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 0)
    monkeypatch.setattr(dense, "MAX_OVERFETCH", 20)
    monkeypatch.setattr(dense, "filter_size", lambda *_: N)  # wrongly: everything passes
    monkeypatch.setattr(CATALOGUES, "get", lambda *_: None)  # (its counts are exact)
    query = index.vectors_for([42])[42]
    filters = SearchFilters(category="cs.CL", since=date(2025, 7, 1))  # nothing passes
    late = FILTERS[4]
    with engine.connect() as conn:
        assert dense_ranking(conn, index, query, filters, depth=10) == []
        want = _brute(index, query, _plain(conn, late), 10)
        assert dense_ranking(conn, index, query, late, depth=10) == want


def test_hnsw_exact_search_among_ids_with_and_without_codes(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, exact = corpus
    monkeypatch.setattr(CATALOGUES, "get", lambda *_: None)  # the index's own codes
    ids = [i for i in range(1, N + 1) if i in exact]
    hnsw = HnswIndex("m", 16)
    hnsw.add(ids, np.stack([exact.vectors_for([i])[i] for i in ids]))
    query = exact.vectors_for([42])[42]
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 10_000)
    with engine.connect() as conn:
        for filters in FILTERS:
            want = _brute(exact, query, _plain(conn, filters), 10)
            before = dense_ranking(conn, hnsw, query, filters, depth=10)
            assert before == want, filters
        hnsw.remove([ids[0]])
        hnsw.start_codes(background=False)
        hnsw.add([ids[0]], exact.matrix_for([ids[0]])[1])  # kept current after the codes exist
        hnsw.remove([ids[1]])
        for filters in FILTERS:
            allowed = _plain(conn, filters) - {ids[1]}
            for depth in (2, 10):  # codes pick 4 x depth candidates of the filter's ~40
                want = _brute(exact, query, allowed, depth)
                assert dense_ranking(conn, hnsw, query, filters, depth=depth) == want, filters


def test_keyword_category_filter_is_an_index_probe(corpus: tuple[Engine, ExactIndex]) -> None:
    """The category filter probes paper_categories' key per candidate instead of listing the
    whole category first (SQLite's plan for the old ``IN (SELECT ...)``)."""
    engine, _ = corpus
    with engine.connect() as conn:
        got = keyword_ranking(conn, "graphs", SearchFilters(category="cs.CV"), depth=200)
        assert set(got) == {i for i in _plain(conn, SearchFilters(category="cs.CV")) if i % 3 != 1}
        if engine.dialect.name != "sqlite":
            return
        where, params = filter_sql(conn, SearchFilters(category="cs.CV"))
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text(f"EXPLAIN QUERY PLAN SELECT p.id FROM papers p WHERE {where[1]}"), params
            )
        )
        assert "(category=? AND paper_id=?)" in plan, plan
        assert "LIST SUBQUERY" not in plan, plan
