"""The SQLite engine: writers of one process queue on a lock (no busy-polling), readers never do."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from dailypapers.db.engine import make_engine


@pytest.fixture
def counter(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'counter.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    return engine


def _lock_is_free(engine: Engine) -> bool:
    raw = engine.raw_connection()
    try:
        return not raw.driver_connection.write_lock.locked()  # type: ignore[union-attr]
    finally:
        raw.close()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT n FROM counter")).scalar_one())


def test_concurrent_write_transactions_all_land(counter: Engine) -> None:
    """16 threads x 20 read-modify-write transactions: none lost, none waits on SQLite's busy
    handler (with it, a read-then-write transaction can fail with 'database is locked')."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                with counter.begin() as conn:
                    conn.execute(text("UPDATE counter SET n = n + 1"))
                    conn.execute(text("SELECT n FROM counter")).scalar_one()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _count(counter) == 320
    assert _lock_is_free(counter)


def test_rollback_and_failed_statements_release_the_lock(counter: Engine) -> None:
    with counter.connect() as conn:
        conn.execute(text("UPDATE counter SET n = 5"))
        assert not _lock_is_free(counter)  # held while the transaction is open
        conn.rollback()
    assert _lock_is_free(counter) and _count(counter) == 0

    with pytest.raises(IntegrityError), counter.begin() as conn:
        conn.execute(text("INSERT INTO counter VALUES (1, 1)"))  # duplicate key
    assert _lock_is_free(counter)

    with counter.begin() as conn:  # the next writer is not blocked
        conn.execute(text("UPDATE counter SET n = 7"))
    assert _count(counter) == 7


def test_readers_do_not_wait_for_a_writer(counter: Engine) -> None:
    with counter.connect() as writer:
        writer.execute(text("UPDATE counter SET n = 1"))  # an open write transaction
        start = time.monotonic()
        assert _count(counter) == 0  # another connection reads the last committed state
        assert time.monotonic() - start < 1
        writer.commit()
    assert _count(counter) == 1


def test_a_closed_connection_hands_the_lock_on(counter: Engine) -> None:
    raw = counter.raw_connection()
    raw.cursor().execute("UPDATE counter SET n = 3")
    raw.invalidate()  # closes the DB-API connection with its transaction open
    assert _lock_is_free(counter)
    with counter.begin() as conn:
        conn.execute(text("UPDATE counter SET n = 4"))
    assert _count(counter) == 4


def test_private_page_caches_stay_small(counter: Engine) -> None:
    """Every pooled connection keeps an 8 MB page cache (32 MB each grew a web process under
    load) and maps nothing (a map per connection counts the same pages again in RSS). What is
    read does not change: a write on one connection is read on another."""
    with counter.connect() as conn:
        assert conn.execute(text("PRAGMA mmap_size")).scalar_one() == 0
        assert conn.execute(text("PRAGMA cache_size")).scalar_one() == -8000
    with counter.connect() as reader:
        assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 0
        reader.rollback()  # its read transaction ends: the next read sees new commits
        with counter.begin() as writer:
            writer.execute(text("UPDATE counter SET n = 41"))
        assert reader.execute(text("SELECT n FROM counter")).scalar_one() == 41
