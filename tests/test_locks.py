"""Named leases in the database (``dailypapers.db.locks``): one holder at a time across processes,
expiry after ``lease_s`` without renewal, and the arXiv request pacing that survives a hand-over.

Times come from the caller (an injected clock: plain numbers here). "Two processes" are two
engines on one database (an SQLite file or a PostgreSQL database), which share nothing but the
database, as two processes would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.db.engine import make_engine
from tests.helpers import FakeClock

LEASE = 60.0


@pytest.fixture
def other(settings: Settings, engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database: another process's view of it."""
    second = make_engine(settings.resolved_database_url)
    yield second
    second.dispose()


def test_a_free_lease_is_taken_and_described(engine: Engine) -> None:
    assert locks.info(engine, "arxiv") == locks.LeaseInfo(None, None, None)  # never taken
    assert locks.acquire(engine, "arxiv", "host-a:1", now=1000.0, lease_s=LEASE)
    assert locks.info(engine, "arxiv") == locks.LeaseInfo("host-a:1", 1000.0, 1000.0 + LEASE)


def test_another_holder_is_refused_until_the_lease_expires(engine: Engine, other: Engine) -> None:
    clock = FakeClock(start=1000.0)
    assert locks.acquire(engine, "arxiv", "a", now=clock.now(), lease_s=LEASE)
    for seconds in (0.0, 1.0, LEASE - 1):  # both engines see the same holder
        clock.time = 1000.0 + seconds
        assert not locks.acquire(other, "arxiv", "b", now=clock.now(), lease_s=LEASE)
        assert locks.info(other, "arxiv").holder == "a"
    clock.sleep(2.0)  # past a's expiry (1060): a crashed holder blocks others no longer
    assert locks.acquire(other, "arxiv", "b", now=clock.now(), lease_s=LEASE)
    assert locks.info(engine, "arxiv") == locks.LeaseInfo("b", 1061.0, 1061.0 + LEASE)
    assert not locks.renew(engine, "arxiv", "a", now=clock.now(), lease_s=LEASE)  # a lost it
    assert not locks.acquire(engine, "arxiv", "a", now=clock.now(), lease_s=LEASE)


def test_the_holder_takes_its_own_lease_again(engine: Engine) -> None:
    assert locks.acquire(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)
    assert locks.acquire(engine, "arxiv", "a", now=1030.0, lease_s=LEASE)
    assert locks.info(engine, "arxiv").expires_at == 1030.0 + LEASE


def test_renewal_keeps_others_out_for_another_lease(engine: Engine, other: Engine) -> None:
    assert locks.acquire(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)
    assert locks.renew(engine, "arxiv", "a", now=1050.0, lease_s=LEASE)
    info = locks.info(other, "arxiv")
    assert (info.holder, info.acquired_at, info.expires_at) == ("a", 1000.0, 1050.0 + LEASE)
    assert not locks.acquire(other, "arxiv", "b", now=1100.0, lease_s=LEASE)  # 1060 < 1100 < 1110
    assert locks.acquire(other, "arxiv", "b", now=1111.0, lease_s=LEASE)


def test_only_the_holder_renews(engine: Engine) -> None:
    assert not locks.renew(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)  # nobody holds it
    assert locks.acquire(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)
    assert not locks.renew(engine, "arxiv", "b", now=1010.0, lease_s=LEASE)
    assert locks.info(engine, "arxiv").expires_at == 1000.0 + LEASE  # b's renewal changed nothing


def test_release_frees_the_lease_at_once_and_only_for_its_holder(
    engine: Engine, other: Engine
) -> None:
    assert locks.acquire(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)
    locks.release(other, "arxiv", "b")  # not b's to release
    assert locks.info(engine, "arxiv").holder == "a"
    locks.release(engine, "arxiv", "a")
    assert locks.info(other, "arxiv").holder is None
    assert locks.acquire(other, "arxiv", "b", now=1001.0, lease_s=LEASE)  # long before 1060
    locks.release(engine, "unknown", "a")  # a lease that never existed: nothing happens


def test_leases_with_different_names_are_independent(engine: Engine) -> None:
    assert locks.acquire(engine, "arxiv", "a", now=1000.0, lease_s=LEASE)
    assert locks.acquire(engine, "embed", "b", now=1000.0, lease_s=LEASE)
    assert locks.info(engine, "arxiv").holder == "a" and locks.info(engine, "embed").holder == "b"
    locks.release(engine, "embed", "b")
    assert locks.info(engine, "arxiv").holder == "a"


