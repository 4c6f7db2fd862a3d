"""Dense (semantic) ranking: the papers whose vectors are nearest a query vector, filtered correctly.

An approximate index cannot filter while it searches, so a filtered search is planned by how many
papers the filter leaves (:func:`filter_size`, from cached counts per category and per day; an
estimate only chooses the plan, never the answer):

* a narrow filter (at most :data:`EXACT_FILTER_MAX` papers) is searched exactly: on SQLite in a
  web process through its filter catalogue (:mod:`dailypapers.search.catalogue`: the filter's rows
  and their int8 codes in memory, exact counts too); until that is built, and in job workers and
  commands, which keep none, its papers' ids come from an index
  (:func:`~dailypapers.search.filters.filtered_ids`), their vectors in one batch, one product;
* a broad one over-fetches from the index, as many neighbours as the filter's share of papers
  needs to leave ``depth`` (times :data:`OVERFETCH_MARGIN`), and drops those outside the filter
  (with a catalogue, those its rows fail in memory first: ``Catalogue.kept_first``);
  short of ``depth`` it fetches four times more, and past :data:`MAX_OVERFETCH` settles it exactly.
  With a catalogue, a round that would ask for more than :data:`CATALOGUE_AFTER` neighbours goes
  to the catalogue instead: a query whose topic is far from a broad category (``neural radiance
  fields`` in cs.CL at 1 M) had climbed 792, 3,168, 12,672, 50,000 neighbours (0.5-0.8 s) to find
  100 that pass. (Jumping to the catalogue as soon as one round's share of passing papers
  predicts more was tried and is worse: the first ring's share underestimates a category that
  lies a little further out — ``lip reading from silent video`` in cs.LG passes at 1,936
  neighbours in ~20 ms, where cs.LG's 413 k rows in the catalogue took 165-530 ms; since the
  catalogue ranks them by sign bits first, ~11-14 ms of CPU: the threshold is not re-tuned yet.)

Results are therefore the true nearest papers that pass the filter, not merely the ones the index
happened to return. Deleted papers are always dropped here, whatever the index holds.

On PostgreSQL the index is the database (:class:`~dailypapers.vectors.pgvector.PgVectorIndex`). A
web process there keeps a filter catalogue too (built from pgvector's vectors), and once it is
built every filtered search goes through it, as on SQLite's narrow filters: the catalogue's
candidates (and the papers added since) have their vectors read by id in one statement, and the
exact cosines rank them. Job workers, commands and a web process until its catalogue is built put
the filter into the same query as the search: through the sign-bit codes of its category or
its days, whichever hold fewer papers, while those are not too many (:func:`codes_plan`,
:data:`CODES_FIRST_MAX`); else exact (every vector inside a narrow filter: narrower than on
SQLite, :data:`PG_EXACT_FACTOR`) or through the HNSW index with pgvector's iterative scan, which
reads on until ``depth`` papers pass the filter. Should either come back short, the exact query
settles it while the filter leaves at most :data:`EXACT_FILTER_MAX` papers. Past that
(no filter, a broad category) the index's answer stands: at 2.5 M papers a walk of the graph that
ended after 65 papers (a tight cluster of vectors) sent an unfiltered search to the exact query
over every vector, 7-8 s (``benchmarks/pg_search_profile.py``).

Measured at 1 M papers (benchmarks/search_latency.py, figures in its docstring; docs/PERFORMANCE.md):
a category filter took 2-5 s when every filtered search counted its papers and over-fetched eight
times over, round after round; arXiv's categories go with the query's topic, so a small one came
back short from the index again and again. Then 0.2-0.7 s at load 9 (p50-p95); with the catalogue
the dense half of a filtered search costs ~14-20 ms of CPU (benchmarks/search_profile.py).
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, text

from dailypapers.db.dialect import id_array
from dailypapers.db.engine import backend_of
from dailypapers.db.pg_vectors import CODES_CANDIDATES, Codes
from dailypapers.search.catalogue import CATALOGUES, RERANK, Catalogue
from dailypapers.search.filters import (
    SearchFilters,
    filter_sql,
    filtered_ids,
    kept_ids,
    passing_sql,
)
from dailypapers.vectors import VectorIndex, search_among
from dailypapers.vectors.base import matrix_of, top_k
from dailypapers.vectors.pgvector import PgVectorIndex

# A filter that leaves at most this many papers is searched exactly (their vectors fetched in one
# batch and one matrix product), anything wider by over-fetching from the index.
EXACT_FILTER_MAX = 60_000
# Neighbours over-fetched: depth / (the filter's share of papers) times this, so that about twice
# ``depth`` pass; short of ``depth``, four times more each round, up to MAX_OVERFETCH.
OVERFETCH_MARGIN = 2.0
OVERFETCH_GROWTH = 4
MAX_OVERFETCH = 50_000
# Past this many neighbours a round costs more than the catalogue's exact pass over a broad
# category's rows (1 M papers, 2 cores at load ~3: 12,672 neighbours ~0.1-0.3 s, 50,000 0.5-0.8 s;
# the catalogue's pass over cs.CL's 252,617 rows 0.11-0.26 s; benchmarks/filtered_dense.py). The
# catalogue's pass is now ~10× cheaper (sign bits first: benchmarks/catalogue_pass.py), so a lower
# threshold may pay; not measured on a real database yet.
CATALOGUE_AFTER = 10_000
# PostgreSQL searches a filter exactly only while that reads fewer vectors than the HNSW scan
# would: the exact query computes every passing paper's distance (cost ~ passing), the index scan
# reads on until ``depth`` pass (~ depth * papers / passing entries, more when the query's topic
# and the category part ways: arXiv's categories follow topics). Exact while passing ** 2 <=
# PG_EXACT_FACTOR * depth * papers: at depth 100 ~8,900 papers at 100 k, ~14,100 at 250 k,
# ~44,700 at 2.5 M (never above EXACT_FILTER_MAX). Measured exact vs index, ms (full_arxiv.py's
# databases): 100 k at load ~12: cs.LG (41 k) 700-1,000 vs 85-314, cs.RO (4.3 k) 184-230 vs
# 424-1,023, stat.ML (5.7 k) 92-102 vs 81-150, a year (6.7 k) 42-69 vs 41-49; 250 k at load ~1.5:
# eess.IV (10.8 k) with a language-model query 93-265 vs 282-490 (and recall@10 0.93), cs.RO
# (11 k) 95-98 vs 74-142, stat.ML (14 k) 105-109 vs 82-210, a year (21.8 k) 100-115 vs 17-21,
# 90 days (5.3 k) 24-39 vs 58-68.
PG_EXACT_FACTOR = 8.0
# PostgreSQL searches a filter through its papers' sign-bit codes (migrations 0017 and 0018) —
# its category's or its days', whichever holds fewer papers — while that holds at most
# CODES_FIRST_MAX papers and the filter leaves at least CODES_MIN: the codes' pass costs ~0.5 us a
# paper and the re-ranking ~30 ms (cs.CR's 83 k 80-140 ms, stat.ML's 142 k 90-190 ms at 2.5 M
# papers), where the exact query costs ~9 us a passing paper (p50 156 / p95 414 ms for the
# 20-45 k of a month or two at 2.5 M) and the HNSW index's iterative scan 20-200 ms for a query
# near a category, up to 1.8 s (50,000 entries read, 5 papers found) for one far from it.
# Broader categories (cs.LG, cs.AI, cs.CV, cs.CL: 25-41 % of papers, which the scan finds at
# once) keep the scan, and so do ranges of more than DAY_CODES_MAX papers: days do not follow
# topics, so the scan finds a wide range's papers at once (365 days, 248 k papers at 2.5 M: scan
# p50 32 ms, codes 150; 90 days, 61 k: 127 against 103; 30 days, 21 k: exact 104, codes 84).
# Below CODES_MIN the exact query is as cheap and exact. The rest of the filter must leave enough
# of the candidates (twice ``depth`` expected), and deeper pages than CODES_DEPTH_MAX would need
# more candidates than the pass re-ranks.
CODES_FIRST_MAX = 250_000
DAY_CODES_MAX = 120_000
CODES_MIN = 5_000
CODES_DEPTH_MAX = 500
# How long counts per category and per day are trusted (they only choose the plan).
COUNTS_TTL_S = 600.0

Vector = NDArray[np.float32]
# A floor known late: the dense half runs beside the keyword half, and the floor (the higher one
# when none of the query's words is in any paper) and the papers it spares (the keyword half's)
# are known when that one ends; asked once the neighbours are found (search/hybrid.py).
LateFloor = Callable[[], tuple[float, Collection[int]]]


class _FilterCounts:
    """Papers per category and per announce day, per database, recounted every COUNTS_TTL_S."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._categories: dict[tuple[str, str], tuple[float, int]] = {}
        self._days: dict[str, tuple[float, list[str], list[int]]] = {}

    def category(self, conn: Connection, category: str) -> int:
        key = (str(conn.engine.url), category)
        with self._lock:
            cached = self._categories.get(key)
        if cached is not None and time.monotonic() - cached[0] < COUNTS_TTL_S:
            return cached[1]
        count = int(
            conn.execute(
                text("SELECT count(*) FROM paper_categories WHERE category = :c"), {"c": category}
            ).scalar_one()
        )
        with self._lock:
            self._categories[key] = (time.monotonic(), count)
        return count

    def dated(self, conn: Connection, filters: SearchFilters) -> int:
        """Papers announced within the filter's dates (one cached count per day, summed)."""
        key = str(conn.engine.url)
        with self._lock:
            cached = self._days.get(key)
        if cached is None or time.monotonic() - cached[0] >= COUNTS_TTL_S:
            rows = conn.execute(
                text("SELECT announced_on, count(*) FROM papers GROUP BY announced_on ORDER BY 1")
            ).all()
            running, total = [], 0
            for _, count in rows:
                total += int(count)
                running.append(total)
            cached = (time.monotonic(), [str(r[0]) for r in rows], running)
            with self._lock:
                self._days[key] = cached
        _, days, running = cached
        low = bisect.bisect_left(days, filters.since.isoformat()) if filters.since else 0
        high = bisect.bisect_right(days, filters.until.isoformat()) if filters.until else len(days)
        if high <= low:
            return 0
        return running[high - 1] - (running[low - 1] if low else 0)

    def clear(self) -> None:
        with self._lock:
            self._categories.clear()
            self._days.clear()


