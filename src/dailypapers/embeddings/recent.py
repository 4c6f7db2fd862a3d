"""The vectors of the newest papers, kept in memory for "For you" rankings in the request path.

Reading ~10,000 vector blobs from SQLite for each ranked page took 50 ms on a quiet machine and
seconds on a busy one; the For you tab, ``sort=for_you`` on recent pages and the API rank the
same recent papers again and again. :class:`RecentVectors` holds (paper ids, vectors) of the
papers announced in the last :data:`DAYS` days before the newest announce date, under one model,
and reloads them (through ``store.vectors_where``: portable SQL) when ``paper_embeddings``' highest
row id moves — every write of a vector gets a new row id — or the newest day changes. One
indexed ``max`` per request checks it. Deleted papers need no watch: callers intersect with the
ids their own query found. Older windows read from the database (``store.vectors_where``).

:class:`RecentTerms` (``RecentVectors.terms``) holds the tf-idf index of the recent papers
(``db.signals.TermIndex``, built by the background job), reloaded when a new one is stored (one
indexed ``max`` per request).

:meth:`RecentVectors.lookup` is the request path's way in: where the candidates are in the cache
(their row numbers, no copy of their vectors) and the cache's tf-idf rows lined up with its
vectors (made once per vectors-and-index pair, not per request), so a ranking scores a run of
the cache's rows in place (``ranking.recommend.UserModel.rank``'s ``rows``). Its answer for the
candidates :attr:`RecentVectors.candidates` keeps (``db/id_cache.py``: a feed's ids, until the
data changes) is kept too, while the vectors and the index are the same.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from dailypapers.db.engine import backend_of
from dailypapers.db.id_cache import Changes, IdCache
from dailypapers.db.models import Paper, PaperEmbedding
from dailypapers.db.signals import TermIndex
from dailypapers.embeddings.store import vectors_where
from dailypapers.enrich.terms import PaperTerms
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.ranking.sparse import Csr

DAYS = 35  # the API's `days` goes up to 31; a week's page before the newest day fits too
LOOKUPS = 16  # lookup's answers kept (as many as the candidates' cache keeps)
MODEL_BYTES = 32 << 20  # users' models kept, by their stored size (~470 KB for 500 papers)
ModelVersion = tuple[int, datetime | None]  # user_models' (model_version, trained_at)


def _url(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.url if isinstance(bind, Engine) else bind.engine.url)


class Marks(NamedTuple):
    """What tells the caches whether they are current, read in one statement
    (:meth:`RecentVectors.marks`): the newest announce date, the highest vector row id, the
    newest tf-idf index's id, and on PostgreSQL the data's change numbers (``db/id_cache.py``)."""

    newest: date | None
    vectors: int
    term_index: int | None
    changes: Changes | None


class RecentTerms:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._terms: PaperTerms | None = None

    def get(self, session: Session, marks: Marks | None = None) -> PaperTerms | None:
        """The newest stored tf-idf index (None: none built yet); ``marks``: read already."""
        newest = (
            marks.term_index
            if marks is not None
            else session.scalar(select(func.max(TermIndex.id)))
        )
        if newest is None:
            return None
        key = (_url(session), int(newest))
        with self._lock:
            if key != self._key:
                blob = session.scalar(select(TermIndex.data).where(TermIndex.id == newest))
                self._terms = PaperTerms.from_bytes(blob) if blob is not None else None
                self._key = key
            return self._terms


class KeptModels:
    """Users' parsed models (``ranking.recommend.UserModel``), each under its row's
    ``(model_version, trained_at)`` (migration 0016: the version moves with every model stored),
    the most recently used first, up to :data:`MODEL_BYTES` of stored models: a request's read
    of the row (one statement either way) brings the blob (~470 KB for 500 papers: ~3 ms of CPU
    and ~6 ms of wall time at load 6 on PostgreSQL, 2026-12-03) only when the model changed."""

    def __init__(self, budget: int | None = None) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple[str, int], tuple[ModelVersion, Model | None, int]] = (
            OrderedDict()
        )
        self._budget = MODEL_BYTES if budget is None else budget
        self._bytes = 0
        self.kept = 0  # models stored here (read and parsed; the tests count them)

    def get(
        self, session: Session, user_id: int, version: ModelVersion
    ) -> tuple[Model | None] | None:
        """(the model,) kept for the user under ``version`` (None in it: of an old format), or
        None: none kept under it."""
        with self._lock:
            kept = self._kept.get((_url(session), user_id))
            if kept is None or kept[0] != version:
                return None
            self._kept.move_to_end((_url(session), user_id))
            return (kept[1],)

    def version(self, session: Session, user_id: int) -> ModelVersion | None:
        """The version the user's model is kept under, or None."""
        with self._lock:
            kept = self._kept.get((_url(session), user_id))
            return kept[0] if kept is not None else None

    def keep(
        self,
        session: Session,
        user_id: int,
        version: ModelVersion,
        model: Model | None,
        size: int,
    ) -> None:
        with self._lock:
            key = (_url(session), user_id)
            old = self._kept.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._kept[key] = (version, model, size)
            self._bytes += size
            self.kept += 1
            while self._bytes > self._budget and len(self._kept) > 1:
                _, (_, _, gone) = self._kept.popitem(last=False)
                self._bytes -= gone


