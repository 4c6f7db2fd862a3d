"""PostgreSQL's change counter is read once for many requests, but never with a read that began
before a request arrived (it could miss a write that request must see)."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from dailypapers.db import changes
from dailypapers.db.changes import PostgresChanges
from tests.helpers import run_async


def test_requests_share_reads_but_never_one_begun_before_them() -> None:
    counter = PostgresChanges(engine=None)  # type: ignore[arg-type]  # reads are faked below
    database = {"version": 1}
    begun, release = threading.Event(), threading.Event()

    def fake_read() -> int:
        seen = database["version"]
        if counter.round_trips == 1:  # the first read is slow: requests pile up behind it
            begun.set()
            release.wait(5)
        return seen

    counter._read = fake_read  # type: ignore[method-assign]

    async def requests() -> tuple[Any, list[Any]]:
        first = asyncio.create_task(counter.read())
        await asyncio.to_thread(begun.wait, 5)  # the first read is under way, it saw 1
        database["version"] = 2  # a vote commits
        later = [asyncio.create_task(counter.read()) for _ in range(50)]
        await asyncio.sleep(0.05)
        release.set()
        return await first, list(await asyncio.gather(*later))

    first, later = run_async(requests())
    assert first == 1
    assert later == [2] * 50  # all of them see the vote ...
    assert counter.round_trips == 2  # ... from one read between them


def test_a_read_that_fails_answers_none_and_the_next_one_reads_again() -> None:
    counter = PostgresChanges(engine=None)  # type: ignore[arg-type]
    answers = iter([RuntimeError("gone"), 7])

    def fake_read() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    counter._read = fake_read  # type: ignore[method-assign]

    async def two() -> list[int | None]:
        results = []
        for _ in range(2):
            try:
                results.append(await counter.read())
            except RuntimeError:
                results.append(None)
        return results

    assert run_async(two()) == [None, 7]


def test_a_request_waits_for_a_stuck_read_at_most_read_wait_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A read stuck behind a server that stopped answering (reconnecting, a frozen server) makes
    the request go on without the page cache after READ_WAIT_S; the read's own deadlines end it."""
    counter = PostgresChanges(engine=None)  # type: ignore[arg-type]
    release = threading.Event()
    counter._read = lambda: 7 if release.wait(5) else None  # type: ignore[method-assign]
    monkeypatch.setattr(changes, "READ_WAIT_S", 0.2)
    started = time.monotonic()
    assert run_async(counter.read()) is None  # not known in time: nothing is cached
    assert time.monotonic() - started < 1.0
    release.set()
    assert run_async(counter.read()) == 7
