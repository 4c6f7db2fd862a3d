"""Keep the keyword index in step with ``papers``: the maintenance half of the keyword-index seam.

The query half is :mod:`dailypapers.search.fts` (with :mod:`~dailypapers.search.fts5` and
:mod:`~dailypapers.search.pg_fts`). The backend is the engine's (:func:`~dailypapers.db.engine.backend_of`).

**SQLite**: the FTS5 table ``papers_fts``, kept in step batch-wise. The index is derived data:
:func:`rebuild` recreates it from the table. Every write of a paper's title, abstract or authors
goes through :mod:`dailypapers.upsert`, which calls :func:`unindex` before changing an indexed paper
and :func:`index` after. Batched INSERT … SELECT is about twice as fast as per-row triggers.

**PostgreSQL**: nothing to keep in step. The keyword vector is ``papers.search_vector``, a
STORED generated column (title weighted A, authors B, abstract C; migration 0006) with a GIN index:
PostgreSQL computes it in the statement that writes the row, so it can never be out of step with
the paper. That is PostgreSQL's equivalent of the watermark below: there is nothing to catch up,
:func:`indexed_upto` is None and :func:`pending` 0, and a crashed import leaves no unindexed paper.
:func:`catch_up` only places the indexes of the newest papers of a large instance
(:func:`dailypapers.db.pg_recent_index.place`), the other functions do nothing.

**The watermark.** Imports write papers first and index them afterwards, in id order
(:func:`index_after`, :func:`catch_up`), so the indexed papers are always a prefix of the ids:
every paper with ``id <= indexed_upto()`` is in the index and none above it is. ``indexed_upto`` is
the highest rowid in FTS5's own ``papers_fts_docsize`` table, so the mark is written in the same
transaction as the index itself and can never disagree with it: a crash between writing papers and
indexing them leaves papers above the mark, which :func:`pending` counts and :func:`catch_up` (run
at the start and end of every import, and safe to run on start-up) indexes. Code that reads the
mark and then writes must hold SQLite's write lock first (:func:`write_lock`), or a concurrent
writer could move the mark in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import DBAPIError

from dailypapers.db import pg_recent_index
from dailypapers.db.engine import backend_of

_COLUMNS = "title, abstract, authors"
CATCH_UP_CHUNK = 20_000
# FTS5 flushes its in-memory term lists to a new index segment whenever they outgrow 'hashsize'
# (1 MiB by default) and at each commit; while a big backlog is indexed a larger buffer makes fewer,
# bigger segments and less merging — about 1.5x faster. It is an FTS5 setting stored with the
# index, so it is set for the catch-up and put back after (a crash in between leaves it larger,
# which only lets a writer buffer more).
BULK_HASHSIZE = 64 * 1024 * 1024
DEFAULT_HASHSIZE = 1024 * 1024
# WAL pages between automatic checkpoints during a long run of writes (SQLite's default: 1000). Each
# checkpoint syncs the disk; a longer interval writes the same data with ten times fewer syncs.
BULK_WAL_AUTOCHECKPOINT = 10_000


def _enabled(conn: Connection | Engine) -> bool:
    """Whether there is an index to keep in step (SQLite); PostgreSQL generates its own."""
    return backend_of(conn) == "sqlite"


def write_lock(conn: Connection) -> None:
    """Take SQLite's write lock now, so reads that follow in this transaction see the latest data.

    Python's sqlite3 opens a transaction only at the first write, so without this the reads before
    it could be stale by the time the write runs. A no-op on PostgreSQL (row locks do the work).
    """
    if _enabled(conn):
        conn.exec_driver_sql("UPDATE papers SET id = id WHERE 0")


@contextmanager
def bulk_writes(conn: Connection) -> Iterator[None]:
    """Settings for many write transactions on this connection, restored afterwards.

    Use outside a transaction (it commits the pragma statements).
    """
    if not _enabled(conn):
        yield
        return
    before = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={BULK_WAL_AUTOCHECKPOINT}")
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(before or 1000)}")
        conn.commit()


def indexed_upto(conn: Connection) -> int | None:
    """The watermark: the highest paper id in the index (0 when empty); None on PostgreSQL."""
    if not _enabled(conn):
        return None
    value = conn.exec_driver_sql("SELECT max(rowid) FROM papers_fts_docsize").scalar()
    return int(value or 0)


def pending(conn: Connection) -> int:
    """How many papers are above the watermark (written but not yet indexed)."""
    upto = indexed_upto(conn)
    if upto is None:
        return 0
    count = conn.exec_driver_sql("SELECT count(*) FROM papers WHERE id > ?", (upto,)).scalar()
    return int(count or 0)


def index(conn: Connection, paper_ids: Sequence[int]) -> None:
    """Add the current text of these papers to the index (they must not be in it)."""
    if paper_ids and _enabled(conn):
        conn.execute(
            text(
                f"INSERT INTO papers_fts(rowid, {_COLUMNS}) "
                f"SELECT id, {_COLUMNS} FROM papers WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": list(paper_ids)},
        )


def unindex(conn: Connection, paper_ids: Sequence[int]) -> None:
    """Remove these papers' current text from the index (call before changing or deleting it)."""
    if paper_ids and _enabled(conn):
        conn.execute(
            text(
                f"INSERT INTO papers_fts(papers_fts, rowid, {_COLUMNS}) "
                f"SELECT 'delete', id, {_COLUMNS} FROM papers WHERE id IN :ids"
            ).bindparams(bindparam("ids", expanding=True)),
            {"ids": list(paper_ids)},
        )


