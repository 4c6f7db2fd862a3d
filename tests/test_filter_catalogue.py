"""The filter catalogue (search/catalogue.py) gives the plain path's answers, on both backends: the
rows a filter leaves (a date slice, a category's rows, both), the exact nearest papers among them
through int8 codes, and what changed since the build (papers added, deleted, embedded later);
built in the background, rebuilt when stale, never an error for search."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.exc import OperationalError

from dailypapers.config import Settings
from dailypapers.db.engine import deadlines_of, make_engine, statement_timed_out
from dailypapers.db.models import Paper
from dailypapers.embeddings.store import embed_pending
from dailypapers.runtime import Runtime
from dailypapers.search import catalogue as catalogue_module
from dailypapers.search import catalogue_codes, dense
from dailypapers.search.catalogue import CATALOGUES, Catalogue, build
from dailypapers.search.catalogue_codes import bits_nearest, nibble_codes, sign_bits, unpacked
from dailypapers.search.dense import catalogue_ranking, dense_ranking, tail_sql
from dailypapers.search.filters import SearchFilters
from dailypapers.search.semantic import SemanticSource
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import sample_files
from dailypapers.vectors import ExactIndex, VectorIndex
from dailypapers.vectors import base as vectors_base
from dailypapers.vectors.hnsw import HnswIndex, int8_nearest
from dailypapers.vectors.pgvector import PgVectorIndex
from tests import test_search_filters as plain_path
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, record
from tests.test_search_filters import CATS, DELETED, FILTERS, N, _brute, _plain

corpus = plain_path.corpus  # the same papers and vectors (a fixture)


def _opened(source: SemanticSource) -> VectorIndex | None:
    """The index a web process's semantic source opens (in the background), once it has."""
    deadline = time.monotonic() + 30
    index, _ = source.index()
    while index is None and time.monotonic() < deadline:
        time.sleep(0.05)
        index, _ = source.index()
    return index


def test_rows_are_the_papers_each_filter_leaves(corpus: tuple[Engine, ExactIndex]) -> None:
    engine, index = corpus
    built = build(engine, index)
    assert list(built.days) == sorted(built.days)  # rows ordered by announce day
    with engine.connect() as conn:
        for filters in FILTERS:
            rows = built.rows(conn, filters)
            assert set(built.ids[rows].tolist()) == _plain(conn, filters), filters
            assert built.count(conn, filters) == len(_plain(conn, filters))
            if not filters.category:
                assert isinstance(rows, slice)  # dates alone: a contiguous slice, no gather


def _bits_pass(monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """Every pass through the bits first (keeping every row: the rows, runs and offsets must
    still be the right ones), counted 7 rows at a time; a category's bits from its kept block,
    or gathered (no block fits)."""
    if how == "int8":
        return
    monkeypatch.setattr(catalogue_module, "BITS_AFTER", 0)
    monkeypatch.setattr(catalogue_module, "BITS_KEEP", N)
    monkeypatch.setattr(catalogue_codes, "GATHER_RUN", 7)  # a category's ~40 rows in ~6 runs
    monkeypatch.setattr(catalogue_module, "BLOCK_SHARE", 10.0 if how == "blocks" else 0.0)


@pytest.mark.parametrize("bits", ["int8", "blocks", "gathered"])  # codes alone, or bits first
@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_catalogue_ranking_is_the_exact_answer(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch, kind: str, bits: str
) -> None:
    engine, exact = corpus
    _bits_pass(monkeypatch, bits)
    index: ExactIndex | HnswIndex = exact
    if kind == "hnsw":
        ids = [i for i in range(1, N + 1) if i in exact]
        index = HnswIndex("m", 16)
        index.add(ids, exact.matrix_for(ids)[1])
    built = build(engine, index)
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 10_000)
    CATALOGUES.warm(engine, index)  # dense_ranking's own
    with engine.connect() as conn:
        for paper in (42, 77, 150):
            query = exact.vectors_for([paper])[paper]
            for filters in FILTERS:
                for depth in (2, 10):  # codes pick 4 x depth candidates of the filter's ~40
                    want = _brute(exact, query, _plain(conn, filters), depth)
                    got = catalogue_ranking(conn, built, index, query, filters, depth)
                    assert got == want, (filters, depth)
                    assert dense_ranking(conn, index, query, filters, depth=depth) == want
    assert len(built.blocks) == (3 if bits == "blocks" else 0)  # each category with rows in FILTERS


