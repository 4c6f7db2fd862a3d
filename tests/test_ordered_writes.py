"""Ordered writes on several PostgreSQL connections (db/ordered_writes.py): ids and commits in
batch order, a failure stops the batches after it and is the error raised."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from dailypapers.db.ordered_writes import IdsTurn, apart, ordered_batches, regroup

pytestmark = pytest.mark.postgresql


@pytest.fixture
def pg(backend: str, engine: Engine) -> Iterator[Engine]:
    if backend != "postgresql":
        pytest.skip("ordered writes are PostgreSQL's")
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE written (batch integer, id bigint, at timestamptz DEFAULT clock_timestamp())"
            )
        )
        conn.execute(text("CREATE SEQUENCE written_ids"))
    yield engine


def _write(conn: Connection, batch: int, ids_turn: IdsTurn) -> int:
    """Odd batches are slow before their ids, even ones after: commits would overtake."""
    if batch % 2:
        time.sleep(0.05)
    with ids_turn():
        got = conn.execute(text("SELECT nextval('written_ids')")).scalar_one()
    if not batch % 2:
        time.sleep(0.05)
    conn.execute(text("INSERT INTO written VALUES (:b, :i)"), {"b": batch, "i": got})
    if batch < 0:
        raise ValueError("a bad batch")
    return batch


def test_ids_and_commits_follow_the_batches(pg: Engine) -> None:
    done = list(ordered_batches(pg, range(8), _write, writers=3))
    assert done == list(range(8))
    with pg.connect() as conn:
        rows = conn.execute(text("SELECT batch, id FROM written ORDER BY id")).all()
        commits = conn.execute(text("SELECT version FROM data_changes")).scalars().all()
    assert [b for b, _ in rows] == list(range(8))  # ids in batch order
    assert sum(commits) == 8  # each commit bumped the change counter once


def test_a_failing_batch_is_raised_and_the_later_ones_roll_back(pg: Engine) -> None:
    seen: list[int] = []
    before = set(threading.enumerate())
    with pytest.raises(ValueError, match="a bad batch"):
        seen.extend(ordered_batches(pg, [0, 1, 2, 3, 4, -5, 6, 7, 8], _write, writers=2))
    assert seen == [0, 1, 2, 3, 4]
    with pg.connect() as conn:
        written = conn.execute(text("SELECT batch FROM written ORDER BY 1")).scalars().all()
    assert written == [0, 1, 2, 3, 4]
    assert set(threading.enumerate()) <= before  # the writers are gone


def test_a_failing_source_keeps_the_batches_it_gave(pg: Engine) -> None:
    def source() -> Iterator[int]:
        yield from range(5)
        raise OSError("a damaged file")

    seen: list[int] = []
    with pytest.raises(OSError, match="a damaged file"):
        seen.extend(ordered_batches(pg, source(), _write, writers=2))
    assert seen == [0, 1, 2, 3, 4]  # batches still open when the source failed commit too
    with pg.connect() as conn:
        written = conn.execute(text("SELECT batch FROM written ORDER BY 1")).scalars().all()
    assert written == [0, 1, 2, 3, 4]


def test_apart_names_keys_of_recent_batches_and_regroup_keeps_keys_apart() -> None:
    batches = [[1, 2], [3, 1], [4, 5], [2, 6], [7]]
    held = [sorted(h) for _, h in apart(batches, lambda x: x, window=2)]
    assert held == [[], [1], [], [], []]  # 2 was two batches back: committed by then
    assert list(regroup([[1], [2], [], [1, 3], [4]], lambda x: x, size=3)) == [
        [1, 2],
        [1, 3, 4],
    ]
    assert list(regroup([[1, 2], [3, 4]], lambda x: x, size=3)) == [[1, 2], [3, 4]]