COUNTS = _FilterCounts()


def filter_size(conn: Connection, filters: SearchFilters, papers: int) -> int:
    """About how many of ``papers`` pass ``filters``: the category's and the date range's counts,
    combined as if independent."""
    share = 1.0
    if filters.category:
        share *= min(1.0, COUNTS.category(conn, filters.category) / max(1, papers))
    if filters.since or filters.until:
        share *= min(1.0, COUNTS.dated(conn, filters) / max(1, papers))
    return math.ceil(share * papers)


def exact_ranking(
    conn: Connection, index: VectorIndex, query: Vector, filters: SearchFilters, depth: int
) -> list[int]:
    """The ``depth`` nearest papers among all those passing the filter, by exact cosine."""
    if filters.narrows:
        found, _ = search_among(index, query, filtered_ids(conn, filters), depth)
    else:
        where, params = filter_sql(conn, filters)
        ids = conn.scalars(text(f"SELECT p.id FROM papers p WHERE {' AND '.join(where)}"))
        found, _ = search_among(index, query, ids, depth)
    return [int(i) for i in found]


def dense_ranking(
    conn: Connection,
    index: VectorIndex,
    query: Vector,
    filters: SearchFilters | None = None,
    *,
    depth: int = 100,
    floor: float | LateFloor | None = None,
    beside: Collection[int] = (),
) -> list[int]:
    """The ids of the ``depth`` papers nearest ``query`` that pass ``filters``, nearest first;
    with ``floor``, only those whose similarity reaches it or that are ``beside`` (found by the
    query's words too: :func:`above_floor`). A :data:`LateFloor` is asked for both once the
    neighbours are found."""
    filters = filters or SearchFilters()
    if isinstance(index, PgVectorIndex):
        return _ranking_in_sql(conn, index, query, filters, depth, floor, beside)
    ids = _ranking_in_process(conn, index, query, filters, depth)
    if floor is None or not ids:
        return ids
    value, spared = resolved(floor, beside)
    return above_floor(index, query, ids, value, spared)


