"""Idempotent upsert of normalised paper records: one row per arXiv id, holding the latest version.

Every source (listing files, the bulk snapshot, later arXiv's own services) funnels through
:func:`upsert_records`. Re-importing the same data changes nothing; a newer version of a paper updates
its row in place (an older one never overwrites a newer); a paper keeps the earliest announce date it
was seen with (an exact day beats an estimate, see :func:`merge_row`); its ``paper_categories`` rows
follow its categories. Records travel as flat rows
(:class:`~dailypapers.sources.arxiv.records.FlatRow`: JSON text, ISO dates), the form SQLite stores,
so a bulk import converts nothing per row, and are compared and merged in that form.

**Batches and the keyword index.** Records are written in batches of :data:`BATCH_SIZE`, one
transaction each, so a crash loses at most one batch. New papers are written first and added to the
SQLite keyword index at the end of the import (:func:`dailypapers.db.keyword_index.catch_up`, in id
order, a chunk per transaction); tokenising is most of the cost of an import, and this way papers
reach the feeds at the speed of plain inserts. A paper that was already indexed and changes is
re-indexed in its own batch. When :func:`upsert_records` returns, the index matches the table; if the
process dies before that, the unindexed papers sit above the index's watermark and the next import
(or ``keyword_index.catch_up`` at start-up) indexes them — see :mod:`dailypapers.db.keyword_index`.

**Speed.** The batch statements take each backend's driver path with the rows as they are: on SQLite
straight to the driver (``exec_driver_sql``, positional parameters, new ids assigned under the write
lock) instead of through SQLAlchemy's per-row parameter processing; on PostgreSQL each column of a
batch as one array (:mod:`dailypapers.db.bulk`: one statement per batch and table).
``FAST_PATH = False`` sends both through SQLAlchemy Core with the same rules (the tests run both).
A big file is parsed in a second process meanwhile (:mod:`dailypapers.sources.parse_pool`);
``benchmarks/import_speed.py`` measures it all.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, select, update

from dailypapers.clock import utcnow
from dailypapers.db import author_index, bulk, keyword_index
from dailypapers.db.engine import backend_of
from dailypapers.db.models import Paper, PaperCategory
from dailypapers.db.ordered_writes import IdsTurn, apart, ordered_batches, regroup
from dailypapers.sources.arxiv.records import FLAT_FIELDS, FlatRow, PaperRecord, flat_row
from dailypapers.sources.jsonl import dumps, loads

BATCH_SIZE = 1000
MAX_ANNOUNCE_DELAY_DAYS = 7  # arXiv announces a new paper within days of its submission
_PAPERS = cast(Table, Paper.__table__)
_CATEGORIES = cast(Table, PaperCategory.__table__)
# Columns a source may not know: keep what the database has when the new record lacks them.
_KEEP_IF_MISSING = ("published", "journal_ref", "doi", "license", "code_url", "project_url")
_COMPARED = FLAT_FIELDS[1:]  # every column a record sets, after its arxiv_id
_DATES = ("published", "updated", "announced_on")
_AUTHORS_AT = FLAT_FIELDS.index("authors")
_ARXIV_ID = operator.attrgetter("arxiv_id")
_INDEXED_AT = tuple(FLAT_FIELDS.index(c) for c in ("title", "abstract", "authors"))  # papers_fts
T = TypeVar("T")
# Set to False to send both backends through the SQLAlchemy Core path (the tests run both).
FAST_PATH = True
# A first import into an empty PostgreSQL table writes on this many connections (1: as any other)
FIRST_IMPORT_WRITERS = 2


@dataclass
class ImportCounts:
    """What one import did: new rows, rows changed in place, rows already up to date, bad lines."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def add(self, other: ImportCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def _is_newer(incoming: FlatRow, stored: FlatRow) -> bool:
    """Does the incoming record describe a newer (or the same, re-edited) version than the row?"""
    new_v, old_v = incoming.version, stored.version
    if new_v is not None and old_v is not None and new_v != old_v:
        return new_v > old_v
    new_u, old_u = incoming.updated, stored.updated
    return old_u is None or (new_u is not None and new_u >= old_u)


