"""The ids a statement selects, kept until the data changes: For you's candidates.

A For-you ranking starts from its feed's papers — the ids its clauses select, ~10,000-25,000 for
a week — and the same weeks are ranked again and again (each user, each page, the API). Reading
them took 7 ms of a 25k ranking's ~35 ms of CPU on SQLite (``id_array``, 2026-12-03).
:class:`IdCache` keeps a statement's ids (keyed by SQLAlchemy's cache key of the statement and its
parameters' values) under the database's change number (the page cache's, :mod:`.changes`), and
when the number moved yet the ids read again are the same (a vote, a comment), answers the array
it kept (what callers keep for that array — ``RecentVectors.lookup``'s answer — stays good):

- **SQLite**: ``PRAGMA data_version`` on a connection of the cache's own (it moves with every
  commit by any other connection), read before the statement;
- **PostgreSQL**: the ``data_changes`` sum (migration 0006: bumped in the writing transaction by
  triggers on ``papers``, ``paper_categories``, ``votes``, ``submissions``, ``comments`` and
  ``users``), read in the caller's session before the statement — one small round trip instead
  of the ids'.

The number is read before the ids, and each read sees the data committed when it starts (SQLite's
driver opens a transaction only before a write; PostgreSQL's read committed takes a snapshot per
statement), ids kept under a number are of that number's data or newer: while it has not moved
no commit came after it. A session whose transaction wrote reads the database
itself (its own writes are not everyone's). Only for statements over the tables above: on
PostgreSQL a change elsewhere moves no number.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine, Select, text
from sqlalchemy.orm import Session

from dailypapers.db.changes import SqliteDataVersion
from dailypapers.db.dialect import id_array
from dailypapers.db.engine import backend_of, transaction_wrote

ENTRIES = 16  # statements kept (a week's feed, the API's days, a few categories), ~200 KB each


class IdCache:
    def __init__(self, entries: int = ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[int, NDArray[np.int64]]] = OrderedDict()
        self._size = entries
        self._versions: dict[str, SqliteDataVersion | None] = {}  # SQLite file -> its counter
        self.reads = 0  # statements run (the tests count them)

    def ids(
        self, session: Session, statement: Select[Any], changes: int | None = None
    ) -> NDArray[np.int64]:
        """The ids ``statement`` (one integer column) selects, as :func:`id_array` reads them,
        from the cache while the database's change number has not moved. The array is shared:
        read-only. ``changes``: PostgreSQL's number, read already in this session (with other
        values, one round trip: ``embeddings.recent.RecentVectors.marks``)."""
        key = _key(session, statement)
        version = self._version(session, changes) if key is not None else None
        if key is not None and version is not None:
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None and kept[0] == version:
                    self._entries.move_to_end(key)
                    return kept[1]
        self.reads += 1
        ids = id_array(session.connection(), statement)
        ids.setflags(write=False)
        if key is not None and version is not None:
            with self._lock:
                kept = self._entries.get(key)
                if kept is not None and np.array_equal(kept[1], ids):
                    ids = kept[1]  # unchanged (a vote moved the number): the same array
                self._entries[key] = (version, ids)
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return ids

    def _version(self, session: Session, changes: int | None) -> int | None:
        """The database's change number now, or None: cannot tell (an SQLite database in memory,
        the counter unreadable), or the session's transaction wrote."""
        if transaction_wrote(session):
            return None
        if backend_of(session) == "postgresql":
            if changes is not None:
                return changes
            found = session.scalar(text("SELECT sum(version) FROM data_changes"))
            return int(found) if found is not None else None
        path = _engine(session).url.database or ""
        with self._lock:
            if path not in self._versions:
                memory = not path or path == ":memory:" or path.startswith("file::memory:")
                self._versions[path] = None if memory else SqliteDataVersion(path)
            counter = self._versions[path]
            return counter.read_now() if counter is not None else None

    def close(self) -> None:
        with self._lock:
            for counter in self._versions.values():
                if counter is not None:
                    counter.close()
            self._versions.clear()
            self._entries.clear()


def _key(session: Session, statement: Select[Any]) -> Hashable | None:
    """The statement's identity: its structure and its parameters' values (None: SQLAlchemy
    cannot tell, nothing is kept)."""
    cache_key = statement._generate_cache_key()
    if cache_key is None:
        return None
    values = []
    for parameter in cache_key.bindparams:
        value = parameter.effective_value
        values.append(tuple(value) if isinstance(value, list) else value)
    return (str(_engine(session).url), cache_key.key, tuple(values))


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine
