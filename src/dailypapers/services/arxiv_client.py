"""The instance's one connection to arXiv: a polite client held under the ``arxiv`` lease.

arXiv allows one connection and one request every 3 seconds from all machines together, so every
process that talks to arXiv (the daily ingest, backfills, lookups, pending submissions) first takes
the ``arxiv`` lease in the database (:mod:`dailypapers.db.locks`) and paces each request through the
lease row, so the pacing holds across processes and hosts.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.sources.arxiv.http import Clock, PoliteClient, SystemClock

LOCK = "arxiv"
LEASE_S = 600.0


class HarvestError(Exception):
    """A harvest stopped: arXiv unavailable or sent something unusable. Nothing half-written."""


class LockHeld(HarvestError):
    """Another process holds the arXiv lease."""


def holder_name() -> str:
    """Who holds the lease: host and process (shown to the others), unique per session."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@contextmanager
def arxiv_session(
    engine: Engine, settings: Settings, *, clock: Clock | None = None, transport: object = None
) -> Iterator[PoliteClient]:
    """Hold the instance-wide arXiv lease and yield a client paced through it."""
    clock = clock or SystemClock()
    holder = holder_name()
    if not locks.acquire(engine, LOCK, holder, now=clock.now(), lease_s=LEASE_S):
        lease = locks.info(engine, LOCK)
        since = datetime.fromtimestamp(lease.acquired_at or 0, UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise LockHeld(
            f"another process ({lease.holder}, since {since}) is talking to arXiv; try again later"
        )

    def before_request() -> None:
        now = clock.now()
        if not locks.renew(engine, LOCK, holder, now=now, lease_s=LEASE_S):
            raise HarvestError("lost the arXiv lease to another process; stopping")
        clock.sleep(locks.next_request_slot(engine, LOCK, now=now, delay_s=settings.arxiv_delay_s))

    client = PoliteClient(
        user_agent=settings.user_agent,
        delay_s=settings.arxiv_delay_s,
        max_retries=settings.arxiv_max_retries,
        timeout_s=settings.arxiv_timeout_s,
        clock=clock,
        transport=transport,  # type: ignore[arg-type]
        before_request=before_request,
    )
    try:
        yield client
    finally:
        client.close()
        locks.release(engine, LOCK, holder)
