"""Run leases (``jobs/runs.py``): what a run leaves behind when it finishes, asks to be tried
again, raises or dies, and what ``recover`` runs again."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from dailypapers.db import locks
from dailypapers.jobs import runs
from dailypapers.jobs.runs import PREFIX, RUN_LEASE_S, job_run, recover
from tests.workers import eventually


def _lease(engine: Engine, name: str) -> locks.LeaseInfo:
    return locks.info(engine, PREFIX + name)


def test_a_finished_run_leaves_nothing(engine: Engine) -> None:
    with job_run(engine, "ingest") as run:
        assert run is not None
        assert _lease(engine, "ingest").holder is not None
    assert _lease(engine, "ingest") == locks.LeaseInfo(None, None, None)  # row deleted
    assert recover(engine, {"ingest": lambda name: "ran"}) == []


def test_a_live_run_keeps_others_out(engine: Engine) -> None:
    with job_run(engine, "embed") as run, job_run(engine, "embed") as second:
        assert run is not None and second is None


def test_runs_that_ask_again_or_raise_lapse_and_are_recovered_once(engine: Engine) -> None:
    with job_run(engine, "ingest") as run:
        assert run is not None
        run.again()  # e.g. another process held the arXiv lease
    with pytest.raises(RuntimeError), job_run(engine, "digests:daily:2025-06-20"):
        raise RuntimeError("the mail server vanished")
    ran: list[str] = []

    def rerun(name: str) -> str:
        with job_run(engine, name) as again:
            assert again is not None  # the lapsed lease is taken over
            ran.append(name)
        return "done"

    lines = recover(engine, {"ingest": rerun, "digests": rerun})
    assert ran == ["digests:daily:2025-06-20", "ingest"]
    assert lines == ["digests:daily:2025-06-20: done", "ingest: done"]
    assert recover(engine, {"ingest": rerun, "digests": rerun}) == []  # finished now


def test_a_dead_workers_run_is_recovered_after_its_lease_lapses(engine: Engine) -> None:
    now = time.time()
    locks.acquire(engine, PREFIX + "embed", "dead-host:1:abc", now=now, lease_s=RUN_LEASE_S)
    assert locks.expired(engine, PREFIX, now=now + RUN_LEASE_S - 1) == []  # still heartbeating?
    assert locks.expired(engine, PREFIX, now=now + RUN_LEASE_S + 1) == [PREFIX + "embed"]


def test_a_heartbeat_keeps_a_long_run_alive(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "HEARTBEAT_S", 0.05)
    with job_run(engine, "ingest"):
        first = _lease(engine, "ingest").expires_at or 0
        eventually(lambda: (_lease(engine, "ingest").expires_at or 0) > first, what="a renewal")


def test_an_unknown_lapsed_run_is_left_alone(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    locks.acquire(engine, PREFIX + "retired", "gone:1:x", now=1.0, lease_s=1)
    assert recover(engine, {}) == []
    assert "job:retired: no such job" in caplog.text
