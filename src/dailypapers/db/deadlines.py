"""Client-side deadlines for PostgreSQL round trips: a frozen server must not hang a request.

PostgreSQL's ``statement_timeout`` is enforced by the server, so it does nothing when the server
itself stops answering: a host frozen by the hypervisor, a process stopped with SIGSTOP, a storage
stall. TCP keepalives and ``tcp_user_timeout`` notice a host that no longer acknowledges packets,
but a stopped process on a live host (or behind a unix socket) has its packets acknowledged by the
kernel, and a psycopg connection waits for the answer forever, holding its request and its pooled
connection; the pool runs dry and every request waits.

So every round trip of an engine that has a statement timeout (the web app's) is watched: when a
statement (or a commit, rollback or the pool's ping) is still waiting for its answer
:attr:`Deadlines.seconds` after it was sent, one thread per engine shuts the connection's socket
down. psycopg then raises at once ("server closed the connection unexpectedly"), SQLAlchemy
invalidates the connection, and the request answers 503 with ``Retry-After``
(:func:`~dailypapers.db.engine.database_unavailable`). The deadline is the statement timeout plus
a grace (:func:`grace_s`), so on a live server the server's own timeout, a clean error, always
comes first. The thread starts with the first watched round trip and polls every
:data:`POLL_S` (or a tenth of the deadline when that is shorter).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger(__name__)

POLL_S = 0.25


def grace_s(timeout_s: float) -> float:
    """How long past the server's statement timeout the client gives up: a fifth of it, at least
    one second (time for the server's own cancellation to arrive)."""
    return max(1.0, timeout_s / 5)


class Deadlines:
    """Shuts down the socket of a connection whose round trip outlived its deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ended = 0  # connections ended by a deadline (tests and logs)
        self._lock = threading.Lock()
        self._due: dict[int, tuple[float, Any]] = {}  # id(connection) -> (deadline, connection)
        self._thread: threading.Thread | None = None
        self._poll = min(POLL_S, seconds / 10)

    def start(self, connection: Any, seconds: float | None = None) -> None:  # noqa: ANN401
        """``connection`` (a psycopg connection) sent a request: watch it until :meth:`stop`."""
        due = time.monotonic() + (self.seconds if seconds is None else seconds)
        with self._lock:
            self._due[id(connection)] = (due, connection)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="database-deadlines", daemon=True
                )
                self._thread.start()

    def stop(self, connection: Any) -> None:  # noqa: ANN401
        with self._lock:
            self._due.pop(id(connection), None)

    @contextmanager
    def watching(self, connection: Any, seconds: float | None = None) -> Iterator[None]:  # noqa: ANN401
        self.start(connection, seconds)
        try:
            yield
        finally:
            self.stop(connection)

    def _watch(self) -> None:
        while True:
            time.sleep(self._poll)
            now = time.monotonic()
            with self._lock:  # held while ending: a round trip that ends now waits to stop
                late = [key for key, (due, _) in self._due.items() if due <= now]
                for key in late:
                    _, connection = self._due.pop(key)
                    self._end(connection)

    def _end(self, connection: Any) -> None:  # noqa: ANN401
        """Shut the connection's socket down (both ways): its waiting read returns at once."""
        try:
            fd = connection.pgconn.socket
            duplicate = socket.socket(fileno=os.dup(fd))
        except Exception:  # noqa: BLE001 - closed meanwhile: nothing to end
            return
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
            self.ended += 1
            log.warning(
                "a database round trip took over %.1f s: connection ended (server frozen?)",
                self.seconds,
            )
        except OSError:
            pass
        finally:
            duplicate.close()
