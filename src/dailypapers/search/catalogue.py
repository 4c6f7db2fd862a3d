"""A process's filter catalogue: every live paper as one row, ordered by announce date, with a
4-bit code and the sign bits of its vector; so a filtered search by meaning reads memory, not the
database.

At 1 M papers the exact pass over a narrow filter (search/dense.py) spent its time listing the
filter's papers in SQL (~50 ms) and then gathering their vectors one by one from the mapped HNSW
file (~3 us each: 60 k papers, ~0.2-0.7 s); benchmarks/search_profile.py shows it. Here:

* a date range is a contiguous slice of rows (two binary searches in ``days``), scanned in place;
* a category is its rows (ascending; read once from ``paper_categories``, then kept), and a category
  with dates is the part of those rows inside the date slice (two more binary searches);
* a filter of more than :data:`BITS_AFTER` rows (a broad category: cs.LG is ~41 % of papers) is
  first ranked by each row's sign bits (one a dimension, of the vector less the mean of a sample:
  48 bytes a paper, Hamming distance by popcount, the rows' bits gathered in runs), and only the
  :data:`BITS_KEEP` nearest go on; gathering and scanning every row's int8 code instead took
  165-545 ms at 1 M (recall and timings: benchmarks/catalogue_pass.py, docs/PERFORMANCE.md);
* the 4-bit codes (each row scaled to its own peak, cosine does not mind, and rounded to -7..7;
  int8 codes before, twice the memory, the same candidates' recall) are unpacked to int8 and pick
  :data:`RERANK` x depth candidates by usearch's exact int8 scan, and those are ranked by their
  float32 vectors from the index, so scores are exact cosines.

What changed since the build is still found: papers added since (ids above ``newest``) are read
with the filter in SQL (an id range; past :data:`TAIL_MAX` a rebuild starts), rows whose vector
was missing ask the index, and the ranked ids pass :func:`~dailypapers.search.filters.kept_ids`
(deleted papers, the filter as the rows say now) through :meth:`Catalogue.kept_first` (only as
many as needed, after the rows rule out those they fail; also a broad filter's over-fetched
neighbours, ``search/dense.py``). A paper whose announce date or category changed since is missed
by this half until the rebuild (every :data:`REFRESH_S`); keyword search still finds it. Built on
a background thread by web processes only, when their vector index opens
(``Runtime.semantic_source``; ``DAILYPAPERS_FILTER_CATALOGUE=false``: off): at 1 M ~25-40 s at
load 7-10, ~10 s of CPU; ~240 bytes a paper (4-bit codes, bits, broad categories' bit blocks), 4
bytes an id (the id -> row table), one bit a paper per category checked; written to files that
every web process of the box maps (``search/catalogue_files.py``). Commands, job workers
and a web process until it is ready search on the SQL plan (their private HNSW index makes no
int8 codes meanwhile: ``HnswIndex.codes_wanted``). Codes and bits: ``search/catalogue_codes.py``.

On PostgreSQL a web process keeps one too, built from pgvector's vectors (read by id, 16,384 at
a time, each statement under the web engine's timeout; a chunk past it — a cold disk after a
start — read again in halves), and answers every filtered search by meaning through it
(search/dense.py); until it is built, and in job workers and commands, the filter goes into
pgvector's query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, text

from dailypapers.db.dialect import id_array, raw_tuples
from dailypapers.db.engine import statement_timed_out
from dailypapers.search import catalogue_files
from dailypapers.search.catalogue_codes import bits_nearest, nibble_codes, sign_bits, unpacked
from dailypapers.search.filters import SearchFilters, kept_ids
from dailypapers.vectors import VectorIndex
from dailypapers.vectors.base import matrix_in_halves
from dailypapers.vectors.hnsw import int8_nearest

log = logging.getLogger(__name__)

REFRESH_S = 3600.0  # a catalogue older than this is rebuilt (in the background)
RETRY_S = 300.0  # after a failed build, the next one waits this long (each reads every paper)
TAIL_MAX = 20_000  # papers added (or vectors embedded) since the build before a rebuild
RERANK = 4  # candidates (by their codes) ranked by their float32 vectors, per result
CHUNK = 16_384  # vectors read from the index at a time (building); past the statement timeout
SMALLEST_CHUNK = 256  # (a cold disk after a start) read again in halves, down to this
CENTRE_SAMPLE = 4_096  # vectors (spread over the rows) whose mean is the bits' centre
MAX_CATALOGUES = 4
WARM_CATEGORIES = 8  # the broadest categories' rows read at the build (a broad filter over-fetches)
# A pass over more rows than BITS_AFTER ranks them first by their sign bits (Hamming distance),
# keeps the BITS_KEEP nearest (and every row tied with the last) for the codes: at 1 M a broad
# category's pass 122-131 -> 11-14 ms of CPU (p50), recall@10 1.0 (docs/PERFORMANCE.md).
BITS_AFTER = 32_768
BITS_KEEP = 16_384
# A broad category's bits are kept as one contiguous block while all blocks stay within
# BLOCK_SHARE of the bits' size (gathering cs.LG's bits took 9 of a pass's 13 ms at 1 M).
BLOCK_SHARE = 2.0

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
    codes: NDArray[np.uint8]  # (rows, dimensions / 2): nibble_codes
    bits: NDArray[np.uint64]  # (words, rows): sign_bits of each row's vector less ``centre``
    centre: NDArray[np.float32]
    missing: Ids  # rows whose paper had no vector at the build
    newest: int  # highest paper id at the build
    vectors: int  # the index's size at the build
    built: float = field(default_factory=time.monotonic)
    categories: dict[str, Ids] = field(default_factory=dict)
    blocks: OrderedDict[str, NDArray[np.uint64]] = field(default_factory=OrderedDict)
    row_of: NDArray[np.int32] | None = None  # paper id -> row (may_pass)
    members: dict[str, NDArray[np.uint8]] = field(default_factory=dict)  # category -> packed rows
    mapped_blocks: dict[str, NDArray[np.uint64]] = field(default_factory=dict)  # from the files
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __len__(self) -> int:
        return len(self.ids)

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
        row_of = self._row_of()
        at = row_of[found[found < len(row_of)]]
        rows = np.sort(at[at >= 0]).astype(np.int64)
        with self.lock:
            self.categories[category] = rows
        return rows

    def rows(self, conn: Connection, filters: SearchFilters) -> Rows:
        """The rows passing ``filters``: a slice (dates only) or ascending row numbers."""
        # (the day in the array's own type: a Python int made NumPy cast all 2.5 M days to
        # int64 first, 1 ms a call instead of 2 us)
        day = self.days.dtype.type
        low = int(np.searchsorted(self.days, day(_day(filters.since)))) if filters.since else 0
        high = (
            int(np.searchsorted(self.days, day(_day(filters.until)), side="right"))
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

    def nearest(
        self, conn: Connection, query: NDArray[np.float32], filters: SearchFilters, k: int
    ) -> Ids:
        """The ``k`` papers passing ``filters`` whose codes are nearest ``query`` (paper ids),
        best first: past :data:`BITS_AFTER` rows, only the :data:`BITS_KEEP` nearest by their
        bits are ranked by their codes."""
        rows = self.rows(conn, filters)
        count = rows.stop - rows.start if isinstance(rows, slice) else len(rows)
        if count <= BITS_AFTER:
            if isinstance(rows, slice):  # a date range: its codes in place
                return self.ids[rows][int8_nearest(self._int8(rows), query, k)]
            return self.ids[rows[int8_nearest(self._int8(rows), query, k)]]
        near = sign_bits(query, self.centre)[:, 0]
        keep = max(BITS_KEEP, k)
        if isinstance(rows, slice):  # a date range: its bits in place
            found = bits_nearest(self.bits[:, rows], None, near, keep)
            rows = np.arange(rows.start, rows.stop, dtype=np.int64)
        elif filters.category and (block := self._block(conn, filters.category)) is not None:
            every = self.category_rows(conn, filters.category)
            start = int(np.searchsorted(every, rows[0]))  # rows: a run of the category's rows
            found = bits_nearest(block[:, start : start + len(rows)], None, near, keep)
        else:
            found = bits_nearest(self.bits, rows, near, keep)
        rows = rows[found]
        return self.ids[rows[int8_nearest(self._int8(rows), query, k)]]

    def may_pass(self, conn: Connection, ids: Ids, filters: SearchFilters) -> NDArray[np.bool_]:
        """For each of ``ids``, whether it can pass ``filters``: False only for a paper whose row
        failed them at the build (its category or announce day then); papers added since, or
        without a row, may."""
        result = np.ones(len(ids), bool)
        if not len(ids) or not len(self.ids):
            return result
        row_of = self._row_of()
        inside = (ids >= 0) & (ids < len(row_of))
        rows = np.full(len(ids), -1, np.int64)
        rows[inside] = row_of[ids[inside]]
        known = rows >= 0
        at = rows[known]
        passes = np.ones(len(at), bool)
        if filters.category:
            member = self._member(conn, filters.category)
            passes &= (member[at >> 3] >> (7 - (at & 7))) & 1 == 1
        if filters.since:
            passes &= self.days[at] >= _day(filters.since)
        if filters.until:
            passes &= self.days[at] <= _day(filters.until)
        result[known] = passes
        return result

    def _row_of(self) -> NDArray[np.int32]:
        """Paper id -> row (-1: none), up to ``newest``; made on first use (4 bytes an id)."""
        with self.lock:
            row_of = self.row_of
        if row_of is None:
            row_of = np.full(max(self.newest, int(self.ids.max(initial=0))) + 1, -1, np.int32)
            row_of[self.ids] = np.arange(len(self.ids), dtype=np.int32)
            with self.lock:
                self.row_of = row_of
        return row_of

    def _member(self, conn: Connection, category: str) -> NDArray[np.uint8]:
        """The category's rows as one bit a row (``np.packbits``), kept: one bit a paper for each
        category asked (a broad one's over-fetched neighbours are checked against it)."""
        with self.lock:
            member = self.members.get(category)
        if member is None:
            mask = np.zeros(len(self.ids), bool)
            mask[self.category_rows(conn, category)] = True
            member = np.packbits(mask)
            with self.lock:
                self.members[category] = member
        return member

    def kept_first(
        self, conn: Connection, ids: Sequence[int], filters: SearchFilters, depth: int
    ) -> list[int]:
        """``kept_ids`` of ``ids`` as far as its first ``depth``: those whose row failed the filter
        at the build left out in memory, the rest checked in the database a little more than
        ``depth`` at a time (a broad category's ~1,000 over-fetched neighbours at 2.5 M each took
        SQL's check: ~11 ms a search). Misses a paper that passes only since the build."""
        maybe = np.asarray(ids, np.int64)
        maybe = maybe[self.may_pass(conn, maybe, filters)]
        step = depth + depth // 8 + 16
        kept: list[int] = []
        for start in range(0, len(maybe), step):
            if len(kept) >= depth:
                break
            kept += kept_ids(conn, maybe[start : start + step].tolist(), filters)
        return kept

    def _int8(self, rows: Rows) -> NDArray[np.int8]:
        """The rows' codes as int8 (unpacked from their 4 bits)."""
        return unpacked(self.codes[rows], len(self.centre))

    def _block(self, conn: Connection, category: str) -> NDArray[np.uint64] | None:
        """The bits of a broad category's rows as one contiguous block, kept (the least recently
        used dropped past :data:`BLOCK_SHARE` of the bits' size): no gather per search."""
        with self.lock:
            block = self.blocks.get(category, self.mapped_blocks.get(category))
            if category in self.blocks:
                self.blocks.move_to_end(category)
            if block is not None:
                return block
        rows = self.category_rows(conn, category)
        if len(rows) * self.bits.shape[0] * 8 > self.bits.nbytes * BLOCK_SHARE:
            return None
        block = np.ascontiguousarray(self.bits[:, rows])
        with self.lock:
            self.blocks[category] = block
            budget = self.bits.nbytes * BLOCK_SHARE
            while sum(b.nbytes for b in self.blocks.values()) > budget:
                self.blocks.popitem(last=False)
            return self.blocks.get(category)


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
    codes = np.full((len(ids), (index.dim + 1) // 2), 0x88, np.uint8)  # zero vectors
    bits = np.zeros(((index.dim + 63) // 64, len(ids)), np.uint64)
    spread = ids[:: max(1, len(ids) // CENTRE_SAMPLE)]
    _, sample = matrix_in_halves(index, spread, statement_timed_out, SMALLEST_CHUNK)
    centre = (sample.mean(axis=0) if len(sample) else np.zeros(index.dim)).astype(np.float32)
    have = np.zeros(len(ids), bool)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        keys, matrix = matrix_in_halves(index, chunk, statement_timed_out, SMALLEST_CHUNK)
        if not len(keys):
            continue
        position = {int(i): start + n for n, i in enumerate(chunk.tolist())}
        at = np.array([position[int(k)] for k in keys.tolist()], np.int64)
        codes[at] = nibble_codes(matrix)
        bits[:, at] = sign_bits(matrix, centre)
        have[at] = True
    missing = np.flatnonzero(~have).astype(np.int64)
    built = Catalogue(ids, days, codes, bits, centre, missing, newest, vectors)
    # here, off the request path: the id -> row table (~10 ms and 10 MB at 2.5 M papers) and the
    # broadest categories' rows and bits (the first search of cs.LG read its 1 M rows: 0.3 s)
    built._row_of()
    with engine.connect() as conn:
        broadest = conn.execute(
            text(
                "SELECT category FROM paper_categories GROUP BY category "
                "ORDER BY count(*) DESC, category LIMIT :n"
            ),
            {"n": WARM_CATEGORIES},
        ).scalars()
        for category in list(broadest):
            built._member(conn, category)
    return built


def shared(engine: Engine, index: VectorIndex, folder: Path) -> Catalogue:
    """The catalogue saved in ``folder`` by this box's processes, mapped; built and saved first
    when there is none for this database and model, or it is stale (catalogue_files.py). Where
    files cannot be written, built and kept in this process."""
    source, built = f"{engine.url}|{index.model_name}", None
    try:
        with catalogue_files.held(folder):
            found = catalogue_files.load(folder, source)
            if found is not None:
                with engine.connect() as conn:
                    if not stale(conn, found, index):
                        return found
            built = build(engine, index)
            with engine.connect() as conn:
                for category in built.members:  # the broad ones' bit blocks, shared too
                    built._block(conn, category)
                listed = text("SELECT DISTINCT category FROM paper_categories")
                for category in conn.execute(listed).scalars():  # every category's rows: read
                    built.category_rows(conn, category)  # once a box, not once a process
            catalogue_files.write(folder, source, *catalogue_files.arrays_of(built))
            found = catalogue_files.load(folder, source)
            return built if found is None else found
    except OSError as exc:
        log.warning("filter catalogue not shared through %s (%s): kept here", folder, exc)
        return build(engine, index) if built is None else built


def stale(conn: Connection, catalogue: Catalogue, index: VectorIndex) -> bool:
    """Too old, or too many papers added (or vectors embedded) since it was built."""
    if time.monotonic() - catalogue.built > REFRESH_S:
        return True
    newest = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM papers")).scalar_one())
    return max(newest - catalogue.newest, len(index) - catalogue.vectors) > TAIL_MAX


class Catalogues:
    """The catalogue of each (database, model) this process searches, built in the background
    (``background=False``: built in the calling thread, as tests want)."""

    def __init__(self, *, background: bool = True) -> None:
        self.background = background
        self._lock = threading.Lock()
        self._ready: OrderedDict[tuple[str, str], Catalogue] = OrderedDict()
        self._building: set[tuple[str, str]] = set()
        self._failed: dict[tuple[str, str], float] = {}  # when a build last failed (monotonic)
        self._folders: dict[tuple[str, str], Path | None] = {}  # where it is shared, if it is

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
        if stale(conn, found, index):
            self._start(conn.engine, index, key)
            with self._lock:
                found = self._ready.get(key, found)
        return found

    def ready(self, engine: Engine, model: str) -> Catalogue | None:
        """The catalogue built for this database and model, if any (starts nothing)."""
        with self._lock:
            return self._ready.get((str(engine.url), model))

    def warm(self, engine: Engine, index: VectorIndex, folder: Path | None = None) -> None:
        """Start building the catalogue for this database and model if there is none yet (a web
        process calls this when its vector index opens, so the first filtered searches after a
        start need not wait for it); with a ``folder``, shared through files there."""
        key = (str(engine.url), index.model_name)
        with self._lock:
            self._folders.setdefault(key, folder)
            known = key in self._ready or key in self._building
        if not known:
            self._start(engine, index, key)

    def _start(self, engine: Engine, index: VectorIndex, key: tuple[str, str]) -> None:
        """Build in the background, unless a build is under way or one failed within
        :data:`RETRY_S` (every request that opens the index asks: a build that keeps failing,
        out of memory say, would otherwise read every paper again and again)."""
        with self._lock:
            failed = self._failed.get(key, -RETRY_S)
            if key in self._building or time.monotonic() - failed < RETRY_S:
                return
            self._building.add(key)
            folder = self._folders.get(key)

        def run() -> None:
            try:
                started = time.monotonic()
                catalogue = shared(engine, index, folder) if folder else build(engine, index)
                catalogue_files.give_back_freed_memory()
                took = time.monotonic() - started
                log.info("filter catalogue: %d papers in %.1f s", len(catalogue), took)
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
            self._folders.clear()


CATALOGUES = Catalogues()
