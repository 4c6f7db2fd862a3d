"""Vector indexes: exact, int8 and HNSW agree; the live index follows the database (new vectors,
deleted papers, a model switch); a damaged or stale saved index is rebuilt, never trusted."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
from sqlalchemy import Engine, text, update

from dailypapers.config import Settings
from dailypapers.db.engine import backend_of
from dailypapers.db.models import Paper
from dailypapers.db.pg_vectors import HalfvecVectors, hnsw_index_name
from dailypapers.embeddings import register_embedder
from dailypapers.embeddings.store import embed_pending, save_vectors
from dailypapers.search import dense
from dailypapers.search.dense import dense_ranking
from dailypapers.search.filters import SearchFilters
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import sample_files
from dailypapers.vectors import ExactIndex, LiveIndexes, search_among
from dailypapers.vectors import live as live_module
from dailypapers.vectors import pgvector as pgvector_module
from dailypapers.vectors.exact import Int8ExactIndex
from dailypapers.vectors.hnsw import HnswIndex
from dailypapers.vectors.live import index_folder
from dailypapers.vectors.pgvector import PgVectorIndex, VectorCount
from tests.fake_embedder import FAKE_MODEL, fake_embedder


def one_day(engine: Engine) -> int:
    """One day of the bundled sample (a few hundred real papers): enough, and fast."""
    return import_listing(engine, sample_files()[0]).new


def clustered(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors around 20 centres, like topics."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    vectors = centres[rng.integers(0, 20, n)] + 0.5 * rng.normal(size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def test_exact_int8_and_hnsw_agree_on_a_small_set() -> None:
    vectors = clustered(3000)
    ids = np.arange(1000, 4000)
    exact = ExactIndex("m", 32)
    stored = dict(zip(ids.tolist(), vectors, strict=True))
    int8 = Int8ExactIndex("m", 32, lambda keys: {k: stored[k] for k in keys})
    hnsw = HnswIndex("m", 32)
    for index in (exact, int8, hnsw):
        index.add(ids, vectors)
        assert len(index) == 3000 and 1000 in index and 5 not in index
    queries = clustered(50, seed=1)
    overlap = []
    for query in queries:
        truth_ids, truth_scores = exact.search(query, 10)
        assert np.allclose(truth_scores, ids_scores(vectors, ids, query, truth_ids))
        int8_ids, int8_scores = int8.search(query, 10)
        assert list(int8_ids) == list(truth_ids) and np.allclose(int8_scores, truth_scores)
        overlap.append(len(set(hnsw.search(query, 10)[0]) & set(truth_ids)) / 10)
    assert np.mean(overlap) >= 0.9  # synthetic noise makes near-ties; real vectors: ann_recall.py


def ids_scores(
    vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, found: np.ndarray
) -> np.ndarray:
    rows = {key: row for row, key in enumerate(ids.tolist())}
    return np.array([vectors[rows[key]] @ query for key in found.tolist()], np.float32)


def test_exact_index_updates_removes_and_compacts() -> None:
    index = ExactIndex("m", 4)
    eye = np.eye(4, dtype=np.float32)
    index.add([1, 2, 3], eye[:3])
    index.add([2], eye[3:])  # a re-embedded paper replaces its vector
    assert index.search(eye[3], 1)[0].tolist() == [2]
    index.remove([2, 99])
    assert 2 not in index and index.search(eye[3], 5)[0].tolist() != [2]
    index.add(range(10, 3000), np.tile(eye[0], (2990, 1)))
    index.remove(range(10, 2900))  # compacts
    assert len(index) == 102 and set(index.vectors_for([1, 3, 2950])) == {1, 3, 2950}
    found, scores = search_among(index, eye[2], [1, 3, 2950], 2)
    assert found.tolist() == [3, 1] and scores[0] == pytest.approx(1.0)


def test_open_index_follows_new_vectors_and_deleted_papers(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pgvector_module, "COUNT_TTL_S", 0.0)  # PostgreSQL: len() recounts
    live = LiveIndexes()
    assert live.open(settings, engine) is None  # nothing embedded yet: keyword search only
    papers = one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder, limit=100)
    index = live.open(settings, engine)
    in_memory = backend_of(engine) == "sqlite"  # PostgreSQL: the database is the index
    assert index is not None and len(index) == 100
    assert index.kind == ("exact" if in_memory else "pgvector")
    embed_pending(engine, embedder)
    again = live.open(settings, engine)
    assert again is not None and (again is index or not in_memory)  # caught up, not reloaded
    index = again
    began = time.monotonic()  # (PostgreSQL recounts on a thread; calls take the last count)
    while len(index) != papers and time.monotonic() - began < 10:
        time.sleep(0.01)
    assert len(index) == papers
    query = embedder.encode_query("graph neural networks for molecules")
    best = int(index.search(query, 1)[0][0])
    with engine.begin() as conn:
        conn.execute(
            update(Paper).where(Paper.id == best).values(deleted_at=text("CURRENT_TIMESTAMP"))
        )
    index = live.open(settings, engine)
    assert index is not None and best not in index.search(query, 50)[0].tolist()
    assert best not in index.vectors_for([best])
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == best).values(deleted_at=None))
    index = live.open(settings, engine)
    assert index is not None and int(index.search(query, 1)[0][0]) == best


def test_a_new_model_serves_only_once_it_covers_the_corpus(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "MODEL_CHECK_S", 0.0)
    live = LiveIndexes()
    papers = one_day(engine)
    embed_pending(engine, fake_embedder())
    new = fake_embedder("test/another-model")
    register_embedder(new)
    switched = settings.model_copy(update={"embedding_model": new.model_name})
    embed_pending(engine, new, limit=100)  # the background job is under way
    index = live.open(switched, engine)
    assert index is not None and index.model_name == FAKE_MODEL and len(index) == papers
    embed_pending(engine, new)
    index = live.open(switched, engine)
    if backend_of(engine) == "sqlite":  # starts building the new model's index ...
        assert index is not None and index.model_name == FAKE_MODEL  # ... the old one answers
        deadline = time.monotonic() + 30
        while live.switching() and time.monotonic() < deadline:
            time.sleep(0.05)
        index = live.open(switched, engine)
    # (PostgreSQL has nothing to build: the model's HNSW index grew with its vectors)
    assert index is not None and index.model_name == new.model_name and len(index) == papers


def _hnsw_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"vector_index": "auto", "hnsw_threshold": 100})


@pytest.mark.only_backend("sqlite")
def test_hnsw_is_chosen_by_size_saved_and_reloaded(settings: Settings, engine: Engine) -> None:
    live = LiveIndexes()
    papers = one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder)
    chosen = _hnsw_settings(settings)
    index = live.open(chosen, engine)
    assert index is not None and index.kind == "hnsw"
    query = embedder.encode_query("language models")
    expected = index.search(query, 10)[0].tolist()
    header = json.loads((index_folder(chosen, FAKE_MODEL) / "current.json").read_text())
    assert header["count"] == papers and header["model"] == FAKE_MODEL
    live = LiveIndexes()  # a new process
    reloaded = live.open(chosen, engine)
    assert reloaded is not None and reloaded is not index
    assert reloaded.search(query, 10)[0].tolist() == expected


@pytest.mark.only_backend("sqlite")
@pytest.mark.parametrize("damage", ["truncate", "garble", "header-model", "database-replaced"])
def test_a_damaged_or_stale_saved_index_is_rebuilt_with_a_warning(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    live = LiveIndexes()
    papers = one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder)
    chosen = _hnsw_settings(settings)
    exact = settings.model_copy(update={"vector_index": "exact"})
    query = embedder.encode_query("reinforcement learning agents")
    truth = live.open(exact, engine).search(query, 5)  # type: ignore[union-attr]
    live = LiveIndexes()  # a new process
    assert live.open(chosen, engine) is not None
    live = LiveIndexes()  # a new process
    folder = index_folder(chosen, FAKE_MODEL)
    header_path = folder / "current.json"
    header = json.loads(header_path.read_text())
    data = folder / header["file"]
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "garble":
        raw = bytearray(data.read_bytes())
        middle = len(raw) // 2
        raw[middle : middle + 64] = bytes(b ^ 0xFF for b in raw[middle : middle + 64])
        data.write_bytes(bytes(raw))
    elif damage == "header-model":
        header_path.write_text(json.dumps(header | {"model": "someone/else"}))
    else:  # the database was restored from an older copy: it lacks the newest vectors
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM paper_embeddings WHERE id > 300"))
        truth = live.open(exact, engine).search(query, 5)  # type: ignore[union-attr]
        live = LiveIndexes()  # a new process
    with caplog.at_level(logging.WARNING, logger="dailypapers.vectors.live"):
        index = live.open(chosen, engine)
    assert "rebuilding from the database" in caplog.text
    assert index is not None and index.kind == "hnsw"
    # right answers: every paper returned carries its exact score, best first, and most of the
    # exact top 5 are found (HNSW is approximate, and this small bag-of-words set is hard for it)
    found_ids, found_scores = index.search(query, 5)
    stored = live.open(exact, engine).vectors_for(found_ids.tolist())  # type: ignore[union-attr]
    exact_scores = np.array([stored[int(i)] @ query for i in found_ids], np.float32)
    assert np.allclose(found_scores, exact_scores, atol=2e-3)
    assert list(found_scores) == sorted(found_scores, reverse=True)
    assert len(set(found_ids.tolist()) & set(truth[0].tolist())) >= 3
    assert len(index) == (300 if damage == "database-replaced" else papers)


# --- PostgreSQL: the vectors are searched where they are stored ----------------------------------


@pytest.mark.only_backend("postgresql")
def test_each_models_hnsw_index_is_made_with_its_first_vectors_and_used(
    settings: Settings, engine: Engine
) -> None:
    """What the saved HNSW file is on SQLite: pgvector's HNSW index, partial per model (its
    dimension), created by the first write of the model's vectors, and chosen by the planner."""
    one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder, limit=50)
    name = hnsw_index_name(FAKE_MODEL, embedder.dim)
    with engine.connect() as conn:
        definition = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": name}
        ).scalar_one()
        assert f"halfvec({embedder.dim})" in definition and "hnsw" in definition
        assert f"model)::text = '{FAKE_MODEL}'" in definition
        conn.execute(text("SET enable_seqscan = off"))  # a small table: tell the planner
        index = PgVectorIndex(engine, FAKE_MODEL, embedder.dim, VectorCount())
        plan = conn.execute(
            text(
                f"EXPLAIN SELECT e.paper_id FROM paper_embeddings e "
                f"WHERE e.model = '{FAKE_MODEL}' ORDER BY e.embedding::halfvec({embedder.dim}) "
                f"<=> CAST(:q AS halfvec({embedder.dim})) LIMIT 5"
            ),
            {"q": "[" + ",".join(["0.1"] * embedder.dim) + "]"},
        ).scalars()
        assert name in "\n".join(plan)
        ids, scores = index.search_where(conn, embedder.encode_query("x"), [], {}, 5)
        assert len(ids) == 5 and list(scores) == sorted(scores, reverse=True)