def test_a_round_that_would_ask_too_many_neighbours_goes_to_the_catalogue(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broad filter whose papers the query's neighbours mostly miss: once the next round would
    ask for more than CATALOGUE_AFTER neighbours, the catalogue answers (not rounds growing to
    MAX_OVERFETCH); the answer is the exact one."""
    engine, index = corpus
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", -1)  # every filter over-fetches first
    monkeypatch.setattr(dense, "CATALOGUE_AFTER", 40)
    monkeypatch.setattr(catalogue_module.Catalogue, "count", lambda *_: N)  # "broad"
    CATALOGUES.warm(engine, index)
    rounds: list[int] = []
    search = index.search
    monkeypatch.setattr(index, "search", lambda q, k: rounds.append(k) or search(q, k))
    query = index.vectors_for([42])[42]
    filters = SearchFilters(category="cs.CL")
    with engine.connect() as conn:
        want = _brute(index, query, _plain(conn, filters), 10)
        assert dense_ranking(conn, index, query, filters, depth=10) == want
    assert rounds == [26]  # depth + 16, then the catalogue


@pytest.mark.parametrize("depth", [2, 10])
def test_over_fetched_neighbours_are_asked_of_the_database_only_where_the_rows_allow(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch, depth: int
) -> None:
    """A broad filter's over-fetched neighbours: those whose catalogue row fails the filter are
    left out before the database is asked (``Catalogue.kept_first``), the rest are checked there
    a little more than ``depth`` at a time; the answer is the exact one, a paper deleted since the
    build and one with no row (added since) included."""
    engine, index = corpus
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", -1)  # every filter over-fetches first
    CATALOGUES.warm(engine, index)
    with engine.connect() as conn:
        at_build = {f: _plain(conn, f) for f in FILTERS}
    add_papers(engine, record("2507.00001", "2025-06-21", categories=["cs.CV", "cs.LG"]))
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == 42).values(deleted_at=datetime.now(UTC)))
        new = int(conn.execute(text("SELECT max(id) FROM papers")).scalar_one())
    asked: list[list[int]] = []
    check = catalogue_module.kept_ids

    def spy(conn: object, ids: list[int], filters: SearchFilters) -> list[int]:
        asked.append(list(ids))
        return check(conn, ids, filters)  # type: ignore[arg-type]

    monkeypatch.setattr(catalogue_module, "kept_ids", spy)
    step = depth + depth // 8 + 16
    with engine.connect() as conn:
        for paper in (42, 77, 150):
            query = index.vectors_for([paper])[paper]
            index.add([new], (query * 0.99 + 0.01).astype(np.float32)[None, :])
            for filters in FILTERS:
                asked.clear()
                want = _brute(index, query, _plain(conn, filters), depth)
                assert dense_ranking(conn, index, query, filters, depth=depth) == want, filters
                assert asked, filters  # the database still has its say
                checked = {i for batch in asked for i in batch}
                # rows that pass, the paper added since, papers deleted before the build (no row)
                assert checked <= at_build[filters] | {new} | DELETED, filters
                assert all(len(batch) <= step for batch in asked)


def test_the_broadest_categories_are_read_at_the_build(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build reads the WARM_CATEGORIES broadest categories' rows (and their bits for
    ``may_pass``), so no search of theirs reads them; the others on first use."""
    engine, index = corpus
    monkeypatch.setattr(catalogue_module, "WARM_CATEGORIES", 2)
    built = build(engine, index)
    with engine.connect() as conn:
        sizes = dict(
            conn.execute(
                text("SELECT category, count(*) FROM paper_categories GROUP BY category")
            ).all()
        )
    broadest = sorted(sizes, key=lambda c: (-sizes[c], c))[:2]
    assert sorted(built.members) == sorted(broadest) == sorted(built.categories)
    with engine.connect() as conn:
        for category in broadest:
            rows = built.category_rows(conn, category)
            assert set(built.ids[rows].tolist()) == _plain(conn, SearchFilters(category=category))
    assert len(built._row_of()) == max(built.ids) + 1


def test_category_blocks_stay_within_their_budget(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, index = corpus
    built = build(engine, index)
    _bits_pass(monkeypatch, "blocks")
    monkeypatch.setattr(catalogue_module, "BLOCK_SHARE", 0.3)  # about one category's rows
    query = index.vectors_for([42])[42]
    with engine.connect() as conn:
        for category in ("cs.CV", "cs.LG", "cs.CV", "stat.ML"):
            filters = SearchFilters(category=category)
            want = _brute(index, query, _plain(conn, filters), 5)
            assert catalogue_ranking(conn, built, index, query, filters, 5) == want
    assert list(built.blocks) == ["stat.ML"]  # the least recently used went first


@pytest.mark.parametrize("bits", ["int8", "blocks", "gathered"])
def test_what_changed_since_the_build_is_found(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch, bits: str
) -> None:
    """Papers added since (the tail, read from SQL), a paper deleted since, a paper that had no
    vector at the build and has one now: the answer is still the exact one."""
    engine, index = corpus
    _bits_pass(monkeypatch, bits)
    late_vector = index.vectors_for([21])[21]
    index.remove([21])  # not embedded yet when the catalogue is built
    built = build(engine, index)
    assert 21 in built.ids[built.missing].tolist()
    index.add([21], late_vector[None, :])
    add_papers(
        engine,
        *(record(f"2507.{i:05d}", "2025-06-05", categories=["cs.LG"]) for i in range(3)),
    )
    with engine.begin() as conn:
        found = conn.execute(text("SELECT id FROM papers WHERE id > :n ORDER BY id"), {"n": N})
        new = [int(i) for i in found.scalars()]
        conn.execute(update(Paper).where(Paper.id == 42).values(deleted_at=datetime.now(UTC)))
    query = index.vectors_for([42])[42]
    index.add(new, np.stack([query, -query, query * 0.9 + 0.1]).astype(np.float32))
    filters = SearchFilters(category="cs.LG", since=date(2025, 6, 3), until=date(2025, 6, 14))
    with engine.connect() as conn:
        allowed = _plain(conn, filters)
        assert set(new) <= allowed and 42 not in allowed
        want = _brute(index, query, allowed, 10)
        assert new[0] in want and new[1] not in want
        assert catalogue_ranking(conn, built, index, query, filters, 10) == want
        everything = SearchFilters(since=date(2025, 1, 1))
        want = _brute(index, late_vector, _plain(conn, everything), 5)
        assert want[0] == 21
        assert catalogue_ranking(conn, built, index, late_vector, everything, 5) == want


def test_built_in_the_background_and_rebuilt_when_stale(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, index = corpus
    CATALOGUES.background = True
    with engine.connect() as conn:
        assert CATALOGUES.get(conn, index) is None  # nothing warmed: nothing built
        CATALOGUES.warm(engine, index)
        first = CATALOGUES.get(conn, index)
        deadline = time.monotonic() + 30
        while first is None and time.monotonic() < deadline:
            time.sleep(0.05)
            first = CATALOGUES.get(conn, index)
        assert first is not None
        assert CATALOGUES.get(conn, index) is first  # kept while fresh
        CATALOGUES.background = False
        monkeypatch.setattr(catalogue_module, "TAIL_MAX", -1)  # too many papers added since
        second = CATALOGUES.get(conn, index)
        assert second is not None and second is not first
        monkeypatch.setattr(catalogue_module, "TAIL_MAX", 10**9)
        assert CATALOGUES.get(conn, index) is second
        monkeypatch.setattr(catalogue_module, "TAIL_MAX", 2)
        assert CATALOGUES.get(conn, index) is second  # no paper added, no vector embedded
        rng = np.random.default_rng(1)
        index.add([N + 1, N + 2, N + 3], rng.normal(size=(3, 16)).astype(np.float32))
        third = CATALOGUES.get(conn, index)  # 3 vectors added to the index since
        assert third is not None and third is not second
        assert CATALOGUES.get(conn, index) is third
        monkeypatch.setattr(catalogue_module, "REFRESH_S", -1.0)  # too old
        assert CATALOGUES.get(conn, index) is not second


def test_a_failed_build_leaves_search_on_the_sql_plan(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, index = corpus

    tried: list[object] = []

    def broken(*args: object) -> None:
        tried.append(args)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalogue_module, "build", broken)
    query = index.vectors_for([42])[42]
    filters = FILTERS[0]
    CATALOGUES.warm(engine, index)  # logs the failure
    with engine.connect() as conn:
        assert CATALOGUES.get(conn, index) is None
        want = _brute(index, query, _plain(conn, filters), 10)
        assert dense_ranking(conn, index, query, filters, depth=10) == want
    CATALOGUES.warm(engine, index)  # the next request: not again at once
    assert len(tried) == 1
    monkeypatch.setattr(catalogue_module, "RETRY_S", 0.0)
    CATALOGUES.warm(engine, index)  # RETRY_S later
    assert len(tried) == 2


class _Canceled(Exception):
    sqlstate = "57014"  # PostgreSQL's query_canceled: a statement past its timeout


def test_a_chunk_past_the_statement_timeout_is_read_in_halves(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a start the disk is cold: 16,384 random reads of vectors can outlast the web
    engine's statement timeout, and the whole build failed (read again from the start 5 minutes
    later). A chunk that times out is read again in halves: the same catalogue."""
    engine, index = corpus
    want = build(engine, index)
    real = vectors_base.matrix_of
    asked: list[int] = []

    def slow(index: VectorIndex, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        asked.append(len(ids))
        if len(ids) > 20:
            raise OperationalError("SELECT ...", {}, _Canceled("canceling statement"))
        return real(index, ids)

    monkeypatch.setattr(vectors_base, "matrix_of", slow)
    monkeypatch.setattr(catalogue_module, "CHUNK", 64)
    monkeypatch.setattr(catalogue_module, "SMALLEST_CHUNK", 8)
    got = build(engine, index)
    assert 64 in asked and any(n <= 20 for n in asked)  # the chunks halved, then read
    for name in ("ids", "days", "codes", "bits", "centre", "missing"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    monkeypatch.setattr(catalogue_module, "SMALLEST_CHUNK", 32)  # no half small enough: fails
    with pytest.raises(OperationalError):
        build(engine, index)

    def broken(index: VectorIndex, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        asked.append(-1)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(vectors_base, "matrix_of", broken)
    asked.clear()
    with pytest.raises(RuntimeError):
        build(engine, index)
    assert asked == [-1]  # any other error: not read again


def test_statement_timed_out_is_postgresqls_cancel(engine: Engine) -> None:
    assert not statement_timed_out(RuntimeError("x"))
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        with pytest.raises(OperationalError) as raised:
            conn.execute(text("SET LOCAL statement_timeout = 1"))
            conn.execute(text("SELECT pg_sleep(0.2)"))
        conn.rollback()
    assert statement_timed_out(raised.value)


def test_the_sql_plan_is_used_until_a_catalogue_is_warmed(
    corpus: tuple[Engine, ExactIndex], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, index = corpus
    used: list[str] = []  # no catalogue warmed (a command's or a worker's search)
    real = dense.exact_ranking
    monkeypatch.setattr(dense, "exact_ranking", lambda *a: used.append("sql") or real(*a))
    query = index.vectors_for([42])[42]
    with engine.connect() as conn:
        want = _brute(index, query, _plain(conn, FILTERS[0]), 10)
        assert dense_ranking(conn, index, query, FILTERS[0], depth=10) == want
        CATALOGUES.warm(engine, index)
        assert dense_ranking(conn, index, query, FILTERS[0], depth=10) == want
    assert used == ["sql"]  # the second came from the catalogue


def test_int8_nearest_ranks_like_float32() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    codes = np.round(vectors * 127 / np.abs(vectors).max(axis=1, keepdims=True)).astype(np.int8)
    query = vectors[7]
    best = np.argsort(-(vectors @ query))[:20].tolist()
    found = int8_nearest(codes, query, 20).tolist()
    assert found[0] == 7
    assert len(set(found) & set(best)) >= 18
    assert len(int8_nearest(codes, query, 10_000)) == 500
    assert len(int8_nearest(codes[:0], query, 5)) == 0


def test_the_bits_keep_the_rows_nearest_by_hamming_distance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """bits_nearest against Hamming distances counted bit by bit: every row within the distance
    of the ``keep``-th nearest (ties included), whatever the runs the rows are gathered in."""
    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(300, 100)).astype(np.float32)  # 100 bits: two words, one padded
    centre = vectors.mean(axis=0)
    bits = sign_bits(vectors, centre)
    assert bits.shape == (2, 300)
    query = rng.normal(size=100).astype(np.float32)
    rows = np.sort(rng.choice(300, 120, replace=False)).astype(np.int64)
    distance = ((vectors[rows] > centre) != (query > centre)).sum(axis=1)
    for run in (7, 64, 10_000):
        monkeypatch.setattr(catalogue_codes, "GATHER_RUN", run)
        for keep in (1, 10, 50, 119, 120, 500):
            found = bits_nearest(bits, rows, sign_bits(query, centre)[:, 0], keep)
            limit = np.sort(distance)[min(keep, len(rows)) - 1]
            assert found.tolist() == np.flatnonzero(distance <= limit).tolist(), (run, keep)


def test_nibble_codes_unpack_to_each_row_rounded_to_seven_steps() -> None:
    rng = np.random.default_rng(9)
    for dim in (384, 16, 7):  # (an odd one: the last byte's low half unused)
        matrix = rng.normal(size=(40, dim)).astype(np.float32)
        matrix[3] = 0.0  # a row without a vector
        peak = np.abs(matrix).max(axis=1, keepdims=True)
        want = np.round(matrix * 7 / np.where(peak == 0, 1, peak)).astype(np.int8)
        codes = nibble_codes(matrix)
        assert codes.shape == (40, (dim + 1) // 2)
        assert (unpacked(codes, dim) == want).all()


def _catalogue_of(vectors: np.ndarray, categories: dict[str, np.ndarray]) -> Catalogue:
    """A catalogue straight from vectors (row r is paper r + 1, one day each), no database."""
    matrix = vectors.astype(np.float32)
    centre = matrix.mean(axis=0)
    rows = len(matrix)
    ids = np.arange(1, rows + 1, dtype=np.int64)
    days = np.arange(730_000, 730_000 + rows, dtype=np.int32)
    none = np.empty(0, np.int64)
    codes, bits = nibble_codes(matrix), sign_bits(matrix, centre)
    built = Catalogue(ids, days, codes, bits, centre, none, rows, rows)
    built.categories.update(categories)
    return built


def test_the_bits_first_find_the_nearest_ten_of_a_broad_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """384 dimensions, clustered like papers' vectors: a broad category (every third row; its bits
    a kept block), a date range and both searched through the bits first, keeping 5 % of the rows
    (~7 % with dates), then the 4-bit codes and the float32 re-rank: the exact ten nearest
    (recall@10 >= 0.99 over the queries; the query's own paper first)."""
    rng = np.random.default_rng(11)
    topics = rng.normal(size=(60, 384)).astype(np.float32)
    vectors = topics[rng.integers(60, size=20_000)] + rng.normal(0, 0.9, size=(20_000, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = np.arange(0, 20_000, 3, dtype=np.int64)
    built = _catalogue_of(vectors, {"cs.LG": rows})
    monkeypatch.setattr(catalogue_module, "BITS_AFTER", 1_000)
    monkeypatch.setattr(catalogue_module, "BITS_KEEP", 333)  # of 6,667 rows (5,000 with dates)
    hits = []
    for where, among in (
        (SearchFilters(category="cs.LG"), rows),
        (SearchFilters(since=date.fromordinal(735_000)), np.arange(5_000, 20_000)),
        (SearchFilters(category="cs.LG", since=date.fromordinal(735_000)), rows[rows >= 5_000]),
    ):
        for own in among[rng.choice(len(among), 20, replace=False)]:
            query = (vectors[own] + rng.normal(0, 0.02, 384)).astype(np.float32)
            query /= np.linalg.norm(query)
            candidates = built.nearest(None, query, where, 40) - 1  # type: ignore[arg-type]
            assert len(candidates) == 40
            assert set(candidates.tolist()) <= set(among.tolist())
            found = candidates[np.argsort(-(vectors[candidates] @ query))][:10]
            assert found[0] == own
            exact = among[np.argsort(-(vectors[among] @ query))][:10]
            hits.append(len(set(found.tolist()) & set(exact.tolist())) / 10)
    assert np.mean(hits) >= 0.99
    assert list(built.blocks) == ["cs.LG"]


@pytest.mark.only_backend("sqlite")  # PostgreSQL filters inside pgvector's query: no catalogue
@pytest.mark.parametrize("wanted", [True, False])  # DAILYPAPERS_FILTER_CATALOGUE
def test_a_web_process_starts_its_catalogue_when_its_index_opens(
    settings: Settings, engine: Engine, wanted: bool
) -> None:
    settings = settings.model_copy(update={"filter_catalogue": wanted})
    add_papers(engine, *(record(f"2506.{i:05d}", "2025-06-02") for i in range(5)))
    embed_pending(engine, fake_embedder())
    source = Runtime().semantic_source(settings, engine)
    index = _opened(source)
    assert index is not None
    built = CATALOGUES.ready(engine, index.model_name)  # built as the index opened
    if not wanted:
        assert built is None
        return
    assert built is not None and len(built) == 5


@pytest.mark.only_backend("sqlite")
@pytest.mark.parametrize("wanted", [True, False])  # DAILYPAPERS_FILTER_CATALOGUE
def test_a_private_hnsw_index_makes_int8_codes_only_where_no_catalogue_does(
    settings: Settings, engine: Engine, wanted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web process keeping a catalogue (its own int8 codes) never makes the HNSW index's
    (``DAILYPAPERS_VECTOR_MMAP=false``: ~0.5 GB more at 1 M), not even for the filtered searches
    answered on the SQL plan while the catalogue builds; without a catalogue the first exact
    search among a filter's papers starts them. Nothing is made when the index opens."""
    fields = {"filter_catalogue": wanted, "vector_mmap": False, "vector_index": "hnsw"}
    settings = settings.model_copy(update=fields)
    add_papers(
        engine,
        *(record(f"2506.{i:05d}", "2025-06-02", categories=[CATS[i % 2]]) for i in range(8)),
    )
    embed_pending(engine, fake_embedder())
    building = threading.Event()
    real = catalogue_module.build

    def held(*args: object) -> object:  # the catalogue is still being built meanwhile
        building.wait(30)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(catalogue_module, "build", held)
    CATALOGUES.background = True
    try:
        source = Runtime().semantic_source(settings, engine)
        index = _opened(source)
        assert isinstance(index, HnswIndex)
        assert index._codes is None  # none made as the index opened
        query = index.vectors_for([1])[1]
        filters = SearchFilters(category=CATS[1])
        with engine.connect() as conn:
            assert CATALOGUES.get(conn, index) is None
            want = _brute(index, query, _plain(conn, filters), 3)  # type: ignore[arg-type]
            assert dense_ranking(conn, index, query, filters, depth=3) == want
        assert (index._codes is None) == wanted
    finally:
        building.set()


@pytest.mark.only_backend("postgresql")
@pytest.mark.parametrize("wanted", [True, False])  # DAILYPAPERS_FILTER_CATALOGUE
def test_a_postgresql_web_process_searches_filters_through_its_catalogue(
    settings: Settings, engine: Engine, wanted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a web process builds the catalogue too (its vectors read from pgvector, on
    the web engine, under its statement timeout), and a filtered search by meaning is then
    answered through it: the exact nearest papers passing the filter, the relevance floor
    applied, a paper added or deleted since the build seen at once. Without the setting, or
    before the build, pgvector's query answers (the same papers)."""
    settings = settings.model_copy(update={"filter_catalogue": wanted})
    assert import_listing(engine, sample_files()[0]).new > 100
    embed_pending(engine, fake_embedder())
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE papers SET announced_on = CAST(:d AS date) + (id % 20)"),
            {"d": date(2025, 6, 2)},
        )
        conn.execute(text("UPDATE papers SET deleted_at = now() WHERE id % 17 = 3"))
        broad, narrow = conn.execute(
            text(
                "SELECT category FROM paper_categories GROUP BY category "
                "ORDER BY count(*) DESC, category LIMIT 2"
            )
        ).scalars()
    filters = [
        SearchFilters(category=broad),
        SearchFilters(category=narrow),
        SearchFilters(category="nope.XX"),
        SearchFilters(since=date(2025, 6, 5), until=date(2025, 6, 9)),
        SearchFilters(category=broad, since=date(2025, 6, 12)),
    ]
    web = make_engine(
        settings.resolved_database_url, statement_timeout_s=15.0, serving=True
    )  # as create_app makes it
    plans: list[str] = []
    by_catalogue = dense.catalogue_ranking

    def counted(*args: object, **kwargs: object) -> list[int]:
        plans.append("catalogue")
        return by_catalogue(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dense, "catalogue_ranking", counted)
    try:
        assert deadlines_of(web) is not None
        index = _opened(Runtime().semantic_source(settings, web))
        assert isinstance(index, PgVectorIndex)
        built = CATALOGUES.ready(web, index.model_name)
        assert (built is not None) == wanted
        with web.begin() as conn:  # since the build: one paper deleted, one added
            gone = conn.execute(text("SELECT max(id) FROM papers WHERE id % 17 = 5")).scalar()
            conn.execute(text("UPDATE papers SET deleted_at = now() WHERE id = :i"), {"i": gone})
        add_papers(web, record("2507.00001", "2025-06-13", categories=[broad]))
        embed_pending(web, fake_embedder())
        searched = 0
        for query_id in (1, 50, 120):
            query = index.vectors_for([query_id])[query_id]
            for f in filters:
                with web.connect() as conn:
                    want = _brute(index, query, _plain(conn, f), 7)  # type: ignore[arg-type]
                    found = dense_ranking(conn, index, query, f, depth=7)
                    searched += 1
                    assert found == want and gone not in found, (query_id, f)
                    if len(want) < 7:
                        continue
                    near = index.vectors_for(want[3:5])
                    fourth, fifth = (float(near[i] @ query) for i in want[3:5])
                    if fourth - fifth < 1e-3:
                        continue
                    floor = (fourth + fifth) / 2  # keeps four
                    found = dense_ranking(conn, index, query, f, depth=7, floor=floor)
                    searched += 1
                    assert found == dense.above_floor(index, query, want, floor) == want[:4]
        assert searched >= 18 and plans == (["catalogue"] * searched if wanted else [])
        new_paper = max(index.vectors_for(range(1, 10_000)))
        with web.connect() as conn:
            query = index.vectors_for([new_paper])[new_paper]
            assert dense_ranking(conn, index, query, filters[4], depth=1) == [new_paper]
    finally:
        web.dispose()


def test_papers_added_since_are_read_by_id_range(corpus: tuple[Engine, ExactIndex]) -> None:
    """The tail query walks the ids above the build's newest, not the date index over the whole
    range (SQLite picked that for a year's dates at 1 M papers)."""
    engine, _ = corpus
    filters = FILTERS[6]  # a category and dates
    with engine.connect() as conn:
        sql, params = tail_sql(conn, filters, N // 2)
        want = {i for i in _plain(conn, filters) if i > N // 2}
        assert set(conn.execute(text(sql), params).scalars()) == want
        if engine.dialect.name != "sqlite":
            return
        plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params))
        assert "INTEGER PRIMARY KEY (rowid>?)" in plan, plan