def merge_row(incoming: FlatRow, stored: FlatRow) -> FlatRow:
    """The row to store given the stored row and an incoming record's row (pure; ISO dates
    compare like dates)."""
    newer = _is_newer(incoming, stored)
    announced_on, announce_estimated = _announcement(incoming, stored)
    if not newer:
        return stored._replace(announced_on=announced_on, announce_estimated=announce_estimated)
    kept: dict[str, Any] = {
        column: getattr(stored, column)
        for column in _KEEP_IF_MISSING
        if getattr(incoming, column) is None
    }
    if incoming.version is None:
        kept["version"] = stored.version
    return incoming._replace(
        **kept, announced_on=announced_on, announce_estimated=announce_estimated
    )


def _announcement(incoming: FlatRow, stored: FlatRow) -> tuple[str, int]:
    """A paper's announce day and whether it is an estimate.

    Between two days of the same kind the earliest wins (later ones are replacements and
    cross-lists). An exact day (from an announcement) beats an estimate (from the submission
    date), unless it comes more than :data:`MAX_ANNOUNCE_DELAY_DAYS` after it: then it is a
    re-announcement of an older paper, and the estimate is the better guess of its first day.
    """
    new = (incoming.announced_on, int(incoming.announce_estimated or 0))
    old = (stored.announced_on, int(stored.announce_estimated or 0))
    if new[1] == old[1]:
        return min(new, old)
    exact, estimate = (old, new) if new[1] else (new, old)
    delay = date.fromisoformat(exact[0]) - date.fromisoformat(estimate[0])
    return estimate if delay.days > MAX_ANNOUNCE_DELAY_DAYS else exact


def _changed(merged: FlatRow, stored: FlatRow) -> bool:
    """Does the merged row differ from the stored one in a column a record sets?"""
    if merged[1:] == stored[1:]:
        return False
    differ = [i for i in range(1, len(merged)) if merged[i] != stored[i]]
    # The same authors may be JSON text in another spelling (another writer's encoder).
    return differ != [_AUTHORS_AT] or loads(merged.authors) != loads(stored.authors)


def _dedupe(rows: Iterable[FlatRow]) -> tuple[dict[str, FlatRow], int]:
    """Collapse repeats of one id inside a batch with the same rule as against the database."""
    by_id: dict[str, FlatRow] = {}
    repeats = 0
    for row in rows:
        previous = by_id.get(row.arxiv_id)
        if previous is None:
            by_id[row.arxiv_id] = row
        else:
            repeats += 1
            by_id[row.arxiv_id] = merge_row(row, previous)
    return by_id, repeats


def _category_names(categories: str) -> list[str]:
    return list(dict.fromkeys(categories.split()))


# --- SQL: the driver paths (SQLite, PostgreSQL) and the SQLAlchemy Core path ----------------------
# All take and give flat rows; the Core path converts to and from Python values at the boundary.


def _fast(conn: Connection) -> bool:
    """The SQLite driver path."""
    return FAST_PATH and backend_of(conn) == "sqlite"


def _arrays(conn: Connection) -> bool:
    """PostgreSQL's driver path: columns as arrays (:mod:`dailypapers.db.bulk`)."""
    return FAST_PATH and backend_of(conn) == "postgresql"


def _marks(count: int) -> str:
    return ", ".join("?" * count)