def index_after(conn: Connection, after: int, limit: int | None = None) -> int:
    """Index the papers with ``id > after`` (the lowest ``limit`` of them); return how many.

    ``after`` must be the watermark read under :func:`write_lock` in this transaction.
    """
    if not _enabled(conn):
        return 0
    bounds = conn.exec_driver_sql(
        "SELECT count(*), max(id) FROM (SELECT id FROM papers WHERE id > ? ORDER BY id LIMIT ?)",
        (after, -1 if limit is None else limit),
    ).one()
    count, last = int(bounds[0]), bounds[1]
    if count:
        conn.exec_driver_sql(
            f"INSERT INTO papers_fts(rowid, {_COLUMNS}) "
            f"SELECT id, {_COLUMNS} FROM papers WHERE id > ? AND id <= ?",
            (after, last),
        )
    return count


def catch_up(
    engine: Engine,
    *,
    chunk: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Index every paper above the watermark, ``chunk`` papers (default :data:`CATCH_UP_CHUNK`)
    per transaction; return how many.

    A crash part-way keeps what was committed; running it again goes on from there. On
    PostgreSQL: builds the recent indexes that are due (:mod:`dailypapers.db.pg_recent_index`).
    """
    if not _enabled(engine):
        pg_recent_index.place(engine)
        return 0
    chunk = chunk or CATCH_UP_CHUNK
    total = 0
    with engine.connect() as conn, bulk_writes(conn):
        with conn.begin():
            backlog = pending(conn)
        if not backlog:
            return 0
        hashsize = _hashsize(conn) if backlog > chunk else None
        try:
            if hashsize is not None:
                _set_hashsize(conn, BULK_HASHSIZE)
            while True:
                with conn.begin():
                    write_lock(conn)
                    done = index_after(conn, indexed_upto(conn) or 0, chunk)
                if not done:
                    return total
                total += done
                if on_progress is not None:
                    on_progress(done)
        finally:
            if hashsize is not None:
                if conn.in_transaction():
                    conn.rollback()
                _set_hashsize(conn, hashsize)


def _hashsize(conn: Connection) -> int | None:
    """The index's 'hashsize' now, or None where this SQLite's FTS5 has no such setting."""
    try:
        _set_hashsize(conn, DEFAULT_HASHSIZE, probe=True)
    except DBAPIError:
        return None
    value = conn.exec_driver_sql("SELECT v FROM papers_fts_config WHERE k = 'hashsize'").scalar()
    conn.commit()
    return int(value) if value is not None else DEFAULT_HASHSIZE


def _set_hashsize(conn: Connection, size: int, *, probe: bool = False) -> None:
    with conn.begin() as transaction:
        conn.exec_driver_sql(
            "INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', ?)", (int(size),)
        )
        if probe:  # only asking whether the setting exists
            transaction.rollback()


def rebuild(conn: Connection) -> None:
    """Recreate the whole index from the ``papers`` table."""
    if _enabled(conn):
        conn.execute(text("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')"))


def integrity_check(conn: Connection) -> None:
    """Raise if the index disagrees with ``papers`` (FTS5 ``integrity-check`` with ``rank = 1``)."""
    if _enabled(conn):
        conn.exec_driver_sql(
            "INSERT INTO papers_fts(papers_fts, rank) VALUES ('integrity-check', 1)"
        )
