""" "For you": rank a feed's papers with a user's stored model (requests).

Training is a background job's (``services.retrain``): the request path (:func:`recommend`)
never trains. It reads the stored model, the candidates' ids (one statement, or the process's
cache of them while the data is unchanged), their vectors and tf-idf rows from the process's
caches (``embeddings.recent``) and ranks the page and those before it (``UserModel.top``: the
rest of the order is never built) — ~20 ms of CPU for 25,000 papers.

Cold start (fewer than ``MIN_POSITIVES`` positives, or no model yet): papers in the user's
categories (their digest's and their papers') first, then by upvotes; the page says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, Row, and_, case, false, func, null, select
from sqlalchemy.orm import Session

from dailypapers.db.dialect import id_array
from dailypapers.db.models import Paper, PaperCategory, Subscription, User
from dailypapers.db.signals import UserModel
from dailypapers.embeddings.recent import CachedRows, Marks, RecentVectors
from dailypapers.embeddings.store import vectors_where
from dailypapers.enrich.terms import PaperTerms
from dailypapers.ranking.recommend import MIN_POSITIVES
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.services.signals import TrainingSignals, training_signals
from dailypapers.services.terms import load_terms

FOR_YOU_DAYS = 7  # the For you tab ranks the papers of the last week
STARTERS = 6  # cold start: a few diverse papers to mark "more like this"
State = Literal["ready", "cold", "training"]


@dataclass(frozen=True, slots=True)
class ForYou:
    """One page of a user's ranking of some papers."""

    papers: list[Paper]
    total: int
    state: State
    positives: int
    reasons: dict[int, list[Paper]] = field(default_factory=dict)  # paper id -> own papers
    all_seen: bool = False  # every candidate already has a signal from the user
    stale: bool = False  # signals changed since the model was trained (it is being retrained)
    terms: dict[int, list[str]] = field(default_factory=dict)  # paper id -> words that weighed
    also: list[Paper] = field(default_factory=list)  # the papers of ``also`` (found ones)


def user_categories(session: Session, user: User, signals: TrainingSignals) -> list[str]:
    """The categories the user follows: their digest's, then their papers' most common."""
    chosen: list[str] = []
    subscribed = session.scalar(
        select(Subscription.categories).where(Subscription.email == user.email.lower())
    )
    chosen.extend((subscribed or "").split())
    if signals.positives:
        rows = session.execute(
            select(PaperCategory.category, func.count())
            .where(PaperCategory.paper_id.in_(list(signals.positives)[:2000]))
            .group_by(PaperCategory.category)
            .order_by(func.count().desc(), PaperCategory.category)
            .limit(5)
        )
        chosen.extend(c for c, _ in rows if c not in chosen)
    return chosen


def _cold_order(
    session: Session, where: list[ColumnElement[bool]], categories: list[str], exclude: set[int]
) -> list[int]:
    """Candidates in the user's categories first, then the rest; each by upvotes, newest first."""
    rows = session.execute(
        select(Paper.id)
        .where(*where)
        .order_by(Paper.upvotes.desc(), Paper.announced_on.desc(), Paper.arxiv_id.desc())
    ).all()
    ids = [pid for (pid,) in rows if pid not in exclude]
    if not categories:
        return ids
    inside = (
        set(
            session.scalars(
                select(PaperCategory.paper_id).where(
                    PaperCategory.paper_id.in_(ids), PaperCategory.category.in_(categories)
                )
            )
        )
        if len(ids) <= 30_000
        else set()
    )
    return [p for p in ids if p in inside] + [p for p in ids if p not in inside]