@dataclass(frozen=True, slots=True)
class CachedRows:
    """Candidates found in the cache: ``vectors[rows]`` are their vectors (``rows`` increasing,
    ``ids`` the papers, in id order); ``terms`` / ``known``: the cache's tf-idf rows, one per row
    of ``vectors``, and which of them the index had (None: no index asked for)."""

    ids: np.ndarray
    rows: np.ndarray
    vectors: np.ndarray
    terms: Csr | None = None
    known: np.ndarray | None = None
    absent: np.ndarray | None = None  # the asked-for papers not in the cache (no vector yet)

    def without(self, paper_ids: np.ndarray) -> CachedRows:
        """These rows less the given papers (and ``absent`` less them)."""
        keep = ~np.isin(self.ids, paper_ids)
        absent = self.absent
        if absent is not None and len(absent):
            absent = absent[~np.isin(absent, paper_ids)]
        return replace(self, ids=self.ids[keep], rows=self.rows[keep], absent=absent)


class RecentVectors:
    def __init__(self) -> None:
        self.terms = RecentTerms()
        self.candidates = IdCache()  # the feeds' candidate ids, per data version
        self.models = KeptModels()  # users' parsed models, per model version
        self._lock = threading.Lock()
        self._key: tuple[str, str, int, date] | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.since: date | None = None
        # the tf-idf rows lined up with _ids, for the (ids, index) pair they were made for
        self._aligned: tuple[np.ndarray, PaperTerms, Csr, np.ndarray] | None = None
        # lookup's answers for the arrays it was given (the candidates' cache's, kept: their
        # identity is theirs), while the cache and the index are the same
        self._found: dict[int, tuple[np.ndarray, np.ndarray, object, CachedRows | None]] = {}

    def marks(self, session: Session) -> Marks:
        """The caches' watermarks now, one round trip (four statements before)."""
        columns: list[Any] = [
            select(func.max(Paper.announced_on)).scalar_subquery(),
            select(func.max(PaperEmbedding.id)).scalar_subquery(),
            select(func.max(TermIndex.id)).scalar_subquery(),
        ]
        if backend_of(session) == "postgresql":
            columns.append(text("(SELECT sum(version) FROM data_changes)"))
            columns.append(text("(SELECT sum(papers) FROM data_changes)"))
        row = session.execute(select(*columns)).one()
        changes = None
        if len(row) > 3 and row[3] is not None and row[4] is not None:
            changes = Changes(int(row[3]), int(row[4]))
        return Marks(row[0], int(row[1] or 0), row[2], changes)

    def get(
        self, session: Session, model: str, marks: Marks | None = None
    ) -> tuple[np.ndarray, np.ndarray, date | None]:
        """(sorted paper ids, their vectors, first day covered) for ``model``, current;
        ``marks``: read already."""
        if marks is None:
            newest = session.scalar(select(func.max(Paper.announced_on)))
            watermark = session.scalar(select(func.max(PaperEmbedding.id))) or 0
        else:
            newest, watermark = marks.newest, marks.vectors
        if newest is None:
            return self._ids[:0], self._vectors[:0], None
        key = (_url(session), model, int(watermark), newest)
        with self._lock:
            if key != self._key:
                since = newest - timedelta(days=DAYS - 1)
                ids, vectors = vectors_where(session, model, Paper.announced_on >= since)
                order = np.argsort(ids, kind="stable")
                self._ids, self._vectors, self.since = ids[order], vectors[order], since
                self._key = key
            return self._ids, self._vectors, self.since

    def lookup(
        self,
        session: Session,
        model: str,
        paper_ids: np.ndarray,
        oldest: Callable[[], date | None],
        terms: PaperTerms | None = None,
        marks: Marks | None = None,
    ) -> CachedRows | None:
        """Where those of ``paper_ids`` that have a vector are in the cache, or None when the
        window is older than the cache covers: when a paper is missing, ``oldest()`` (the
        window's first day) tells a paper without a vector yet from one too old for the cache.
        With ``terms``, the cache's tf-idf rows under that index too. The answer for an array of
        :class:`IdCache` (read-only, its own data) is kept while the cache and the index are the
        same: the next request for those candidates pays no sort or search (~2 ms at 25k)."""
        ids, vectors, since = self.get(session, model, marks)
        with self._lock:
            kept = self._found.get(id(paper_ids))
        if kept is not None and kept[0] is paper_ids and kept[1] is ids and kept[2] is terms:
            return kept[3]
        found = self._lookup(ids, vectors, since, paper_ids, oldest, terms)
        if paper_ids.base is None and not paper_ids.flags.writeable:  # IdCache's: kept as is
            with self._lock:
                # answers for older vectors or another index go: they would hold those (~40 MB
                # of vectors, ~80 MB of tf-idf rows at all of arXiv's scale) in memory
                for old in [
                    k for k, v in self._found.items() if v[1] is not ids or v[2] is not terms
                ]:
                    del self._found[old]
                if len(self._found) >= LOOKUPS:
                    self._found.clear()
                self._found[id(paper_ids)] = (paper_ids, ids, terms, found)
        return found

    def _lookup(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        since: date | None,
        paper_ids: np.ndarray,
        oldest: Callable[[], date | None],
        terms: PaperTerms | None,
    ) -> CachedRows | None:
        if since is None:
            return None
        wanted = np.sort(paper_ids)
        where = np.minimum(np.searchsorted(ids, wanted), max(len(ids) - 1, 0))
        hit = (ids[where] == wanted) if len(ids) else np.zeros(len(wanted), dtype=bool)
        if not hit.all():
            first = oldest()
            if first is None or first < since:
                return None
        absent = wanted[~hit]
        if terms is None:
            return CachedRows(wanted[hit], where[hit], vectors, absent=absent)
        with self._lock:
            aligned = self._aligned
            if aligned is None or aligned[0] is not ids or aligned[1] is not terms:
                if len(terms.ids) == len(ids) and np.array_equal(terms.ids, ids):
                    # the usual case (every recent paper has a vector and a row): the index's
                    # own rows, no copy (at all of arXiv's scale they are ~80 MB)
                    rows, known = terms.matrix, np.ones(len(ids), dtype=bool)
                else:
                    rows, known = terms.rows(ids)
                aligned = self._aligned = (ids, terms, rows, known)
        return CachedRows(wanted[hit], where[hit], vectors, aligned[2], aligned[3], absent)