_SQL_SELECT = f"SELECT id, {', '.join(FLAT_FIELDS)} FROM papers WHERE arxiv_id IN "
_SQL_INSERT = (
    f"INSERT INTO papers (id, {', '.join(FLAT_FIELDS)}) VALUES ({_marks(len(FLAT_FIELDS) + 1)})"
)
_SQL_UPDATE = (
    f"UPDATE papers SET {', '.join(f'{c} = ?' for c in FLAT_FIELDS)}, "
    "modified_at = CURRENT_TIMESTAMP WHERE id = ?"
)
_SQL_INSERT_CATEGORY = "INSERT INTO paper_categories (category, paper_id) VALUES (?, ?)"


def _python_values(row: FlatRow) -> dict[str, Any]:
    """A flat row as the Python values SQLAlchemy's column types take."""
    values = row._asdict()
    values["authors"] = loads(values["authors"])
    for column in _DATES:
        if values[column] is not None:
            values[column] = date.fromisoformat(values[column])
    return values


def _flat_values(values: Any) -> FlatRow:
    """A row read through SQLAlchemy (Python values) as a flat row."""
    row = {field: values[field] for field in FLAT_FIELDS}
    row["authors"] = dumps(row["authors"] if row["authors"] is not None else [])
    row["announce_estimated"] = int(row["announce_estimated"] or 0)
    for column in _DATES:
        if row[column] is not None:
            row[column] = row[column].isoformat()
    return FlatRow(**row)


def _select_stored(conn: Connection, arxiv_ids: list[str]) -> dict[str, tuple[int, FlatRow]]:
    """``arxiv_id -> (row id, flat row)`` for the ids already in the table."""
    if _fast(conn):
        found = conn.exec_driver_sql(
            f"{_SQL_SELECT}({_marks(len(arxiv_ids))})", tuple(arxiv_ids)
        ).fetchall()
        return {values[1]: (values[0], FlatRow._make(values[1:])) for values in found}
    if _arrays(conn):
        flat = bulk.select_flat(conn, _PAPERS, "arxiv_id", arxiv_ids, FLAT_FIELDS)
        return {values[1]: (values[0], FlatRow._make(values[1:])) for values in flat}
    query = select(_PAPERS.c.id, *(_PAPERS.c[c] for c in FLAT_FIELDS)).where(
        _PAPERS.c.arxiv_id.in_(arxiv_ids)
    )
    return {
        row["arxiv_id"]: (row["id"], _flat_values(row)) for row in conn.execute(query).mappings()
    }


def _insert_new(conn: Connection, rows: list[FlatRow], above: int) -> None:
    """Insert papers and their category rows, with ids greater than ``above``."""
    if _fast(conn):
        # Under the write lock (see _upsert) no one else can take these ids.
        top = conn.exec_driver_sql("SELECT max(id) FROM papers").scalar()
        first = max(int(top or 0), above) + 1
        conn.exec_driver_sql(_SQL_INSERT, [(first + i,) + row for i, row in enumerate(rows)])
        conn.exec_driver_sql(
            _SQL_INSERT_CATEGORY,
            [
                (category, first + i)
                for i, row in enumerate(rows)
                for category in _category_names(row.categories)
            ],
        )
        return
    if _arrays(conn):
        ids = bulk.next_ids(conn, _PAPERS, len(rows))
        bulk.insert_flat(
            conn, _PAPERS, ("id", *FLAT_FIELDS), [(i, *r) for i, r in zip(ids, rows, strict=True)]
        )
        bulk.insert_flat(
            conn,
            _CATEGORIES,
            ("category", "paper_id"),
            [
                (c, i)
                for i, row in zip(ids, rows, strict=True)
                for c in _category_names(row.categories)
            ],
        )
        return
    conn.execute(insert(_PAPERS), [_python_values(row) for row in rows])
    found = conn.execute(
        select(_PAPERS.c.id, _PAPERS.c.categories).where(
            _PAPERS.c.arxiv_id.in_([row.arxiv_id for row in rows])
        )
    ).all()
    category_rows = [
        {"paper_id": pid, "category": c} for pid, cats in found for c in _category_names(cats)
    ]
    if category_rows:
        conn.execute(insert(_CATEGORIES), category_rows)


