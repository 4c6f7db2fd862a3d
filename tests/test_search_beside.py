"""A hybrid search runs its keyword half on a connection of its own beside the dense half, on both
backends (search/hybrid.py, "Both halves at once"): the two overlap, the pages are those of the halves
one after the other, at most ``BESIDE_MAX`` searches of a process hold a second connection, a
transaction that wrote keeps to its own connection (the other would not see its writes), and an
error in either half reaches the caller with every connection back in the pool."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError

from dailypapers.config import Settings
from dailypapers.embeddings.store import embed_pending
from dailypapers.runtime import Runtime
from dailypapers.search import dense, hybrid
from dailypapers.search.filters import SearchFilters
from dailypapers.search.hybrid import BESIDE_MAX, Semantic, hybrid_search
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import sample_files
from dailypapers.vectors import VectorIndex
from tests.fake_embedder import fake_embedder
from tests.test_filter_catalogue import _opened
from tests.test_pg_search_trips import DAY, QUERIES, every_kind_of_filter

Corpus = tuple[Engine, VectorIndex, list[SearchFilters]]


@pytest.fixture
def corpus(settings: Settings, engine: Engine) -> Iterator[Corpus]:
    """A day of the bundled sample over 20 announce days, embedded, a few papers deleted; the
    index a web process opens (with its filter catalogue), and filters of every kind."""
    assert import_listing(engine, sample_files()[0]).new > 100
    embed_pending(engine, fake_embedder())
    with engine.begin() as conn:
        for paper_id in conn.execute(text("SELECT id FROM papers")).scalars().all():
            day = DAY + timedelta(days=paper_id % 20)
            gone = "CURRENT_TIMESTAMP" if paper_id % 17 == 3 else "NULL"
            conn.execute(
                text(f"UPDATE papers SET announced_on = :d, deleted_at = {gone} WHERE id = :i"),
                {"d": day, "i": paper_id},
            )
        ranked = (
            conn.execute(
                text(
                    "SELECT category FROM paper_categories GROUP BY category "
                    "HAVING count(*) >= 5 ORDER BY count(*), category"
                )
            )
            .scalars()
            .all()
        )
    small, broad = ranked[0], ranked[-1]
    index = _opened(Runtime().semantic_source(settings, engine))
    assert index is not None
    dense.COUNTS.clear()
    yield engine, index, every_kind_of_filter(small, broad)
    dense.COUNTS.clear()


class _Never:
    """A semaphore never free: every search runs its halves one after the other."""

    def acquire(self, blocking: bool = True) -> bool:
        return False


def _checkouts(engine: Engine) -> list[str]:
    """The names of the threads that check a connection out of the pool from now on."""
    seen: list[str] = []
    event.listen(engine.pool, "checkout", lambda *a: seen.append(threading.current_thread().name))
    return seen


def test_the_halves_run_at_once(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each half waits until the other has started: one after the other, the first would wait
    in vain."""
    engine, index, _ = corpus
    keyword_started, dense_started = threading.Event(), threading.Event()
    met: list[bool] = []
    keyword_ranking, dense_ranking = hybrid.keyword_ranking, hybrid.dense_ranking

    def keywords(*args: Any, **kwargs: Any) -> list[int]:  # noqa: ANN401
        keyword_started.set()
        met.append(dense_started.wait(10))
        return keyword_ranking(*args, **kwargs)

    def dense(*args: Any, **kwargs: Any) -> list[int]:  # noqa: ANN401
        dense_started.set()
        met.append(keyword_started.wait(10))
        return dense_ranking(*args, **kwargs)

    monkeypatch.setattr(hybrid, "keyword_ranking", keywords)
    monkeypatch.setattr(hybrid, "dense_ranking", dense)
    with engine.connect() as conn:
        page = hybrid_search(conn, "graph neural networks", None, Semantic(fake_embedder(), index))
    assert met == [True, True] and page.mode == "hybrid" and page.ids


def test_the_pages_are_those_of_the_halves_one_after_the_other(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every query of the trips' set (misspelt, stop words only, no word of any paper, empty)
    under every filter, two pages deep: the same pages, each search one more checkout."""
    engine, index, filters = corpus
    semantic = Semantic(fake_embedder(), index)
    asked = [(q, f, o) for q in QUERIES for f in filters for o in (0, 40)]
    with engine.connect() as conn:
        at_once = [hybrid_search(conn, q, f, semantic, limit=20, offset=o) for q, f, o in asked]
        seen = _checkouts(engine)  # (counts and the like, read once, are cached by now)
        assert [hybrid_search(conn, q, f, semantic, limit=20, offset=o) for q, f, o in asked] == (
            at_once
        )
        beside = [name for name in seen if name.startswith("keywords-beside")]
        assert len(beside) == len(asked)  # each search one connection for its keywords
        monkeypatch.setattr(hybrid, "_BESIDE", _Never())
        apart = [hybrid_search(conn, q, f, semantic, limit=20, offset=o) for q, f, o in asked]
        assert len([name for name in seen if name.startswith("keywords-beside")]) == len(asked)
    assert at_once == apart
    assert any(page.ids for page in apart) and any(not page.ids for page in apart)


def test_past_beside_max_a_search_keeps_to_its_connection(corpus: Corpus) -> None:
    engine, index, _ = corpus
    semantic = Semantic(fake_embedder(), index)
    held = 0
    while hybrid._BESIDE.acquire(blocking=False):  # as BESIDE_MAX searches would
        held += 1
    try:
        assert held == BESIDE_MAX
        with engine.connect() as conn:
            seen = _checkouts(engine)
            page = hybrid_search(conn, "graph neural networks", None, semantic)
        assert seen == [] and page.ids
    finally:
        for _ in range(held):
            hybrid._BESIDE.release()


def test_a_transaction_that_wrote_searches_on_its_own_connection(corpus: Corpus) -> None:
    """Its keyword half sees its writes: a paper it deleted is not found by its words."""
    engine, index, _ = corpus
    semantic = Semantic(fake_embedder(), index)
    with engine.connect() as conn:
        first = hybrid_search(conn, "graph neural networks", None, semantic)
        gone = first.ids[0]
        conn.execute(
            text("UPDATE papers SET deleted_at = CURRENT_TIMESTAMP WHERE id = :i"), {"i": gone}
        )
        seen = _checkouts(engine)
        after = hybrid_search(conn, "graph neural networks", None, semantic)
        assert seen == [] and gone not in after.every
        conn.rollback()
        assert gone in hybrid_search(conn, "graph neural networks", None, semantic).ids


@pytest.mark.parametrize("failing", ["keyword_ranking", "dense_ranking"])
def test_an_error_in_either_half_reaches_the_caller(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    """(As a restarting server's error would: the web app answers it with a 503.) The keyword
    half's connection is back in the pool by then."""
    engine, index, _ = corpus
    semantic = Semantic(fake_embedder(), index)
    real = getattr(hybrid, failing)

    def fails(conn: Connection, *args: Any, **kwargs: Any) -> list[int]:  # noqa: ANN401
        real(conn, *args, **kwargs)
        raise OperationalError("SELECT", {}, Exception("the server closed the connection"))

    monkeypatch.setattr(hybrid, failing, fails)
    with engine.connect() as conn:
        with pytest.raises(OperationalError, match="closed the connection"):
            hybrid_search(conn, "graph neural networks", None, semantic)
        assert engine.pool.checkedout() == 1  # this test's own