def resolved(floor: float | LateFloor, beside: Collection[int]) -> tuple[float, Collection[int]]:
    """The floor and the papers it spares (a :data:`LateFloor` asked now)."""
    return floor() if callable(floor) else (floor, beside)


def above_floor(
    index: VectorIndex, vector: Vector, ids: list[int], floor: float, beside: Collection[int] = ()
) -> list[int]:
    """``ids`` in order, without those whose cosine with ``vector`` is under ``floor`` unless
    they are ``beside``: the floor keeps papers unrelated to the query out of its results, and a
    paper the keyword half found is in them anyway; its rank by meaning still counts in the
    fusion (search_quality.py: at 3,000 papers MRR 0.809 -> 0.826)."""
    if not ids or floor <= -1.0:
        return ids
    found = index.vectors_for(ids)
    if not found:
        return []
    keys = list(found)
    scores = np.stack([found[i] for i in keys]) @ vector
    kept = {i for i, score in zip(keys, scores.tolist(), strict=True) if score >= floor}
    return [i for i in ids if i in kept or i in beside]


def _floored(
    ids: NDArray[np.int64],
    scores: NDArray[np.floating],
    floor: float | LateFloor | None,
    beside: Collection[int],
) -> NDArray[np.int64]:
    """``ids`` whose score reaches ``floor`` (in double, as :func:`above_floor` compares) or
    that are ``beside``."""
    if floor is None or not len(ids):
        return ids
    floor, beside = resolved(floor, beside)
    if floor <= -1.0:
        return ids
    kept = scores.astype(np.float64) >= floor
    if beside:
        kept |= np.isin(ids, np.fromiter(beside, np.int64, len(beside)))
    return ids[kept]


