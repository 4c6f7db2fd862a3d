"""The job queue itself: a Huey instance on Redis (``DAILYPAPERS_QUEUE_URL``) or on an SQLite file
in the data dir, and what web processes ask of it without running jobs: is it reachable, how many
jobs wait, and enqueueing that never fails the caller.

Redis connections give up quickly (2 s to connect, 5 s per reply, one retry): a web request or a
command that enqueues a job must not hang on a Redis that is down. Consumers reconnect by
themselves (their loop retries, see :mod:`dailypapers.jobs.consumer`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool, RedisError
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from dailypapers.config import Settings

log = logging.getLogger(__name__)

QUEUE_NAME = "dailypapers"
CONNECT_TIMEOUT_S = 2.0
REPLY_TIMEOUT_S = 5.0  # above huey's 1 s blocking read: an idle consumer is not a timeout


class QueueDown(Exception):
    """The Redis queue cannot be reached (one line: what and why)."""


def is_redis(settings: Settings) -> bool:
    return bool(settings.queue_url)


def make_huey(settings: Settings) -> Huey:
    """The instance's queue: Redis when ``queue_url`` names one, else ``queue.db`` in the data dir."""
    if is_redis(settings):
        pool = ConnectionPool.from_url(
            settings.queue_url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=REPLY_TIMEOUT_S,
            health_check_interval=30,
            retry=Retry(ConstantBackoff(0.2), 1),
        )
        return RedisHuey(QUEUE_NAME, connection_pool=pool)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(settings.data_dir / "queue.db"))


def where(settings: Settings) -> str:
    """The queue for messages, without a password."""
    if not is_redis(settings):
        return f"SQLite queue {settings.data_dir / 'queue.db'}"
    scheme, _, rest = settings.queue_url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def ping(huey: Huey) -> None:
    """Raise :class:`QueueDown` unless the queue answers (an SQLite queue always does)."""
    conn = getattr(huey.storage, "conn", None)
    if conn is None or not isinstance(huey, RedisHuey):
        return
    try:
        conn.ping()
    except (RedisError, OSError) as exc:
        raise QueueDown(_reason(exc)) from None


def depth(huey: Huey) -> int:
    """Jobs waiting to be picked up (raises :class:`QueueDown`)."""
    try:
        return int(huey.pending_count())
    except (RedisError, OSError) as exc:
        raise QueueDown(_reason(exc)) from None


@dataclass(frozen=True)
class Enqueued:
    ok: bool
    reason: str = ""


def enqueue(call: Callable[[], object], what: str, *, later: str) -> Enqueued:
    """Queue a job; when the queue is down, log one warning line (``later``: when the job runs
    anyway; empty: the caller says it) and carry on: the caller's work is done and committed,
    the job would only have come sooner."""
    try:
        call()
    except Exception as exc:  # Redis down, a full disk under an SQLite queue: never the caller's
        reason = _reason(exc)
        if later:
            log.warning("%s not queued (job queue unreachable: %s); %s", what, reason, later)
        return Enqueued(False, reason)
    return Enqueued(True)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.rstrip(".")
