"""PostgreSQL's codes: one sign bit a dimension of each paper's vector, filed under each of its
categories (migration 0017) and under its announce day (0018), kept by triggers whatever writes the
vectors, the categories or the days; a search by meaning within a mid-size category or range of
days ranks those codes first and re-ranks the nearest by their vectors, under the rest of the
filter (the other half, deleted papers)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from dailypapers.db.pg_vectors import CODES_CANDIDATES
from dailypapers.embeddings.store import embed_pending
from dailypapers.search import dense
from dailypapers.search.dense import dense_ranking
from dailypapers.search.filters import SearchFilters, filter_sql
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import sample_files
from dailypapers.vectors.pgvector import PgVectorIndex, VectorCount
from tests.fake_embedder import DIM, FAKE_MODEL, fake_embedder
from tests.test_pg_search_plans import _statements as statements_sent

pytestmark = pytest.mark.only_backend("postgresql")

DAY = date(2025, 6, 2)
CODES = "SELECT category, model_key, paper_id, code::text FROM paper_category_codes"
# What the codes must be: every vector under every category of its paper.
EXPECTED = (
    "SELECT c.category, hashtext(e.model), c.paper_id, binary_quantize(e.embedding)::text "
    "FROM paper_embeddings e JOIN paper_categories c ON c.paper_id = e.paper_id"
)


DAY_CODES = "SELECT announced_on, model_key, paper_id, code::text FROM paper_day_codes"
EXPECTED_DAYS = (
    "SELECT p.announced_on, hashtext(e.model), e.paper_id, binary_quantize(e.embedding)::text "
    "FROM paper_embeddings e JOIN papers p ON p.id = e.paper_id"
)


def _rows(conn: Connection, sql: str) -> set[tuple[Any, ...]]:
    found = [tuple(r) for r in conn.execute(text(sql))]
    assert len(found) == len(set(found))
    return set(found)


def _codes(conn: Connection) -> set[tuple[Any, ...]]:
    return _rows(conn, CODES)


def _expected(conn: Connection) -> set[tuple[Any, ...]]:
    return _rows(conn, EXPECTED)


def _in_step(conn: Connection) -> bool:
    """Both tables hold exactly what the vectors, categories and days say."""
    return _codes(conn) == _expected(conn) and _rows(conn, DAY_CODES) == _rows(conn, EXPECTED_DAYS)


@pytest.fixture
def embedded(engine: Engine) -> Engine:
    """A day of the bundled sample, spread over 20 announce days, embedded, a few deleted."""
    assert import_listing(engine, sample_files()[0]).new > 100
    embed_pending(engine, fake_embedder())
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE papers SET announced_on = CAST(:d AS date) + (id % 20)"), {"d": DAY}
        )
        conn.execute(text("UPDATE papers SET deleted_at = now() WHERE id % 17 = 3"))
    return engine


def test_the_codes_follow_every_write_of_vectors_and_categories(embedded: Engine) -> None:
    with embedded.begin() as conn:
        assert _in_step(conn) and len(_codes(conn)) > 150
        assert len(_rows(conn, DAY_CODES)) > 100
        first, second = conn.execute(text("SELECT min(id), max(id) FROM papers")).one()
    changes = [
        # a vector written again (another model's too: its own key)
        "UPDATE paper_embeddings SET embedding = CAST(:v AS halfvec) WHERE paper_id = :first",
        "DELETE FROM paper_embeddings WHERE paper_id = :second",
        # a category added, renamed, removed
        "INSERT INTO paper_categories (paper_id, category) VALUES (:first, 'hep-lat')",
        "UPDATE paper_categories SET category = 'hep-th' WHERE paper_id = :first "
        "AND category = 'hep-lat'",
        "DELETE FROM paper_categories WHERE paper_id = :first AND category <> 'hep-th'",
        # a paper's announce day moved, another column changed
        "UPDATE papers SET announced_on = announced_on + 3 WHERE id = :first",
        "UPDATE papers SET title = 'Renamed' WHERE id = :first",
        # a paper deleted for good (its rows go by cascade)
        "DELETE FROM papers WHERE id = :first + 1",
    ]
    vector = "[" + ",".join(["-0.5", "0.25"] * (DIM // 2)) + "]"
    for change in changes:
        with embedded.begin() as conn:
            conn.execute(text(change), {"first": first, "second": second, "v": vector})
            assert _in_step(conn), change
    embed_pending(embedded, fake_embedder("test/another-model"))
    with embedded.begin() as conn:
        keys = conn.execute(text("SELECT count(DISTINCT model_key) FROM paper_category_codes"))
        assert keys.scalar() == 2
        assert _in_step(conn)
        assert ("hep-th", first) in {(c, p) for c, _, p, _ in _codes(conn)}
        conn.execute(text("TRUNCATE papers CASCADE"))  # no row triggers: a statement's own
        assert _codes(conn) == set() and _rows(conn, DAY_CODES) == set()


def _statements(engine: Engine, conn: Connection, run: Any) -> list[str]:  # noqa: ANN401
    return [sql for sql, _ in statements_sent(engine, conn, run)]


@pytest.mark.parametrize(
    ("use_category", "days", "table"),
    [
        (True, None, "paper_category_codes"),
        (True, (5, 19), "paper_category_codes"),  # the category has fewer papers than the days
        (False, (5, 19), "paper_day_codes"),
        (True, (3, 4), "paper_day_codes"),  # the days have fewer
    ],
)
def test_a_filter_is_searched_through_the_smaller_codes(
    embedded: Engine,
    monkeypatch: pytest.MonkeyPatch,
    use_category: bool,
    days: tuple[int, int] | None,
    table: str,
) -> None:
    """Every paper of the codes read is a candidate here (fewer than CODES_CANDIDATES), so the
    answer is the exact one: the filter's live papers, nearest first."""
    index = PgVectorIndex(embedded, FAKE_MODEL, DIM, VectorCount())
    embedder = fake_embedder()
    with embedded.connect() as conn:
        category = conn.execute(
            text(
                "SELECT category FROM paper_categories GROUP BY category "
                "ORDER BY count(*) DESC, category LIMIT 1"
            )
        ).scalar_one()
        papers = conn.execute(text("SELECT count(*) FROM papers")).scalar_one()
        assert papers < CODES_CANDIDATES
    filters = SearchFilters(
        category=category if use_category else None,
        since=DAY + timedelta(days=days[0]) if days else None,
        until=DAY + timedelta(days=days[1]) if days else None,
    )
    monkeypatch.setattr(dense, "CODES_MIN", 1)  # (a small corpus)
    dense.COUNTS.clear()  # (counts cached for another test's database of the same name)
    monkeypatch.setattr(dense, "PG_EXACT_FACTOR", 0.0)  # never exact: codes (or the scan)
    for query in ["graph neural networks", "quantum error correction", "protein language model"]:
        vector = embedder.encode_query(query)
        with embedded.connect() as conn:
            where, params = filter_sql(conn, filters)
            exact, _ = index.search_where(conn, vector, where, params, 20, exact=True)
            found: list[list[int]] = []
            sent = _statements(
                embedded,
                conn,
                lambda c, v=vector, f=found: f.append(
                    dense_ranking(c, index, v, filters, depth=20)
                ),
            )
            assert found[0] == [int(i) for i in exact]
            assert len(found[0]) >= 5
            assert [s for s in sent if table in s]
            assert conn.execute(text("SHOW enable_bitmapscan")).scalar() == "on"  # restored
            assert conn.execute(text("SHOW enable_seqscan")).scalar() == "on"
    monkeypatch.setattr(dense, "CODES_FIRST_MAX", 0)  # broad: the HNSW scan
    monkeypatch.setattr(dense, "DAY_CODES_MAX", 0)
    with embedded.connect() as conn:
        sent = _statements(
            embedded,
            conn,
            lambda c: dense_ranking(c, index, embedder.encode_query("graph"), filters, depth=20),
        )
        assert not [s for s in sent if "_codes" in s]
