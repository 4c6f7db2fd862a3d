"""A process's filter catalogue: every live paper as one row, ordered by announce date, with the
int8 code of its vector; so a filtered search by meaning reads memory, not the database.

At 1 M papers the exact pass over a narrow filter (search/dense.py) spent its time listing the
filter's papers in SQL (~50 ms) and then gathering their vectors one by one from the mapped HNSW
file (~3 us each: 60 k papers, ~0.2-0.7 s); benchmarks/search_profile.py shows it. Here:

* a date range is a contiguous slice of rows (two binary searches in ``days``), scanned in place;
* a category is its rows (ascending; read once from ``paper_categories``, then kept), and a category
  with dates is the part of those rows inside the date slice (two more binary searches);
* the int8 codes (each row scaled to its own peak; cosine does not mind) pick :data:`RERANK` x
  depth candidates by usearch's exact int8 scan, and those are ranked by their float32 vectors
  from the index, so scores are exact cosines.

What changed since the build is still found: papers added since (ids above ``newest``) are read
from the database with the filter in SQL (an id range: cheap while few; past :data:`TAIL_MAX` a
rebuild starts), rows whose vector was missing at the build ask the index, and the ranked ids
pass :func:`~dailypapers.search.filters.kept_ids` (deleted papers, the filter as the rows say now).
A paper whose announce date changed since the build is missed by this half until the rebuild
(every :data:`REFRESH_S`); keyword search still finds it. A rebuild also starts when
:data:`TAIL_MAX` papers were added, or vectors embedded, since. The catalogue is built on a
background thread (at 1 M: ~25-40 s at load 7-10, ~10 s of CPU; 384 bytes a paper, ~0.4 GB, plus
the small categories' blocks, at most a quarter of that) by web processes only, when their vector
index opens (``Runtime.semantic_source``; ``DAILYPAPERS_FILTER_CATALOGUE=false`` turns it off);
commands and job workers, and a web process until it is ready, search on the SQL plan (a
private HNSW index of such a web process makes no int8 codes of its own meanwhile:
``HnswIndex.codes_wanted``, one int8 copy of the vectors per process).

On PostgreSQL the filter goes into pgvector's query (search/dense.py) and none is kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, text

from dailypapers.db.dialect import id_array, raw_tuples
from dailypapers.db.engine import backend_of
from dailypapers.search.filters import SearchFilters, filter_sql, kept_ids
from dailypapers.vectors import VectorIndex
from dailypapers.vectors.base import matrix_of, top_k
from dailypapers.vectors.hnsw import int8_nearest

log = logging.getLogger(__name__)

REFRESH_S = 3600.0  # a catalogue older than this is rebuilt (in the background)
RETRY_S = 300.0  # after a failed build, the next one waits this long (each reads every paper)
TAIL_MAX = 20_000  # papers added (or vectors embedded) since the build before a rebuild
RERANK = 4  # int8 candidates ranked by their float32 vectors, per result
CHUNK = 16_384  # vectors read from the index at a time (building)
MAX_CATALOGUES = 4
# A category of at most this many papers keeps its codes as one block (while all blocks stay
# within BLOCK_SHARE of the codes' size): gathering 60 k rows is ~7 ms a search.
BLOCK_ROWS = 60_000
BLOCK_SHARE = 0.25
# A broad category's rows (no block) are gathered and scanned this many at a time into one small
# buffer, each run's best kept: one gather of cs.CL's 252 k codes at 1 M allocated 97 MB a search
# (its first touch ~4 s once, then gather 150 + scan 80 ms at load 4); in runs, 175-220 ms less
# that allocation, and no large temporary however many searches run at once.
GATHER_RUN = 16_384

Ids = NDArray[np.int64]
Rows = NDArray[np.int64] | slice


def _day(value: object) -> int:
    """A date (or SQLite's ISO text) as its ordinal."""
    return (value if isinstance(value, date) else date.fromisoformat(str(value)[:10])).toordinal()


@dataclass
class Catalogue:
    """Rows ordered by (announce day, id); see the module docstring."""

    ids: Ids
    days: NDArray[np.int32]
    codes: NDArray[np.int8]
    missing: Ids  # rows whose paper had no vector at the build
    newest: int  # highest paper id at the build
    vectors: int  # the index's size at the build
    built: float = field(default_factory=time.monotonic)
    categories: dict[str, Ids] = field(default_factory=dict)
    blocks: OrderedDict[str, NDArray[np.int8]] = field(default_factory=OrderedDict)
    by_id: Ids | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.ids)

    def _order(self) -> Ids:
        """The rows in paper-id order (for finding a paper's row), made on first use."""
        with self.lock:
            order = self.by_id
        if order is None:
            order = np.argsort(self.ids, kind="stable").astype(np.int64)
            with self.lock:
                self.by_id = order
        return order

    def category_rows(self, conn: Connection, category: str) -> Ids:
        """The category's rows, ascending (read from ``paper_categories`` on first use)."""
        with self.lock:
            cached = self.categories.get(category)
        if cached is not None:
            return cached
        found = id_array(
            conn,
            "SELECT paper_id FROM paper_categories WHERE category = :c AND paper_id <= :newest",
            {"c": category, "newest": self.newest},
        )
        order = self._order()
        at = np.searchsorted(self.ids, found, sorter=order)
        at = np.minimum(at, len(order) - 1) if len(order) else at
        hit = self.ids[order[at]] == found if len(order) else np.zeros(0, bool)
        rows = np.sort(order[at[hit]]).astype(np.int64)
        with self.lock:
            self.categories[category] = rows
        return rows

    def rows(self, conn: Connection, filters: SearchFilters) -> Rows:
        """The rows passing ``filters``: a slice (dates only) or ascending row numbers."""
        low = int(np.searchsorted(self.days, _day(filters.since))) if filters.since else 0
        high = (
            int(np.searchsorted(self.days, _day(filters.until), side="right"))
            if filters.until
            else len(self.days)
        )
        if not filters.category:
            return slice(low, max(low, high))
        rows = self.category_rows(conn, filters.category)
        return rows[np.searchsorted(rows, low) : np.searchsorted(rows, high)]

    def count(self, conn: Connection, filters: SearchFilters) -> int:
        rows = self.rows(conn, filters)
        return rows.stop - rows.start if isinstance(rows, slice) else len(rows)

    def _block(self, category: str, rows: Ids) -> NDArray[np.int8] | None:
        """The codes of a small category's rows as one contiguous block (kept, least recently
        used dropped past :data:`BLOCK_SHARE` of the codes' size): no gather per search."""
        if len(rows) > BLOCK_ROWS or not len(rows):
            return None
        with self.lock:
            block = self.blocks.get(category)
            if block is not None:
                self.blocks.move_to_end(category)
                return block
        block = self.codes[rows]
        with self.lock:
            self.blocks[category] = block
            budget = self.codes.nbytes * BLOCK_SHARE
            while sum(b.nbytes for b in self.blocks.values()) > budget and len(self.blocks) > 1:
                self.blocks.popitem(last=False)
        return block

    def nearest(
        self, conn: Connection, query: NDArray[np.float32], filters: SearchFilters, k: int
    ) -> Ids:
        """The ``k`` papers passing ``filters`` whose codes are nearest ``query`` (paper ids):
        a date range scanned in place, a category's rows from their block (or gathered)."""
        rows = self.rows(conn, filters)
        if isinstance(rows, slice) or not filters.category:
            block, ids = self.codes[rows], self.ids[rows]
        else:
            every = self.category_rows(conn, filters.category)
            whole = self._block(filters.category, every)
            if whole is None:
                return self.ids[_nearest_gathered(self.codes, rows, query, k)]
            if not len(rows):
                return self.ids[rows]
            start = int(np.searchsorted(every, rows[0]))  # rows: a run of the category's rows
            block = whole[start : start + len(rows)]
            ids = self.ids[rows]
        if not len(ids):
            return ids
        return ids[int8_nearest(block, query, k)]


