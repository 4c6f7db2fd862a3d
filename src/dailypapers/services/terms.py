"""The tf-idf index of the recent papers (``db.signals.TermIndex``, ``enrich.terms``), kept by the
background job that retrains the "For you" models.

:func:`refresh_term_index` fits a vocabulary on the titles and abstracts of the last
:data:`VOCABULARY_DAYS` days (at most :data:`VOCABULARY_PAPERS` papers, newest first) and stores the
tf-idf rows of the papers of the last :data:`WINDOW_DAYS` days (the request path's window, as
``embeddings.recent``); when papers arrive, the rows are rebuilt under the same vocabulary; the
vocabulary itself is fitted again after :data:`REFIT_DAYS` days of papers, and the models trained
on the old one are then retrained (``services.retrain.features_key``).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import Paper
from dailypapers.db.signals import TermIndex
from dailypapers.embeddings.recent import DAYS as WINDOW_DAYS
from dailypapers.enrich.terms import PaperTerms, fit_vocabulary, tokens
from dailypapers.ranking.sparse import Csr

VOCABULARY_DAYS = 90
VOCABULARY_PAPERS = 60_000
REFIT_DAYS = 7

__all__ = [
    "WINDOW_DAYS",
    "discard_term_index",
    "load_terms",
    "refresh_term_index",
    "stored_vocabulary",
    "term_rows",
]


def _text(title: str | None, abstract: str | None) -> str:
    return f"{title or ''}. {abstract or ''}"


def load_terms(session: Session) -> PaperTerms | None:
    """The newest stored index, or None (none built yet, or damaged)."""
    blob = session.scalar(select(TermIndex.data).order_by(TermIndex.id.desc()).limit(1))
    return PaperTerms.from_bytes(blob) if blob is not None else None


def stored_vocabulary(session: Session) -> str | None:
    """The digest of the newest stored index's vocabulary (None: no index), without its blob."""
    return session.scalar(select(TermIndex.vocabulary).order_by(TermIndex.id.desc()).limit(1))


def discard_term_index(engine: Engine) -> None:
    """Drop the stored index (a damaged one: the next :func:`refresh_term_index` builds it)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(TermIndex))


def refresh_term_index(engine: Engine, *, refit: bool = False) -> str:
    """Build the index when the recent papers changed (or ``refit``: a new vocabulary too);
    one aggregate query when nothing changed. Returns what it did, for the job's log."""
    with Session(engine) as session, session.begin():
        newest = session.scalar(select(func.max(Paper.announced_on)))
        if newest is None:
            return "no papers: no term index"
        since = newest - timedelta(days=WINDOW_DAYS - 1)
        live = (Paper.announced_on >= since, Paper.deleted_at.is_(None))
        count, top = session.execute(select(func.count(), func.max(Paper.id)).where(*live)).one()
        stamp = f"{newest.isoformat()}|{count}|{top}"
        row = session.execute(
            select(TermIndex.id, TermIndex.stamp, TermIndex.fitted_on)
            .order_by(TermIndex.id.desc())
            .limit(1)
        ).first()
        due = refit or row is None or (newest - row.fitted_on).days >= REFIT_DAYS
        if row is not None and row.stamp == stamp and not due:
            return "term index current"  # the blob is not read
        current = None
        if row is not None and not due:
            blob = session.scalar(select(TermIndex.data).where(TermIndex.id == row.id))
            current = PaperTerms.from_bytes(blob) if blob is not None else None
        if current is None or row is None:  # a new vocabulary (or the stored one is damaged)
            start = newest - timedelta(days=VOCABULARY_DAYS - 1)
            texts = session.execute(
                select(Paper.title, Paper.abstract)
                .where(Paper.announced_on >= start, Paper.deleted_at.is_(None))
                .order_by(Paper.id.desc())
                .limit(VOCABULARY_PAPERS)
            )
            vocabulary = fit_vocabulary(_text(t, a) for t, a in texts)
            fitted_on = newest
        else:
            vocabulary, fitted_on = current.vocabulary, row.fitted_on
        window = session.execute(
            select(Paper.id, Paper.title, Paper.abstract).where(*live).order_by(Paper.id)
        ).all()
        ids = np.array([pid for pid, _, _ in window], dtype=np.int64)
        matrix = vocabulary.transform(_text(t, a) for _, t, a in window)
        built = PaperTerms(vocabulary, ids, matrix)
        session.execute(delete(TermIndex))
        session.add(
            TermIndex(
                vocabulary=vocabulary.digest,
                fitted_on=fitted_on,
                stamp=stamp,
                built_at=utcnow(),
                data=built.to_bytes(),
            )
        )
    return f"term index: {len(ids)} papers, {len(vocabulary.terms)} terms"


def term_rows(session: Session, terms: PaperTerms, paper_ids: np.ndarray) -> Csr:
    """The tf-idf rows of any papers (in that order): from the index, and for papers older than it
    from their title and abstract under its vocabulary (the positives of an imported library)."""
    rows, found = terms.rows(paper_ids)
    if found.all():
        return rows
    missing = np.asarray(paper_ids, dtype=np.int64)[~found]
    texts = dict(
        (pid, _text(t, a))
        for pid, t, a in session.execute(
            select(Paper.id, Paper.title, Paper.abstract).where(Paper.id.in_(missing.tolist()))
        )
    )
    extra = terms.vocabulary.transform_tokens(
        (tokens(texts.get(int(pid), "")) for pid in missing), terms.lookup
    )
    # interleave: the found rows from the index, the others just computed, in the asked order
    order = np.empty(len(found), dtype=np.int64)
    order[found] = np.arange(int(found.sum()))
    order[~found] = int(found.sum()) + np.arange(len(missing))
    compact = Csr.stack([_compact(rows, found), extra])
    return compact.take(order)


def _compact(rows: Csr, keep: np.ndarray) -> Csr:
    return rows.take(np.flatnonzero(keep))
