"""Has the data changed? A number that moves with every commit that could change a cached page.

The change-detection seam: the page cache (:mod:`dailypapers.web.page_cache`) keeps a page under
the number read before the page was built, and uses it only while the number is unchanged.

- **SQLite** (:class:`SqliteDataVersion`): ``PRAGMA data_version``, on a connection of its own
  (it moves with every commit by any other connection, in this process or another).
- **PostgreSQL** (:class:`PostgresChanges`): the sum of the ``data_changes`` rows, which
  statement-level triggers on the tables the cached pages read bump in the writing transaction
  (migration 0006). The bump is part of the write's transaction, so it becomes visible exactly when
  the write does: a page built after the number was read shows that data or newer, never older.
  Writers bump one of 16 rows (by transaction id), so concurrent votes rarely wait for each other.

Both are read for every cacheable request and never make it wait long: SQLite's on the event loop
(a local file read, with a zero busy timeout), PostgreSQL's in a worker thread (a round trip to a
server), on a connection kept for it, with a short statement timeout. When they cannot tell (the
database busy or down), the answer is None and nothing is cached.

On PostgreSQL the requests of a process share reads: a request waits for the next read that
*starts* after it arrived (never one already under way, which could predate a write the request
must see), and every request that arrived meanwhile takes that read's answer. So a process makes
at most one round trip at a time however many requests come in; reading once per request, one
after another on the counter's one connection, capped a process at one request per round trip
(~30 requests/s on the loaded 2-core machine; docs/PERFORMANCE.md "Throughput").
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

import anyio
from sqlalchemy import Engine

from dailypapers.db.engine import backend_of, deadlines_of

log = logging.getLogger(__name__)

RETRY_AFTER_FAILURE_S = 1.0  # a lost PostgreSQL connection is reopened at most this often
STATEMENT_TIMEOUT_MS = 250
# A read still unanswered after this ends its connection (an engine with round-trip deadlines:
# the web app's; a frozen server must not hold every cacheable request).
READ_DEADLINE_S = 1.0
# A request waits this long at most for a read (which may first have to reconnect: the pool's
# ping and the connect timeout), then goes on without the page cache.
READ_WAIT_S = 2.0


class ChangeCounter(Protocol):
    async def read(self) -> int | None:
        """The number now, or None when it cannot be told right now."""
        ...

    def close(self) -> None: ...


class SqliteDataVersion:
    """SQLite's change counter for one database file, on a connection of its own."""

    def __init__(self, path: str) -> None:
        # It runs on the event loop: never wait there for a lock (timeout 0; see __call__).
        self._conn = sqlite3.connect(path, timeout=0, check_same_thread=False)

    async def read(self) -> int | None:
        return self.read_now()

    def read_now(self) -> int | None:
        try:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return None

    def read_paper_set_now(self) -> int | None:
        """The set of papers' number (migration 0019: moved by every write to ``papers`` but a
        vote's, and to ``paper_categories``), or None when it cannot be told."""
        try:  # every row fetched: the statement done, no read transaction left open
            rows = self._conn.execute("SELECT number FROM paper_set_changes").fetchall()
        except sqlite3.Error:
            return None
        return int(rows[0][0]) if rows else None

    def close(self) -> None:
        self._conn.close()


class PostgresChanges:
    """The ``data_changes`` sum, read in autocommit on a pooled connection kept for it."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Any = None  # the DBAPI (psycopg) connection, opened on first use
        self._failed_at = -RETRY_AFTER_FAILURE_S
        self._lock = threading.Lock()
        self._threads: anyio.CapacityLimiter | None = None
        self._next: asyncio.Future[int | None] | None = None  # the read not started yet
        self._reader: asyncio.Task[None] | None = None
        self.round_trips = 0  # reads made (tests count them)

    async def read(self) -> int | None:
        """The number as of a read that started after this call (shared, see the docstring)."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_while_asked())
        try:  # a read stuck behind a server that stopped answering: this request does not cache
            return await asyncio.wait_for(asyncio.shield(waiting), READ_WAIT_S)
        except TimeoutError:
            return None

    async def _read_while_asked(self) -> None:
        if self._threads is None:  # a thread of its own: never queued behind request handlers
            self._threads = anyio.CapacityLimiter(1)
        while self._next is not None:
            answer, self._next = self._next, None  # those who asked before this read began
            try:
                value = await anyio.to_thread.run_sync(self.read_now, limiter=self._threads)
            except BaseException as exc:  # cancelled at shutdown: tell the waiting, then stop
                answer.set_result(None)
                if not isinstance(exc, Exception):
                    raise
                continue
            answer.set_result(value)

    def read_now(self) -> int | None:
        with self._lock:
            self.round_trips += 1
            return self._read()

    def _read(self) -> int | None:
        try:
            conn = self._connection()
            if conn is None:
                return None
            with self._deadline(conn):
                row = conn.execute("SELECT sum(version) FROM data_changes").fetchone()
            return int(row[0])
        except Exception as exc:  # the server went away: no caching until it is back
            log.debug("change counter unavailable: %s", exc)
            self.close()
            self._failed_at = time.monotonic()
            return None

    def _connection(self) -> Any:  # noqa: ANN401 - a psycopg connection
        if self._conn is None:
            if time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_S:
                return None
            raw = self._engine.raw_connection()
            dbapi: Any = raw.driver_connection
            raw.detach()  # ours alone from now on; closed by close()
            try:
                with self._deadline(dbapi):
                    dbapi.rollback()  # the pool's ping may have begun a transaction
                    dbapi.autocommit = True
                    dbapi.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
            except Exception:
                dbapi.close()
                raise
            self._conn = dbapi
        return self._conn

    def _deadline(self, conn: Any) -> AbstractContextManager[None]:  # noqa: ANN401
        deadlines = deadlines_of(self._engine)
        return nullcontext() if deadlines is None else deadlines.watching(conn, READ_DEADLINE_S)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: S110 - already broken
                pass


def change_counter(engine: Engine) -> ChangeCounter | None:
    """A change counter for the engine's database, or None (an SQLite database in memory)."""
    if backend_of(engine) == "postgresql":
        return PostgresChanges(engine)
    path = engine.url.database
    if not path or path == ":memory:":
        return None
    return SqliteDataVersion(path)