def recommend(
    session: Session,
    user: User,
    where: list[ColumnElement[bool]],
    *,
    limit: int = 30,
    offset: int = 0,
    recent: RecentVectors | None = None,
    signals: TrainingSignals | None = None,
    also: Sequence[int] = (),
) -> ForYou:
    """The papers matching ``where`` (a feed's clauses) ranked for ``user``, one page of them,
    each with the user's own papers nearest to it. Papers the user already gave a signal on are
    left out. Never trains: without a usable model, the cold-start order. ``recent``: the
    process's cache of the newest papers' vectors and tf-idf (``Runtime.recent_vectors``); without
    it both are read from the database (the same ranking, slower). Where the model uses tf-idf,
    ``terms`` names the words that weighed most for each paper of the page. ``signals``: the
    user's, when the caller has read them already (``for_you``). ``also``: papers to read with
    the page's (``ForYou.also``: ``for_you``'s followed authors' papers)."""
    signals = signals if signals is not None else training_signals(session, user.id)
    kept = recent.models.version(session, user.id) if recent is not None else None
    row = _model_state(session, user.id, kept)  # the blob only when not kept
    model = _model(session, user.id, row, recent)
    stale = row is not None and row.trained_version != row.signals_version
    outdated = row is not None and row.has_model and model is None  # an old format
    touched = np.fromiter(signals.touched, dtype=np.int64, count=len(signals.touched))
    page_ids: list[int] | None = None
    total = 0
    page_vectors: dict[int, np.ndarray] = {}
    words: dict[int, list[str]] = {}
    if model is not None:
        # Core, ids straight from the driver (no ORM rows for 25,000 ids); with the process's
        # cache, kept until the data changes (db/id_cache.py)
        statement = select(Paper.id).where(*where)
        marks = recent.marks(session) if recent is not None else None  # before the ids
        if recent is not None and marks is not None:
            candidates = recent.candidates.ids(session, statement, marks.changes)
        else:
            candidates = id_array(session.connection(), statement)
        terms = _terms_for(session, model, recent, marks)
        found = None
        if recent is not None and len(candidates):
            found = recent.lookup(
                session,
                model.embedding_model,
                candidates,
                lambda: session.scalar(select(func.min(Paper.announced_on)).where(*where)),
                terms,
                marks,
            )
        if len(touched):
            candidates = candidates[~np.isin(candidates, touched)]
            found = found.without(touched) if found is not None else None
        if found is None:  # no cache, or an older window than it holds: from the database
            ids, vectors = vectors_where(session, model.embedding_model, *where)
            if len(ids) and len(touched):
                keep = ~np.isin(ids, touched)
                ids, vectors = ids[keep], vectors[keep]
            rows, known = terms.rows(ids) if terms is not None else (None, None)
            found = CachedRows(ids, np.arange(len(ids)), vectors, rows, known)
        ids = found.ids
        if len(ids) == 0 or found.vectors.shape[1] == model.dim:
            # the page and those before it: the rest of the order is never built
            order = (
                model.top(
                    found.vectors, found.terms, found.known, found.rows, count=offset + limit
                )[0]
                if len(ids)
                else np.zeros(0, np.int64)
            )
            chosen = order[offset : offset + limit]
            page_ids = ids[chosen].tolist()
            total = len(ids)
            page_vectors = {int(ids[i]): found.vectors[found.rows[i]] for i in chosen}
            if terms is not None and found.terms is not None and len(chosen):
                names = model.words(found.terms.take(found.rows[chosen]), terms.vocabulary.terms)
                words = {int(ids[i]): w for i, w in zip(chosen, names, strict=True) if w}
            if len(ids) < len(candidates):  # no vector yet (just ingested): after, by upvotes
                absent = found.absent
                unscored = set(
                    (np.setdiff1d(candidates, ids) if absent is None else absent).tolist()
                )
                total += len(unscored)
                if offset + limit > len(ids):
                    tail = [p for p in _by_upvotes(session, where) if p in unscored]
                    page_ids += tail[max(offset - len(ids), 0) : offset + limit - len(ids)]
    if page_ids is None:  # cold start, or a model of another embedding model (retraining)
        ranked = _cold_order(
            session, where, user_categories(session, user, signals), signals.touched
        )
        page_ids, total = ranked[offset : offset + limit], len(ranked)
        waiting = (stale or outdated) and len(signals.positives) >= MIN_POSITIVES
        state: State = "training" if waiting else "cold"  # trained, yet no model: cold start
    else:
        state = "ready"
    nearest = _nearest(model, page_ids, page_vectors) if model is not None else {}
    # the page's papers and the user's papers its reasons name: one statement
    wanted = [*page_ids, *{pid for pairs in nearest.values() for pid, _ in pairs}, *also]
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(wanted)))}
    papers = [by_id[i] for i in page_ids if i in by_id]
    reasons = {
        p.id: [by_id[pid] for pid, _ in nearest[p.id] if pid in by_id]
        for p in papers
        if p.id in nearest
    }
    all_seen = not total and bool(session.scalar(select(func.count(Paper.id)).where(*where)))
    return ForYou(
        papers,
        total,
        state,
        len(signals.positives),
        reasons,
        all_seen,
        stale,
        words,
        [by_id[i] for i in also if i in by_id],
    )


