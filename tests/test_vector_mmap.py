"""Mapped vector indexes (vectors/mapped.py): a saved file mapped read-only plus an in-memory
delta answers exactly what the plain in-memory index answers, follows new, re-embedded, deleted
and restored papers, is written once and shared, rebased when the delta grows, and a damaged
file is rebuilt, never trusted."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text, update

from dailypapers.cli.server import limit_malloc_arenas
from dailypapers.config import Settings
from dailypapers.db.models import Paper
from dailypapers.embeddings.store import embed_pending
from dailypapers.vectors import ExactIndex, LiveIndexes, VectorIndex, mapped
from dailypapers.vectors import live as live_module
from dailypapers.vectors.hnsw import HnswIndex, load_saved
from dailypapers.vectors.live import index_folder
from dailypapers.vectors.mapped import MappedIndex, map_hnsw, map_matrix, save_matrix
from tests.fake_embedder import FAKE_MODEL, fake_embedder
from tests.test_vectors import clustered, one_day

pytestmark = pytest.mark.only_backend("sqlite")  # PostgreSQL searches in the database


def same_answers(
    plain: VectorIndex, other: VectorIndex, queries: np.ndarray, ks=(1, 10, 60), tie: float = 0.0
) -> None:
    """The same papers, best first, with the same scores; with ``tie`` (HNSW stores float16,
    the delta float32), papers whose scores are that close may swap places."""
    assert len(plain) == len(other)
    for query in queries:
        for k in ks:
            want_ids, want_scores = plain.search(query, k)
            got_ids, got_scores = other.search(query, k)
            assert np.allclose(got_scores, want_scores, atol=max(tie, 1e-4))
            if not tie:
                assert got_ids.tolist() == want_ids.tolist()
            for key, score in zip(got_ids.tolist(), got_scores, strict=True):
                if key not in want_ids:  # a near tie at the cut
                    assert abs(score - want_scores[-1]) <= tie


def answers_as_exact(
    exact: VectorIndex, graph: VectorIndex, queries: np.ndarray, ks=(1, 10, 60)
) -> None:
    """An HNSW index answers as the exact one, up to what a graph walk may miss: every paper it
    returns is a live one with its current vector (the score exact search gives it, within float16),
    and it finds >= 95 % of the exact answers. Two graphs built differently (one holding the newer
    papers in a delta) miss different papers, and a graph of these 32-dimension bag-of-words vectors
    can leave a node unreachable however wide the walk, so they are not compared with each other."""
    assert len(exact) == len(graph)
    found = wanted = 0
    for query in queries:
        every = dict(zip(*(a.tolist() for a in exact.search(query, len(exact))), strict=True))
        for k in ks:
            want_ids = exact.search(query, k)[0].tolist()
            got_ids, got_scores = graph.search(query, k)
            assert len(got_ids) == len(want_ids)
            for key, score in zip(got_ids.tolist(), got_scores.tolist(), strict=True):
                assert key in every, f"paper {key} is not live"
                assert abs(score - every[key]) <= 2e-3, f"paper {key}: a stale vector"
            found += len(set(got_ids.tolist()) & set(want_ids))
            wanted += k
    assert found >= 0.95 * wanted, f"recall {found / wanted:.3f}"


def changes(index: VectorIndex) -> None:
    """New papers, re-embedded ones (a new vector for a key the file holds), removed ones, and a
    removed one coming back: the same calls on both indexes."""
    index.add(np.arange(9000, 9200), clustered(200, seed=7))
    index.add(np.arange(1000, 1050), clustered(50, seed=8))  # re-embedded
    index.remove(list(range(1100, 1300)) + [9100, 424242])  # deleted (one never there)
    index.add([1200], clustered(1, seed=9))  # restored


def test_a_mapped_exact_matrix_answers_as_the_plain_index(tmp_path: Path) -> None:
    vectors, ids = clustered(3000), np.arange(1000, 4000)
    plain = ExactIndex("m", 32)
    plain.add(ids, vectors)
    save_matrix(tmp_path, "m", ids[::-1].copy(), vectors[::-1].copy(), watermark=3000)
    index, watermark = map_matrix(tmp_path, "m", 32)
    assert watermark == 3000 and index.kind == "exact" and len(index.delta) == 0
    assert isinstance(index.base._matrix, np.memmap)  # type: ignore[attr-defined]
    queries = clustered(40, seed=1)
    same_answers(plain, index, queries)
    changes(plain)
    changes(index)
    same_answers(plain, index, queries)
    for key in (1000, 1100, 1200, 2000, 9000, 9100, 5):
        assert (key in plain) == (key in index)
    keys = [1000, 1100, 1200, 2000, 9000, 9100, 5]
    want, got = plain.vectors_for(keys), index.vectors_for(keys)
    assert set(want) == set(got)
    for key in want:
        assert np.allclose(want[key], got[key])


def test_a_mapped_hnsw_graph_answers_as_the_loaded_one(tmp_path: Path) -> None:
    """A small set, where HNSW finds the true nearest: the loaded graph (changed in place) and
    the mapped one (changes in the delta) answer alike."""
    vectors, ids = clustered(600, dim=16), np.arange(1000, 1600)
    built = HnswIndex("m", 16)
    built.add(ids, vectors)
    built.save(tmp_path, watermark=600)
    plain = load_saved(tmp_path, "m", 16).index
    index, watermark = map_hnsw(tmp_path, "m", 16)
    assert watermark == 600 and index.kind == "hnsw"
    queries = clustered(30, dim=16, seed=1)
    same_answers(plain, index, queries, ks=(1, 10), tie=2e-3)
    for target in (plain, index):
        target.add(np.arange(9000, 9100), clustered(100, dim=16, seed=7))
        target.add(np.arange(1000, 1030), clustered(30, dim=16, seed=8))
        target.remove(list(range(1100, 1200)))
        target.add([1150], clustered(1, dim=16, seed=9))
    same_answers(plain, index, queries, ks=(1, 10), tie=2e-3)
    assert set(index.vectors_for([1000, 1100, 1150, 9000])) == {1000, 1150, 9000}
    assert np.allclose(index.vectors_for([1000])[1000], clustered(30, dim=16, seed=8)[0])


def test_every_hidden_answer_is_replaced_from_further_down(tmp_path: Path) -> None:
    """Hiding more of the file's answers than a search asks for still returns ``k`` papers."""
    vectors, ids = clustered(500), np.arange(500)
    save_matrix(tmp_path, "m", ids, vectors, watermark=500)
    index, _ = map_matrix(tmp_path, "m", 32)
    query = vectors[0]
    nearest = index.search(query, 400)[0]
    index.remove(nearest[:300])
    found = index.search(query, 10)[0]
    assert len(found) == 10 and not set(found.tolist()) & set(nearest[:300].tolist())
    assert found.tolist() == nearest[300:310].tolist()