def _update_rows(conn: Connection, changed: list[tuple[int, FlatRow, FlatRow]]) -> None:
    """Write changed rows ``(row id, new row, old row)`` and re-file moved categories."""
    if _fast(conn):
        conn.exec_driver_sql(_SQL_UPDATE, [row + (row_id,) for row_id, row, _ in changed])
    elif _arrays(conn):
        flat = [(row_id, *row) for row_id, row, _ in changed]
        bulk.update_flat(conn, _PAPERS, ("id", *FLAT_FIELDS), flat, touch="modified_at")
    else:
        values: dict[str, Any] = {column: bindparam(column) for column in _COMPARED}
        conn.execute(
            update(_PAPERS)
            .where(_PAPERS.c.id == bindparam("row_id"))
            .values(**values, modified_at=bindparam("now")),
            [
                {**_python_values(row), "row_id": row_id, "now": utcnow()}
                for row_id, row, _ in changed
            ],
        )
    moved = [(row_id, row) for row_id, row, old in changed if row.categories != old.categories]
    if moved:
        conn.execute(
            delete(_CATEGORIES).where(_CATEGORIES.c.paper_id.in_([row_id for row_id, _ in moved]))
        )
        conn.execute(
            insert(_CATEGORIES),
            [
                {"paper_id": row_id, "category": c}
                for row_id, row in moved
                for c in _category_names(row.categories)
            ],
        )


# --- batches -------------------------------------------------------------------------------------


def _upsert(conn: Connection, rows: Sequence[FlatRow], *, index_new: bool) -> ImportCounts:
    """Upsert one batch of flat rows in the caller's transaction."""
    counts = ImportCounts()
    keyword_index.write_lock(conn)
    indexed = keyword_index.indexed_upto(conn)
    authors_upto = author_index.indexed_upto(conn)
    incoming, repeats = _dedupe(rows)
    counts.unchanged += repeats
    stored = _select_stored(conn, list(incoming))
    new_rows = [row for key, row in incoming.items() if key not in stored]
    changed: list[tuple[int, FlatRow, FlatRow]] = []  # (row id, new row, old row)
    for key, (row_id, old) in stored.items():
        merged = merge_row(incoming[key], old)
        if _changed(merged, old):
            changed.append((row_id, merged, old))
        else:
            counts.unchanged += 1
    if new_rows:
        _insert_new(conn, new_rows, indexed or 0)
        counts.new += len(new_rows)
    if changed:
        # Papers already in the keyword index (ids up to the watermark) are re-indexed now, on the
        # fast path only those whose indexed text changes (there the old row is the stored text;
        # the Core path may re-spell the authors' JSON); the others are indexed with the new papers.
        fast = _fast(conn)
        reindex = [
            row_id
            for row_id, new, old in changed
            if indexed is not None
            and row_id <= indexed
            and (not fast or any(new[i] != old[i] for i in _INDEXED_AT))
        ]
        keyword_index.unindex(conn, reindex)
        _update_rows(conn, changed)
        keyword_index.index(conn, reindex)
        author_index.reindex(conn, [row_id for row_id, _, _ in changed if row_id <= authors_upto])
        counts.updated += len(changed)
    if index_new and indexed is not None:
        keyword_index.index_after(conn, indexed)
    if index_new:
        author_index.index_after(conn, authors_upto)
    return counts


def upsert_batch(
    conn: Connection, records: Sequence[PaperRecord], *, index_new: bool = True
) -> ImportCounts:
    """Upsert one batch inside the caller's transaction.

    ``index_new=False`` leaves new papers for :func:`keyword_index.catch_up` (a harvest indexes
    once after its pages; an interrupted one is caught up at the next start or import).
    """
    return _upsert(conn, [flat_row(r) for r in records], index_new=index_new)


