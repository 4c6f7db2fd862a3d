"""Job runs that survive the death of their worker: a lease per run, and recovery.

Huey hands a job to one consumer and forgets it (Redis ``BRPOP``: there is no acknowledgement), so
a worker killed mid-job loses it. Every job that matters therefore runs under a lease named after
it in the ``locks`` table (``job:ingest``, ``job:embed``, ``job:digests:daily:2025-06-20``),
renewed every :data:`HEARTBEAT_S` by a thread while the job runs, and

- deleted when the job finished;
- left to lapse at once when the job could not finish and should be tried again (arXiv or the
  mail server unreachable, another process holding the arXiv or embedding lease);
- left behind, still held, when the process died: it lapses :data:`RUN_LEASE_S` after the last
  heartbeat.

The ``recover`` task (every :data:`RECOVER_EVERY_MINUTES`, enqueued once per instance like every
periodic task) takes each lapsed lease over (a conditional UPDATE: one recoverer wins) and runs its
job again. Each job resumes rather than repeats: the harvest from its checkpoint, embedding from
the papers still without a vector, a digest run through the delivery ledger (never a mail twice).
So a killed job runs again within ``RUN_LEASE_S`` + ``RECOVER_EVERY_MINUTES`` (about 7 minutes),
or once the dead process's arXiv lease (10 min) or embedding lease (5 min) lapses, whichever is
later.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from dailypapers.db import locks

log = logging.getLogger(__name__)

PREFIX = "job:"
RUN_LEASE_S = 120.0  # a dead worker's job is taken up this long after its last heartbeat
HEARTBEAT_S = 30.0
RECOVER_EVERY_MINUTES = 5


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Run:
    """The run in progress; call :meth:`again` when the job could not finish and should be taken
    up by the next recovery."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.finished = True

    def again(self) -> None:
        self.finished = False


@contextmanager
def job_run(engine: Engine, name: str) -> Iterator[Run | None]:
    """Hold ``job:NAME`` while the block runs; yields ``None`` when a live run holds it already
    (that one does the work: nothing to do here)."""
    lease = PREFIX + name
    holder = holder_name()
    if not locks.acquire(engine, lease, holder, now=time.time(), lease_s=RUN_LEASE_S):
        yield None
        return
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(engine, lease, holder, stop), name=f"heartbeat-{name}", daemon=True
    )
    beat.start()
    run = Run(name)
    try:
        yield run
    except BaseException:
        run.finished = False
        raise
    finally:
        stop.set()
        beat.join()
        if run.finished:
            locks.forget(engine, lease, holder)
        else:
            locks.expire(engine, lease, holder, now=time.time())


def _heartbeat(engine: Engine, lease: str, holder: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            if not locks.renew(engine, lease, holder, now=time.time(), lease_s=RUN_LEASE_S):
                log.warning("%s: lease lost (this run was taken up by another worker)", lease)
                return
        except Exception as exc:  # the database is down for a moment: try again next beat
            log.warning("%s: heartbeat failed: %s", lease, str(exc).splitlines()[0])


Runner = Callable[[str], str]  # a job's name -> its summary line


def recover(engine: Engine, runners: dict[str, Runner]) -> list[str]:
    """Run again every job whose run lapsed (its worker died, or it asked to be tried again).

    ``runners`` maps the first part of a run's name (``ingest``, ``embed``, ``digests``) to the
    function that runs it by name; each takes the lease over itself (:func:`job_run`)."""
    lines = []
    for lease in locks.expired(engine, PREFIX, now=time.time()):
        name = lease.removeprefix(PREFIX)
        runner = runners.get(name.split(":", 1)[0])
        if runner is None:
            log.warning("%s: no such job; lease left alone", lease)
            continue
        log.warning("%s: its run did not finish; running it again", name)
        lines.append(f"{name}: {runner(name)}")
    return lines