def _nearest_gathered(
    codes: NDArray[np.int8], rows: Ids, query: NDArray[np.float32], k: int
) -> Ids:
    """The ``k`` of ``rows`` whose codes are nearest ``query``, best first: gathered and scanned
    :data:`GATHER_RUN` rows at a time, each run's ``k`` best kept, those ranked again."""
    if len(rows) <= GATHER_RUN:
        return rows[int8_nearest(codes[rows], query, k)]
    buffer = np.empty((GATHER_RUN, codes.shape[1]), np.int8)
    best = []
    for start in range(0, len(rows), GATHER_RUN):
        run = rows[start : start + GATHER_RUN]
        np.take(codes, run, axis=0, out=buffer[: len(run)])
        best.append(run[int8_nearest(buffer[: len(run)], query, k)])
    kept = np.concatenate(best)
    return kept[int8_nearest(codes[kept], query, k)]


def build(engine: Engine, index: VectorIndex) -> Catalogue:
    """Read every live paper's id and day, and its vector from ``index`` (see the module doc)."""
    vectors = len(index)
    with engine.connect() as conn:
        newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one())
        rows = raw_tuples(
            conn,
            "SELECT id, announced_on FROM papers WHERE deleted_at IS NULL AND id <= :newest "
            "ORDER BY announced_on, id",
            {"newest": newest},
        )
    ids = np.array([r[0] for r in rows], np.int64)
    days = np.array([_day(r[1]) for r in rows], np.int32)
    codes = np.zeros((len(ids), index.dim), np.int8)
    have = np.zeros(len(ids), bool)
    for start in range(0, len(ids), CHUNK):
        keys, matrix = matrix_of(index, ids[start : start + CHUNK])
        if not len(keys):
            continue
        position = {int(i): start + n for n, i in enumerate(ids[start : start + CHUNK].tolist())}
        at = np.array([position[int(k)] for k in keys.tolist()], np.int64)
        peak = np.abs(matrix).max(axis=1)
        peak[peak == 0] = 1.0
        codes[at] = np.round(matrix * (127.0 / peak[:, None])).astype(np.int8)
        have[at] = True
    missing = np.flatnonzero(~have).astype(np.int64)
    return Catalogue(ids, days, codes, missing, newest, vectors)