ModelState = Row[int, int, int, datetime | None, bool, bytes | None]


def _model_state(
    session: Session, user_id: int, kept: tuple[int, datetime | None] | None
) -> ModelState | None:
    """The user's model's row, in one statement: its versions, and the model itself (a ~470 KB
    blob for 500 papers) unless it is the one ``kept`` names (model version, trained at)."""
    unchanged = (
        and_(UserModel.model_version == kept[0], UserModel.trained_at == kept[1])
        if kept is not None and kept[1] is not None
        else false()
    )
    return session.execute(
        select(
            UserModel.signals_version,
            UserModel.trained_version,
            UserModel.model_version,
            UserModel.trained_at,
            UserModel.model.is_not(None).label("has_model"),
            case((unchanged, null()), else_=UserModel.model).label("blob"),
        ).where(UserModel.user_id == user_id)
    ).first()


def _model(
    session: Session, user_id: int, row: ModelState | None, recent: RecentVectors | None
) -> Model | None:
    """The user's stored model, parsed (None: none, or of an old format): the process's kept one
    while its version is the same (the row came without the blob), else the row's."""
    if row is None or not row.has_model:
        return None
    key = (row.model_version, row.trained_at)
    blob = row.blob
    if blob is None and recent is not None:
        kept = recent.models.get(session, user_id, key)
        if kept is not None:
            return kept[0]
    if blob is None:  # let go by another request meanwhile: read it
        blob = session.scalar(select(UserModel.model).where(UserModel.user_id == user_id))
    model = Model.from_bytes(blob) if blob else None
    if recent is not None and blob:
        recent.models.keep(session, user_id, key, model, len(blob))
    return model


def _terms_for(
    session: Session, model: Model, recent: RecentVectors | None, marks: Marks | None = None
) -> PaperTerms | None:
    """The tf-idf index the model was trained under, or None (a model of embeddings alone, or
    the index was fitted again and the model waits for its retraining)."""
    if not model.term_weights.size:
        return None
    terms = recent.terms.get(session, marks) if recent is not None else load_terms(session)
    if terms is None or terms.vocabulary.digest != model.vocabulary:
        return None
    return terms


def _by_upvotes(session: Session, where: list[ColumnElement[bool]]) -> list[int]:
    return list(
        session.execute(
            select(Paper.id)
            .where(*where)
            .order_by(Paper.upvotes.desc(), Paper.announced_on.desc(), Paper.arxiv_id.desc())
        ).scalars()
    )


def _nearest(
    model: Model, page_ids: list[int], vectors: dict[int, np.ndarray]
) -> dict[int, list[tuple[int, float]]]:
    """For each paper of the page with a vector, the user's papers nearest to it (id, cosine)."""
    shown = [i for i in page_ids if i in vectors]
    if not shown:
        return {}
    pairs = model.reasons(np.stack([vectors[i] for i in shown]))
    return dict(zip(shown, pairs, strict=True))


def recent_window(session: Session, days: int) -> tuple[date, date] | None:
    """The last ``days`` days up to the newest announce date (the For you tab, the API)."""
    newest = session.scalar(select(func.max(Paper.announced_on)))
    if newest is None:
        return None
    return newest - timedelta(days=days - 1), newest


def starter_papers(
    session: Session, user: User, period_where: list[ColumnElement[bool]]
) -> list[Paper]:
    """A short, diverse list to start from: the most upvoted paper of each of the period's most
    common categories (primary categories), leaving out papers the user already marked."""
    touched = training_signals(session, user.id).touched
    rows = session.execute(
        select(Paper.id, Paper.primary_category)
        .where(*period_where)
        .order_by(Paper.upvotes.desc(), Paper.announced_on.desc(), Paper.arxiv_id.desc())
        .limit(5000)
    ).all()
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for pid, category in rows:
        counts[category] = counts.get(category, 0) + 1
        if pid not in touched:
            first.setdefault(category, pid)
    common = sorted((c for c in first), key=lambda c: -counts[c])[:STARTERS]
    ids = [first[c] for c in common]
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]
