"""The ids a statement selects, kept until the data changes: For you's candidates.

A For-you ranking starts from its feed's papers — the ids its clauses select, ~10,000-25,000 for
a week — and the same weeks are ranked again and again (each user, each page, the API). Reading
them took 7 ms of a 25k ranking's ~35 ms of CPU on SQLite (``id_array``, 2026-12-03).
:class:`IdCache` keeps a statement's ids (keyed by SQLAlchemy's cache key of the statement and its
parameters' values) under the database's change number (the page cache's, :mod:`.changes`), and
when the number moved yet the ids read again are the same (a vote, a comment), answers the array
it kept (what callers keep for that array — ``RecentVectors.lookup``'s answer — stays good):

- a statement that reads nothing but the set of papers (:func:`reads_paper_set_only`: the
  feeds' clauses — dates, deleted, ids, categories) is kept under the set of papers' number,
  moved in the writing transaction by triggers on inserts, deletes and updates of ``papers``
  other than of ``upvotes``, and on any change of ``paper_categories``: PostgreSQL's
  ``data_changes.papers`` (migration 0016), SQLite's ``paper_set_changes.number`` (0019). So a
  vote leaves For you's ids kept (before, the first request after each vote read 25k ids again:
  ~4-8 ms of CPU, and more of PostgreSQL's);
- any other under the whole number: SQLite's ``PRAGMA data_version`` (it moves with every commit
  by any other connection), PostgreSQL's ``data_changes.version`` (migration 0006: ``papers``,
  ``paper_categories``, ``votes``, ``submissions``, ``comments``, ``users``; the page cache's).

SQLite's numbers are read on a connection of the cache's own before the statement; PostgreSQL's
in the caller's session, with the caches' other watermarks (``RecentVectors.marks``: no round
trip of its own).

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
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnClause, Engine, Select, TableClause, TextClause, text
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from dailypapers.db.changes import SqliteDataVersion
from dailypapers.db.dialect import id_array
from dailypapers.db.engine import backend_of, transaction_wrote

ENTRIES = 16  # statements kept (a week's feed, the API's days, a few categories), ~200 KB each
PAPER_SET_TABLES = frozenset({"papers", "paper_categories"})  # what data_changes.papers watches
NOT_WATCHED = frozenset({("papers", "upvotes")})  # columns of them it does not (0016)
CHANGES_SQL = "SELECT sum(version), sum(papers) FROM data_changes"


class Changes(NamedTuple):
    """PostgreSQL's change numbers: every watched table's (``version``, the page cache's) and
    the set of papers' (``papers``)."""

    all: int
    papers: int


def reads_paper_set_only(statement: Select[Any]) -> bool:
    """Whether ``statement`` reads only tables and columns that move ``data_changes.papers``
    (anything it cannot tell — SQL text, a column of an alias or of no table — is no)."""
    for element in visitors.iterate(statement):
        if isinstance(element, TextClause):
            return False
        if isinstance(element, TableClause):
            if element.name not in PAPER_SET_TABLES:
                return False
        elif isinstance(element, ColumnClause):
            if element.is_literal and element.name == "*" and element.table is None:
                continue  # EXISTS (SELECT * FROM ...): its FROM is checked on its own
            table = element.table
            if not isinstance(table, TableClause) or table.name not in PAPER_SET_TABLES:
                return False
            if (table.name, element.name) in NOT_WATCHED:
                return False
    return True


class IdCache:
    def __init__(self, entries: int = ENTRIES) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Hashable, NDArray[np.int64]]] = OrderedDict()
        self._size = entries
        self._versions: dict[str, SqliteDataVersion | None] = {}  # SQLite file -> its counter
        self._paper_set: dict[Hashable, bool] = {}  # statement structure -> reads_paper_set_only
        self.reads = 0  # statements run (the tests count them)

    def ids(
        self, session: Session, statement: Select[Any], changes: Changes | None = None
    ) -> NDArray[np.int64]:
        """The ids ``statement`` (one integer column) selects, as :func:`id_array` reads them,
        from the cache while the database's change number has not moved. The array is shared:
        read-only. ``changes``: PostgreSQL's numbers, read already in this session (with other
        values, one round trip: ``embeddings.recent.RecentVectors.marks``)."""
        key = _key(session, statement)
        version = self._version(session, statement, key, changes) if key is not None else None
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
                if kept is not None and _same_ids(kept[1], ids):
                    ids = kept[1]  # unchanged (a vote moved the number): the same array
                self._entries[key] = (version, ids)
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return ids

    def _version(
        self,
        session: Session,
        statement: Select[Any],
        key: tuple[str, Hashable, Hashable],
        changes: Changes | None,
    ) -> Hashable | None:
        """The database's change number now, or None: cannot tell (an SQLite database in memory,
        the counter unreadable), or the session's transaction wrote. On PostgreSQL the set of
        papers' number for a statement that reads only what moves it."""
        if transaction_wrote(session):
            return None
        narrow = self._narrow(statement, key[1])
        if backend_of(session) == "postgresql":
            if changes is None:
                row = session.execute(text(CHANGES_SQL)).one()
                if row[0] is None or row[1] is None:
                    return None
                changes = Changes(int(row[0]), int(row[1]))
            return ("papers", changes.papers) if narrow else ("all", changes.all)
        path = _engine(session).url.database or ""
        with self._lock:
            if path not in self._versions:
                memory = not path or path == ":memory:" or path.startswith("file::memory:")
                self._versions[path] = None if memory else SqliteDataVersion(path)
            counter = self._versions[path]
            if counter is None:
                return None
            if narrow:
                papers = counter.read_paper_set_now()
                if papers is not None:
                    return ("papers", papers)
            everything = counter.read_now()
            return ("all", everything) if everything is not None else None

    def _narrow(self, statement: Select[Any], structure: Hashable) -> bool:
        """:func:`reads_paper_set_only`, kept per statement structure."""
        with self._lock:
            narrow = self._paper_set.get(structure)
        if narrow is None:
            narrow = reads_paper_set_only(statement)
            with self._lock:
                self._paper_set[structure] = narrow
                if len(self._paper_set) > 64 * ENTRIES:
                    self._paper_set.clear()
        return narrow

    def close(self) -> None:
        with self._lock:
            for counter in self._versions.values():
                if counter is not None:
                    counter.close()
            self._versions.clear()
            self._entries.clear()


def _same_ids(kept: NDArray[np.int64], ids: NDArray[np.int64]) -> bool:
    """The same ids, in any order: the statement has no ORDER BY, and PostgreSQL returns an
    updated row (a vote on a paper) where its new version lies in the table, not where it was."""
    if kept.shape != ids.shape:
        return False
    return bool(np.array_equal(kept, ids) or np.array_equal(np.sort(kept), np.sort(ids)))


def _key(session: Session, statement: Select[Any]) -> tuple[str, Hashable, Hashable] | None:
    """The statement's identity: the database, its structure and its parameters' values (None:
    SQLAlchemy cannot tell, nothing is kept)."""
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