def batched(items: Iterable[T], size: int = BATCH_SIZE) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_first(
    conn: Connection, batch: tuple[list[FlatRow], set[object]], ids_turn: IdsTurn
) -> tuple[ImportCounts, list[FlatRow]]:
    """One batch of a first import (PostgreSQL, :func:`ordered_batches`): insert its papers whose
    id no row has, except the ``held`` ids; return the counts and the rows left over (held, or
    their id was taken meanwhile), in the batch's order, for the ordinary upsert to merge."""
    rows, held = batch
    incoming, _ = _dedupe(row for row in rows if row.arxiv_id not in held)
    fresh = list(incoming.values())
    with ids_turn():
        ids = bulk.next_ids(conn, _PAPERS, len(fresh))
    numbered = [(i, *r) for i, r in zip(ids, fresh, strict=True)]
    added = bulk.insert_absent(conn, _PAPERS, ("id", *FLAT_FIELDS), numbered, "arxiv_id")
    written = [(i, r) for i, r in zip(ids, fresh, strict=True) if r.arxiv_id in added]
    categories = [(c, i) for i, r in written for c in _category_names(r.categories)]
    bulk.insert_flat(conn, _CATEGORIES, ("category", "paper_id"), categories)
    author_index.index_new(conn, [(i, r.authors) for i, r in written])
    left = [row for row in rows if row.arxiv_id not in added]
    return ImportCounts(new=len(added), unchanged=len(rows) - len(left) - len(added)), left


def _first_import(engine: Engine) -> bool:
    """A first import into PostgreSQL (no papers yet), for the parallel writers?"""
    if not (FAST_PATH and FIRST_IMPORT_WRITERS > 1 and backend_of(engine) == "postgresql"):
        return False
    with engine.connect() as conn:
        return conn.execute(select(_PAPERS.c.id).limit(1)).first() is None


def upsert_flat(
    engine: Engine,
    rows: Iterable[FlatRow],
    *,
    on_phase: Callable[[str], None] | None = None,
) -> ImportCounts:
    """Upsert flat rows (:func:`~dailypapers.sources.arxiv.records.flat_row`) in batches, one
    transaction per batch (a crash loses at most one batch), then keyword-index the new papers.

    A first import into PostgreSQL writes its batches on :data:`FIRST_IMPORT_WRITERS` connections
    (ids and commits in batch order), then upserts the rows whose id a batch found taken.
    ``on_phase("keyword-index")`` is called when indexing starts (the benchmark times the phases).
    """
    keyword_index.catch_up(engine)  # papers a crashed import left unindexed
    author_index.catch_up(engine)
    counts = ImportCounts()
    try:
        groups: Iterable[list[FlatRow]] = batched(rows, BATCH_SIZE)
        if _first_import(engine):
            left: list[list[FlatRow]] = []
            batches = apart(groups, _ARXIV_ID, FIRST_IMPORT_WRITERS)
            for done, rest in ordered_batches(
                engine, batches, _insert_first, writers=FIRST_IMPORT_WRITERS
            ):
                counts.add(done)
                left.append(rest)
            groups = regroup(left, _ARXIV_ID, BATCH_SIZE)  # a batch's rows still merged together
        with engine.connect() as conn, keyword_index.bulk_writes(conn):
            for batch in groups:
                with conn.begin():
                    counts.add(_upsert(conn, batch, index_new=False))
    finally:  # the batches committed before a failing source are indexed too
        if on_phase is not None:
            on_phase("keyword-index")
        keyword_index.catch_up(engine)
        author_index.catch_up(engine)
    return counts


def upsert_records(
    engine: Engine,
    records: Iterable[PaperRecord],
    *,
    on_phase: Callable[[str], None] | None = None,
) -> ImportCounts:
    """Upsert records: :func:`upsert_flat` of their flat rows."""
    return upsert_flat(engine, map(flat_row, records), on_phase=on_phase)