def _embedded(engine: Engine, settings: Settings, limit: int | None = None) -> int:
    papers = one_day(engine)
    embed_pending(engine, fake_embedder(), limit=limit)
    return papers


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_the_live_mapped_index_follows_the_database_as_the_plain_one(
    settings: Settings, engine: Engine, kind: str
) -> None:
    _embedded(engine, settings, limit=150)
    options = {"vector_index": kind}
    on = settings.model_copy(update=options | {"vector_mmap": True})
    off = settings.model_copy(update=options | {"vector_mmap": False})
    exact = settings.model_copy(update={"vector_index": "exact", "vector_mmap": False})
    mapped_live, plain_live, exact_live = LiveIndexes(), LiveIndexes(), LiveIndexes()
    embedder = fake_embedder()
    queries = np.stack([embedder.encode_query(q) for q in ("graph networks", "language models",
                                                          "robot learning", "image diffusion")])  # fmt: skip

    def check() -> MappedIndex:
        """The mapped index answers as the plain one (the same graph kind, not mapped); an HNSW
        pair each as exact search (see ``answers_as_exact``)."""
        index, plain = mapped_live.open(on, engine), plain_live.open(off, engine)
        assert isinstance(index, MappedIndex) and not isinstance(plain, MappedIndex)
        assert plain is not None and plain.kind == index.kind == kind
        if kind == "exact":
            same_answers(plain, index, queries)
        else:
            truth = exact_live.open(exact, engine)
            assert truth is not None and truth.kind == "exact"
            answers_as_exact(truth, plain, queries)
            answers_as_exact(truth, index, queries)
        return index

    index = check()
    assert len(index.delta) == 0 and len(index) == 150
    embed_pending(engine, embedder)  # the rest: into the delta
    index = check()
    assert len(index.delta) > 0
    best = int(index.search(queries[0], 1)[0][0])
    with engine.begin() as conn:
        conn.execute(
            update(Paper).where(Paper.id == best).values(deleted_at=text("CURRENT_TIMESTAMP"))
        )
    index = check()
    assert best not in index and best not in index.search(queries[0], 50)[0].tolist()
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == best).values(deleted_at=None))
    index = check()
    assert best in index.search(queries[0], 1 if kind == "exact" else 10)[0].tolist()