class Catalogues:
    """The catalogue of each (database, model) this process searches, built in the background
    (``background=False``: built in the calling thread, as tests want)."""

    def __init__(self, *, background: bool = True) -> None:
        self.background = background
        self._lock = threading.Lock()
        self._ready: OrderedDict[tuple[str, str], Catalogue] = OrderedDict()
        self._building: set[tuple[str, str]] = set()
        self._failed: dict[tuple[str, str], float] = {}  # when a build last failed (monotonic)

    def get(self, conn: Connection, index: VectorIndex) -> Catalogue | None:
        """The catalogue for this database and index's model: None unless :meth:`warm` built
        one (a web process does; a command or a job worker searches on the SQL plan and keeps
        no catalogue). A stale one (old, or too many papers added or embedded since) is served
        while its successor builds."""
        key = (str(conn.engine.url), index.model_name)
        with self._lock:
            found = self._ready.get(key)
        if found is None:
            return None
        stale = time.monotonic() - found.built > REFRESH_S
        if not stale:
            newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one())
            stale = max(newest - found.newest, len(index) - found.vectors) > TAIL_MAX
        if stale:
            self._start(conn.engine, index, key)
            with self._lock:
                found = self._ready.get(key, found)
        return found

    def ready(self, engine: Engine, model: str) -> Catalogue | None:
        """The catalogue built for this database and model, if any (starts nothing)."""
        with self._lock:
            return self._ready.get((str(engine.url), model))

    def warm(self, engine: Engine, index: VectorIndex) -> None:
        """Start building the catalogue for this database and model if there is none yet (a web
        process calls this when its vector index opens, so the first filtered searches after a
        start need not wait for it)."""
        key = (str(engine.url), index.model_name)
        with self._lock:
            known = key in self._ready or key in self._building
        if not known:
            self._start(engine, index, key)

    def _start(self, engine: Engine, index: VectorIndex, key: tuple[str, str]) -> None:
        """Build in the background, unless a build is under way or one failed within
        :data:`RETRY_S` (every request that opens the index asks: a build that keeps failing,
        out of memory say, would otherwise read every paper again and again)."""
        with self._lock:
            failed = self._failed.get(key)
            if key in self._building or (
                failed is not None and time.monotonic() - failed < RETRY_S
            ):
                return
            self._building.add(key)

        def run() -> None:
            try:
                started = time.monotonic()
                catalogue = build(engine, index)
                log.info(
                    "filter catalogue: %d papers in %.1f s",
                    len(catalogue),
                    time.monotonic() - started,
                )
                with self._lock:
                    self._failed.pop(key, None)
                    self._ready[key] = catalogue
                    self._ready.move_to_end(key)
                    while len(self._ready) > MAX_CATALOGUES:
                        self._ready.popitem(last=False)
            except Exception:  # search stays on the SQL plan; tried again after RETRY_S
                log.exception("filter catalogue not built")
                with self._lock:
                    self._failed[key] = time.monotonic()
            finally:
                with self._lock:
                    self._building.discard(key)

        if self.background:
            threading.Thread(target=run, name="filter-catalogue", daemon=True).start()
        else:
            run()

    def clear(self) -> None:
        with self._lock:
            self._ready.clear()
            self._failed.clear()


CATALOGUES = Catalogues()


def tail_sql(
    conn: Connection, filters: SearchFilters, newest: int
) -> tuple[str, dict[str, object]]:
    """SQL for the papers above ``newest`` that pass ``filters``: read by id range (on SQLite
    ``NOT INDEXED``, or the planner walks the date index over the whole range instead)."""
    where, params = filter_sql(conn, filters)
    hint = " NOT INDEXED" if backend_of(conn) == "sqlite" else ""
    sql = f"SELECT p.id FROM papers p{hint} WHERE p.id > :newest AND {' AND '.join(where)}"
    return sql, {**params, "newest": newest}


def catalogue_ranking(
    conn: Connection,
    catalogue: Catalogue,
    index: VectorIndex,
    query: NDArray[np.float32],
    filters: SearchFilters,
    depth: int,
) -> list[int]:
    """The ``depth`` papers nearest ``query`` among those passing ``filters``, exact cosines."""
    rows = catalogue.rows(conn, filters)
    candidates = [catalogue.nearest(conn, query, filters, depth * RERANK)]
    if len(catalogue.missing):  # rows without a vector at the build: ask the index
        at = catalogue.missing
        if isinstance(rows, slice):
            at = at[(at >= rows.start) & (at < rows.stop)]
        else:
            at = at[np.isin(at, rows)]
        candidates.append(catalogue.ids[at])
    tail = id_array(conn, *tail_sql(conn, filters, catalogue.newest))
    candidates.append(tail)
    keys, matrix = matrix_of(index, np.unique(np.concatenate(candidates)))
    if not len(keys):
        return []
    found, _ = top_k(keys, matrix @ query, depth * 2)
    return kept_ids(conn, [int(i) for i in found], filters)[:depth]