def _ranking_in_process(
    conn: Connection, index: VectorIndex, query: Vector, filters: SearchFilters, depth: int
) -> list[int]:
    """An index in the process (SQLite's): exact, through the catalogue, or over-fetching."""
    size = len(index)
    if size == 0:
        return []
    catalogue = None
    if not filters.narrows:
        k = min(size, depth + 16)
    else:
        catalogue = CATALOGUES.get(conn, index)  # None while the first is built
        if catalogue is not None:
            passing = catalogue.count(conn, filters)
            if passing <= EXACT_FILTER_MAX:
                return catalogue_ranking(conn, catalogue, index, query, filters, depth)
        else:
            passing = filter_size(conn, filters, size)
            if passing <= EXACT_FILTER_MAX:
                return exact_ranking(conn, index, query, filters, depth)
        passing = max(passing, 1)
        wanted = math.ceil(depth * size / passing * OVERFETCH_MARGIN)
        k = min(size, MAX_OVERFETCH, max(depth + 16, wanted))
    while True:
        ids, _ = index.search(query, k)
        found = [int(i) for i in ids]
        if catalogue is not None:  # those the catalogue's rows fail are not asked of the database
            kept = catalogue.kept_first(conn, found, filters, depth)
        else:
            kept = kept_ids(conn, found, filters)
        if len(kept) >= depth or k >= size:
            return kept[:depth]
        # still short: the next round would cost more than the catalogue's exact pass, or the
        # filter is narrower than it counted
        if catalogue is not None and (k >= MAX_OVERFETCH or k * OVERFETCH_GROWTH > CATALOGUE_AFTER):
            return catalogue_ranking(conn, catalogue, index, query, filters, depth)
        if k >= MAX_OVERFETCH:
            return exact_ranking(conn, index, query, filters, depth)
        k = min(size, MAX_OVERFETCH, k * OVERFETCH_GROWTH)