def test_processes_share_one_file_and_map_a_rebased_one(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mapped, "REBASE_AT", 20)
    monkeypatch.setattr(live_module, "SAVE_EVERY_S", 0.0)
    papers = _embedded(engine, settings, limit=100)
    chosen = settings.model_copy(update={"vector_index": "exact"})
    first, second = LiveIndexes(), LiveIndexes()  # two web processes
    a, b = first.open(chosen, engine), second.open(chosen, engine)
    assert isinstance(a, MappedIndex) and isinstance(b, MappedIndex)
    folder = index_folder(chosen, FAKE_MODEL)
    assert len(list(folder.glob("exact-*.vectors.npy"))) == 1  # the second mapped the first's
    assert a.base.path == b.base.path  # type: ignore[attr-defined]
    embed_pending(engine, fake_embedder())
    a = first.open(chosen, engine)  # catches up, and starts writing a new file
    assert isinstance(a, MappedIndex) and len(a.delta) == papers - 100
    deadline = time.monotonic() + 30
    while json.loads((folder / "exact.json").read_text())["count"] != papers:
        assert time.monotonic() < deadline, "no new file was written"
        time.sleep(0.05)
    time.sleep(0.2)  # the writer's thread lets go
    for live in (first, second):
        index = live.open(chosen, engine)
        assert isinstance(index, MappedIndex) and len(index.delta) == 0 and len(index) == papers
    query = fake_embedder().encode_query("transformers")
    plain = LiveIndexes().open(
        settings.model_copy(update={"vector_index": "exact", "vector_mmap": False}), engine
    )
    assert plain is not None
    same_answers(plain, index, query[None, :])


@pytest.mark.parametrize("damage", ["truncate", "header"])
def test_a_damaged_matrix_file_is_rebuilt_with_a_warning(
    settings: Settings, engine: Engine, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    papers = _embedded(engine, settings)
    chosen = settings.model_copy(update={"vector_index": "exact"})
    assert LiveIndexes().open(chosen, engine) is not None
    folder = index_folder(chosen, FAKE_MODEL)
    header = json.loads((folder / "exact.json").read_text())
    if damage == "truncate":
        path = folder / f"{header['stem']}.vectors.npy"
        path.write_bytes(path.read_bytes()[:1000])
    else:
        (folder / "exact.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="dailypapers.vectors.live"):
        index = LiveIndexes().open(chosen, engine)
    assert "rebuilding from the database" in caplog.text
    assert isinstance(index, MappedIndex) and len(index) == papers and len(index.delta) == 0


def test_serve_caps_malloc_arenas_unless_the_user_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "2"
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    limit_malloc_arenas()
    assert os.environ["MALLOC_ARENA_MAX"] == "8"