@pytest.mark.only_backend("postgresql")
def test_every_process_sees_new_vectors_and_deleted_papers_at_once(
    settings: Settings, engine: Engine
) -> None:
    """Two web processes (two LiveIndexes) hold nothing of their own: a vector written or a
    paper deleted by anyone is in (or out of) the next search of both."""
    one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder)
    first, second = LiveIndexes(), LiveIndexes()
    query = embedder.encode_query("graph neural networks for molecules")
    a, b = first.open(settings, engine), second.open(settings, engine)
    assert a is not None and b is not None
    best = int(a.search(query, 1)[0][0])
    assert int(b.search(query, 1)[0][0]) == best
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == best).values(deleted_at=text("now()")))
    for live in (first, second):
        index = live.open(settings, engine)
        assert index is not None and best not in index.search(query, 20)[0].tolist()
    with engine.begin() as conn:  # re-embedded: a new row, the same answer everywhere at once
        conn.execute(update(Paper).where(Paper.id == best).values(deleted_at=None))
        save_vectors(conn, FAKE_MODEL, [best], np.stack([query]), [b"12345678"])
    for live in (first, second):
        index = live.open(settings, engine)
        assert index is not None
        found, scores = index.search(query, 1)
        assert int(found[0]) == best and scores[0] == pytest.approx(1.0, abs=2e-3)


