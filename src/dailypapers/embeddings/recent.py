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
the cache's rows in place (``ranking.recommend.UserModel.rank``'s ``rows``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, PaperEmbedding
from dailypapers.db.signals import TermIndex
from dailypapers.embeddings.store import vectors_where
from dailypapers.enrich.terms import PaperTerms
from dailypapers.ranking.sparse import Csr

DAYS = 35  # the API's `days` goes up to 31; a week's page before the newest day fits too


def _url(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.url if isinstance(bind, Engine) else bind.engine.url)


class RecentTerms:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[str, int] | None = None
        self._terms: PaperTerms | None = None

    def get(self, session: Session) -> PaperTerms | None:
        """The newest stored tf-idf index (None: none built yet)."""
        newest = session.scalar(select(func.max(TermIndex.id)))
        if newest is None:
            return None
        key = (_url(session), int(newest))
        with self._lock:
            if key != self._key:
                blob = session.scalar(select(TermIndex.data).where(TermIndex.id == newest))
                self._terms = PaperTerms.from_bytes(blob) if blob is not None else None
                self._key = key
            return self._terms


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


class RecentVectors:
    def __init__(self) -> None:
        self.terms = RecentTerms()
        self._lock = threading.Lock()
        self._key: tuple[str, str, int, date] | None = None
        self._ids = np.zeros(0, dtype=np.int64)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self.since: date | None = None
        # the tf-idf rows lined up with _ids, for the (ids, index) pair they were made for
        self._aligned: tuple[np.ndarray, PaperTerms, Csr, np.ndarray] | None = None

    def get(self, session: Session, model: str) -> tuple[np.ndarray, np.ndarray, date | None]:
        """(sorted paper ids, their vectors, first day covered) for ``model``, current."""
        newest = session.scalar(select(func.max(Paper.announced_on)))
        watermark = session.scalar(select(func.max(PaperEmbedding.id))) or 0
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
    ) -> CachedRows | None:
        """Where those of ``paper_ids`` that have a vector are in the cache, or None when the
        window is older than the cache covers: when a paper is missing, ``oldest()`` (the
        window's first day) tells a paper without a vector yet from one too old for the cache.
        With ``terms``, the cache's tf-idf rows under that index too."""
        ids, vectors, since = self.get(session, model)
        if since is None:
            return None
        wanted = np.sort(paper_ids)
        where = np.minimum(np.searchsorted(ids, wanted), max(len(ids) - 1, 0))
        hit = (ids[where] == wanted) if len(ids) else np.zeros(len(wanted), dtype=bool)
        if not hit.all():
            first = oldest()
            if first is None or first < since:
                return None
        if terms is None:
            return CachedRows(wanted[hit], where[hit], vectors)
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
        return CachedRows(wanted[hit], where[hit], vectors, aligned[2], aligned[3])
