"""Consumers: ``dailypapers worker`` (N worker threads, any number of hosts) and the one ``serve``
runs in-process. What they add to Huey's:

- **One scheduler per instance.** Every consumer runs Huey's scheduler, which would enqueue each
  periodic task (the daily ingest, digests, embedding...) once per consumer. Before it looks at
  the periodic tasks (once a minute) a scheduler takes or renews the ``scheduler`` lease in the
  database; only the holder enqueues. The lease lapses :data:`SCHEDULER_LEASE_S` after a dead
  holder's last check, and the consumer that takes it over also enqueues what fell due since
  then (at most :data:`CATCH_UP_S` back), so a 01:30 ingest is not skipped because its scheduler
  died at 01:29. A periodic task that cannot be queued (Redis down) is kept and queued at the
  next check that can.
- **A queue outage is one line in the log**, not a traceback a second: workers wait and
  reconnect by themselves, and say so when the queue answers again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from huey import Huey
from huey.consumer import Consumer, Scheduler, Worker
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.db.engine import make_engine
from dailypapers.jobs.queue import _reason
from dailypapers.jobs.runs import holder_name

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
SCHEDULER_LEASE_S = 150.0  # two and a half checks: a slow check does not hand the lease over
CATCH_UP_S = 600.0


class LeasedScheduler(Scheduler):  # type: ignore[misc]
    """Huey's scheduler, enqueueing periodic tasks only while it holds the ``scheduler`` lease."""

    _next_loop: float  # set by huey's Scheduler
    _next_periodic: float

    def __init__(self, *args: Any, settings: Settings, holder: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self.holder = holder
        self.leading = False
        self.down = False
        self.unsent: dict[str, Any] = {}  # periodic tasks due but not queued yet (queue down)
        self._engine: Engine | None = None

    def loop(self, now: dt.datetime | None = None) -> None:
        """Huey's loop (each second: move delayed jobs that are due to the queue; each minute:
        the periodic tasks), with a queue outage logged once instead of a traceback a second."""
        started = self._next_loop
        self._next_loop += self.interval
        if self._next_loop < time.monotonic():  # stalled (suspended): do not catch up in a burst
            self._next_loop = time.monotonic()
            return
        try:
            due = self.huey.read_schedule(now)
            if self.down:
                log.warning("scheduler: job queue reachable again")
                self.down = False
        except Exception as exc:
            if not self.down:
                log.warning("scheduler: job queue unreachable (%s); retrying", _reason(exc))
                self.down = True
            due = []
        for task in due:
            try:
                self.huey.enqueue(task)
            except Exception as exc:
                log.warning("scheduler: delayed job %s not queued (%s)", task.name, _reason(exc))
        if self.periodic and self._next_periodic <= time.monotonic():
            while self._next_periodic <= time.monotonic():
                self._next_periodic += self.periodic_task_seconds
            self.enqueue_periodic_tasks(now)
        self.sleep_for_interval(started, self.interval)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.resolved_database_url)
        return self._engine

    def enqueue_periodic_tasks(self, now: dt.datetime | None = None) -> None:
        at = time.time() if now is None else now.replace(tzinfo=dt.UTC).timestamp()
        try:
            before = locks.info(self.engine, SCHEDULER_LEASE)
            leading = locks.acquire(
                self.engine, SCHEDULER_LEASE, self.holder, now=at, lease_s=SCHEDULER_LEASE_S
            )
        except Exception as exc:  # the database is down: the lease is not ours to assume
            log.warning("scheduler: cannot reach the database (%s); nothing enqueued", _reason(exc))
            return
        if leading != self.leading:
            log.info("scheduler: %s", "this consumer schedules" if leading else "another schedules")
            self.leading = leading
        if not leading:
            return
        for minute in self._minutes(before, at):
            for task in self.huey.read_periodic(minute):
                self.unsent.setdefault(task.name, task)
        self._send()

    def _minutes(self, before: locks.LeaseInfo, at: float) -> list[dt.datetime]:
        """The minutes to check: this one, and when the lease came from another consumer, those
        since that one's last check (it may have died before enqueueing them)."""
        current = at - at % 60
        start = current
        if before.holder != self.holder and before.acquired_at is not None:
            start = max(before.acquired_at - before.acquired_at % 60 + 60, current - CATCH_UP_S)
        minutes = []
        while start <= current:
            minutes.append(dt.datetime.fromtimestamp(start, dt.UTC).replace(tzinfo=None))
            start += 60
        return minutes

    def _send(self) -> None:
        for name, task in list(self.unsent.items()):
            try:
                self.huey.enqueue(task)
            except Exception as exc:
                log.warning(
                    "scheduler: %s not queued (%s); trying again next minute",
                    ", ".join(sorted(self.unsent)),
                    _reason(exc),
                )
                return
            log.info("scheduler: queued %s", name)
            del self.unsent[name]

    def shutdown(self) -> None:
        if self._engine is not None:
            try:
                locks.release(self._engine, SCHEDULER_LEASE, self.holder)
            except Exception as exc:  # the lease lapses by itself
                log.warning("scheduler: lease not released (%s)", _reason(exc))
            self._engine.dispose()


class QuietWorker(Worker):  # type: ignore[misc]
    """Huey's worker, saying "queue unreachable" once per outage instead of a traceback per try."""

    down = False

    def loop(self, now: dt.datetime | None = None) -> None:
        try:
            task = self.huey.dequeue()
        except Exception as exc:
            if not self.down:
                log.warning("job queue unreachable (%s); retrying", _reason(exc))
                self.down = True
            self.sleep()
            return
        if self.down:
            log.warning("job queue reachable again")
            self.down = False
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        try:
            self.huey.execute(task, now)
        except Exception:
            log.exception("job %s failed", task.name)


class JobConsumer(Consumer):  # type: ignore[misc]
    """A consumer of this instance's queue: thread workers, the leased scheduler."""

    worker_class = QuietWorker

    def __init__(
        self, huey: Huey, settings: Settings, *, workers: int, worker_type: str = "thread"
    ) -> None:
        """``worker_type``: threads (what ``worker`` runs, see its ``--concurrency``); "process"
        only for ``benchmarks/worker_concurrency.py``, which measured the two."""
        self.settings = settings
        self.holder = holder_name()
        super().__init__(huey, workers=workers, periodic=True, worker_type=worker_type)

    def _create_scheduler(self) -> LeasedScheduler:
        return LeasedScheduler(
            huey=self.huey,
            stop_flag=self.stop_flag,
            interval=self.scheduler_interval,
            periodic=self.periodic,
            settings=self.settings,
            holder=self.holder,
        )


class InProcessConsumer(JobConsumer):
    """A consumer that runs beside the web server: leaves the server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        return None


def start_in_process(huey: Huey, settings: Settings, workers: int = 2) -> InProcessConsumer:
    consumer = InProcessConsumer(huey, settings, workers=workers)
    consumer.start()
    return consumer