def codes_plan(conn: Connection, filters: SearchFilters, passing: int, depth: int) -> Codes | None:
    """PostgreSQL: the codes a filtered search reads first (the category's or the days', the
    fewer papers), or None (see CODES_FIRST_MAX)."""
    if depth > CODES_DEPTH_MAX or passing < CODES_MIN:
        return None
    options: list[tuple[int, Codes]] = []  # (papers, codes) of those not too broad
    if filters.category:
        rows = COUNTS.category(conn, filters.category)
        if rows <= CODES_FIRST_MAX:
            options.append((rows, Codes(category=filters.category)))
    if filters.since or filters.until:
        rows = COUNTS.dated(conn, filters)
        if rows <= DAY_CODES_MAX:
            options.append((rows, Codes(since=filters.since, until=filters.until)))
    if not options:
        return None
    rows, codes = min(options, key=lambda option: option[0])
    if passing * CODES_CANDIDATES < 2 * depth * rows:
        return None  # the rest of the filter would leave too few of the candidates
    return codes


def _ranking_in_sql(
    conn: Connection,
    index: PgVectorIndex,
    query: Vector,
    filters: SearchFilters,
    depth: int,
    floor: float | LateFloor | None = None,
    beside: Collection[int] = (),
) -> list[int]:
    """PostgreSQL: the filter inside the nearest-neighbour query (see the module docstring); the
    floor on the similarities the query computed (no second read of the vectors)."""
    if filters.narrows:
        catalogue = CATALOGUES.get(conn, index)  # a web process's, once built
        if catalogue is not None:
            return catalogue_ranking(
                conn, catalogue, index, query, filters, depth, floor=floor, beside=beside
            )
    where, params = filter_sql(conn, filters)
    exact = False
    among = None
    codes = None  # whose sign-bit codes pick the candidates
    passing = None  # papers passing the filter: counted only when it chooses something
    if filters.narrows:
        papers = len(index)
        passing = filter_size(conn, filters, papers)
        codes = codes_plan(conn, filters, passing, depth)
        bound = min(EXACT_FILTER_MAX, math.sqrt(PG_EXACT_FACTOR * depth * papers))
        exact = codes is None and passing <= bound
        among, passing_params = passing_sql(conn, filters)
        params = {**params, **passing_params}
    if codes is not None:  # the codes hold their category or days: the rest of the filter is left
        if codes.category is not None:
            rest, rest_params = filter_sql(conn, replace(filters, category=None))
        else:
            rest, rest_params = filter_sql(conn, replace(filters, since=None, until=None))
        ids, scores = index.search_where(conn, query, rest, rest_params, depth, codes=codes)
    else:
        ids, scores = index.search_where(
            conn, query, where, params, depth, exact=exact, among=among
        )
    if len(ids) < depth and not exact:
        # the scan stopped short: the exact answer, while reading every passing vector is cheap
        if (len(index) if passing is None else passing) <= EXACT_FILTER_MAX:
            ids, scores = index.search_where(
                conn, query, where, params, depth, exact=True, among=among
            )
    return [int(i) for i in _floored(ids, scores, floor, beside)]


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
    *,
    floor: float | LateFloor | None = None,
    beside: Collection[int] = (),
) -> list[int]:
    """The ``depth`` papers nearest ``query`` among those passing ``filters``, exact cosines;
    with ``floor``, only those whose similarity reaches it or that are ``beside`` (the cosines
    computed here: on PostgreSQL the vectors are not read twice)."""
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
    found, scores = top_k(keys, matrix @ query, depth * 2)
    found = _floored(found, scores, floor, beside)
    return catalogue.kept_first(conn, [int(i) for i in found], filters, depth)[:depth]