def test_request_slots_are_paced_by_the_delay(engine: Engine) -> None:
    locks.acquire(engine, "arxiv", "a", now=100.0, lease_s=LEASE)
    assert locks.next_request_slot(engine, "arxiv", now=100.0, delay_s=3) == 0  # first request
    assert locks.next_request_slot(engine, "arxiv", now=101.0, delay_s=3) == 2  # slot 103
    assert locks.next_request_slot(engine, "arxiv", now=101.0, delay_s=3) == 5  # slot 106
    assert locks.next_request_slot(engine, "arxiv", now=200.0, delay_s=3) == 0  # long after


def test_pacing_survives_a_hand_over_between_processes(engine: Engine, other: Engine) -> None:
    """Process A makes a request and stops; B takes the lease a second later: B still waits out
    the delay since A's request (arXiv counts requests from all our machines together)."""
    clock = FakeClock(start=1000.0)
    assert locks.acquire(engine, "arxiv", "a", now=clock.now(), lease_s=LEASE)
    clock.sleep(locks.next_request_slot(engine, "arxiv", now=clock.now(), delay_s=3))
    locks.release(engine, "arxiv", "a")
    clock.time += 1.0
    assert locks.acquire(other, "arxiv", "b", now=clock.now(), lease_s=LEASE)
    for _ in range(3):  # B's requests, each waiting the delay since the one before
        clock.sleep(locks.next_request_slot(other, "arxiv", now=clock.now(), delay_s=3))
    assert clock.sleeps == [2.0, 3.0, 3.0]
    assert clock.now() == 1009.0
    # and back to A, which sees B's last request (at 1009)
    assert locks.next_request_slot(engine, "arxiv", now=1010.0, delay_s=3) == 2


def test_racing_processes_get_one_holder_and_distinct_request_slots(
    settings: Settings, engine: Engine
) -> None:
    """Eight "processes" (an engine each, on either backend) ask for the lease at the same moment:
    exactly one gets it. Then each reserves request slots at once: no two get the same slot."""
    engines = [make_engine(settings.resolved_database_url) for _ in range(8)]
    start = threading.Barrier(len(engines))

    def take(number: int) -> bool:
        start.wait()
        return locks.acquire(engines[number], "arxiv", f"p{number}", now=500.0, lease_s=LEASE)

    def reserve(number: int) -> list[float]:
        start.wait()
        return [
            locks.next_request_slot(engines[number], "arxiv", now=500.0, delay_s=3)
            for _ in range(3)
        ]

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            taken = list(pool.map(take, range(len(engines))))
            waits = [w for batch in pool.map(reserve, range(len(engines))) for w in batch]
    finally:
        for each in engines:
            each.dispose()
    assert taken.count(True) == 1
    assert locks.info(engine, "arxiv").holder == f"p{taken.index(True)}"
    assert sorted(waits) == [3.0 * n for n in range(len(waits))]  # every slot once, 3 s apart


def test_request_slots_are_distinct_under_concurrent_callers(engine: Engine, other: Engine) -> None:
    """8 threads on two engines (two processes' views) reserve 160 slots at the same moment: one
    UPDATE ... RETURNING per slot gives each caller its own, every one ``delay_s`` apart (a read
    before the write let ~40 distinct slots out of 160 through)."""
    locks.acquire(engine, "arxiv", "a", now=100.0, lease_s=LEASE)
    start = threading.Barrier(8)
    slots: list[float] = []

    def reserve(db: Engine) -> None:
        start.wait()
        for _ in range(20):
            slots.append(100.0 + locks.next_request_slot(db, "arxiv", now=100.0, delay_s=3))

    threads = [threading.Thread(target=reserve, args=(db,)) for db in [engine, other] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slots) == [100.0 + 3 * n for n in range(160)]


def test_lapsed_leases_are_listed_by_prefix(engine: Engine) -> None:
    locks.acquire(engine, "job:ingest", "a", now=100.0, lease_s=10)
    locks.acquire(engine, "job:embed", "b", now=100.0, lease_s=100)
    locks.acquire(engine, "arxiv", "c", now=100.0, lease_s=1)
    assert locks.expired(engine, "job:", now=150.0) == ["job:ingest"]
    locks.expire(engine, "job:embed", "b", now=150.0)  # not done: anyone may take it up
    assert locks.expired(engine, "job:", now=151.0) == ["job:embed", "job:ingest"]
    locks.forget(engine, "job:ingest", "a")
    locks.release(engine, "job:embed", "b")  # released: free, not lapsed
    assert locks.expired(engine, "job:", now=151.0) == []
    assert locks.expired(engine, "job_", now=151.0) == []  # the prefix is literal, not LIKE