@pytest.mark.only_backend("postgresql")
def test_a_filtered_search_through_the_hnsw_index_returns_the_true_nearest(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under a narrow filter, through the HNSW index (exact comparison turned off, sequential scans
    forbidden): pgvector's iterative scan reads on until ``depth`` papers pass the filter, and they
    are the exact answer's papers; a deleted paper is never among them."""
    one_day(engine)
    embedder = fake_embedder()
    embed_pending(engine, embedder)
    index = LiveIndexes().open(settings, engine)
    assert isinstance(index, PgVectorIndex)
    query = embedder.encode_query("graph neural networks for molecules")
    with engine.begin() as conn:
        category = conn.execute(
            text(
                "SELECT category FROM paper_categories GROUP BY category "
                "HAVING count(*) BETWEEN 15 AND 60 ORDER BY count(*) LIMIT 1"
            )
        ).scalar_one()
        filters = SearchFilters(category=category)
        exact = dense_ranking(conn, index, query, filters, depth=10)
        conn.execute(update(Paper).where(Paper.id == exact[0]).values(deleted_at=text("now()")))
        exact = dense_ranking(conn, index, query, filters, depth=10)
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", 0)
    calls: list[bool] = []
    nearest = HalfvecVectors.nearest

    def spy(self: HalfvecVectors, *args: object, exact: bool, **kw: object) -> object:
        calls.append(exact)
        return nearest(self, *args, exact=exact, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(HalfvecVectors, "nearest", spy)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        through_index = dense_ranking(conn, index, query, filters, depth=10)
    assert calls == [False]  # the index answered, no exact fallback
    assert len(through_index) == 10 and len(set(through_index) & set(exact)) >= 9
    assert through_index[:3] == exact[:3]


def test_the_vector_count_is_recounted_off_the_request_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's count of a model's vectors (290 ms at 2.5 M papers): the first count, and
    every count while there are none, by the caller; later ones on a thread of their own, callers
    meanwhile taking the last, one recount at a time."""
    import threading

    release = threading.Event()
    counts = iter([0, 5, 7, 9])
    reads: list[int] = []

    def read(_engine: object, _model: str) -> int:
        reads.append(1)
        if len(reads) == 3:  # the first recount, on its thread: held until released
            assert release.wait(10)
        return next(counts)

    monkeypatch.setattr(pgvector_module.VectorCount, "_read", staticmethod(read))
    count = pgvector_module.VectorCount()
    engine: Engine = object()  # type: ignore[assignment]  # (never used: _read is replaced)
    assert count.get(engine, "m") == 0  # none yet ...
    assert count.get(engine, "m") == 5  # ... so counted again at once
    monkeypatch.setattr(pgvector_module, "COUNT_TTL_S", 0.0)
    began = time.monotonic()
    assert [count.get(engine, "m") for _ in range(3)] == [5, 5, 5]  # the last count
    assert time.monotonic() - began < 1 and len(reads) == 3  # one recount, not waited for
    release.set()
    while count._counts.running:
        assert time.monotonic() - began < 10
        time.sleep(0.01)
    monkeypatch.setattr(pgvector_module, "COUNT_TTL_S", 60.0)
    assert count.get(engine, "m") == 7  # the recount's, trusted again
