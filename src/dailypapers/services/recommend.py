""" "For you": train a user's model (a background job) and rank a feed's papers with it (requests).

Training (:func:`retrain_stale`, the ``retrain_models`` Huey task every minute) reads the user's
signals (``signals.py``), their papers' vectors under the serving embedding model and a sample of
recent papers they have not touched, fits ``ranking.recommend`` and stores the model with the
signals version it saw. The request path (:func:`recommend`) never trains: it reads the stored
model, the candidates' vectors (one statement) and ranks — a few milliseconds for a week.

Cold start (fewer than ``MIN_POSITIVES`` positives, or no model yet): papers in the user's
categories (their digest's and their papers') first, then by upvotes; the page says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import ColumnElement, Engine, func, or_, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import Paper, PaperCategory, Subscription, User
from dailypapers.db.signals import UserModel
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.embeddings.store import vectors_of, vectors_where
from dailypapers.ranking.recommend import DEFAULT, MIN_POSITIVES, Signals, train
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.services.signals import TrainingSignals, training_signals
from dailypapers.vectors.live import serving_model

log = logging.getLogger(__name__)
BACKGROUND_DAYS = 28  # sampled negatives come from the papers of these last days
FOR_YOU_DAYS = 7  # the For you tab ranks the papers of the last week
STARTERS = 6  # cold start: a few diverse papers to mark "more like this"
RETRAIN_BATCH = 500  # users trained per job run at most (the next run goes on)
State = Literal["ready", "cold", "training"]


def _sample_background(
    session: Session, model: str, touched: set[int], seed: int, size: int
) -> np.ndarray:
    newest = session.scalar(select(func.max(Paper.announced_on)))
    if newest is None:
        return np.zeros((0, 0), dtype=np.float32)
    ids = [
        pid
        for pid in session.scalars(
            select(Paper.id).where(
                Paper.announced_on >= newest - timedelta(days=BACKGROUND_DAYS - 1),
                Paper.deleted_at.is_(None),
            )
        )
        if pid not in touched
    ]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.array(ids, dtype=np.int64), min(size, len(ids)), replace=False)
    return vectors_of(session, model, chosen.tolist())[1]


def train_user(session: Session, embedding_model: str, user_id: int) -> tuple[Model | None, int]:
    """The user's model from their signals now (None: cold start), and how many positives had
    no vector (deleted papers are no signal at all)."""
    signals = training_signals(session, user_id)
    pos_ids, positives = vectors_of(session, embedding_model, list(signals.positives))
    unembedded = len(signals.positives) - len(pos_ids)
    if len(pos_ids) < MIN_POSITIVES:
        return None, unembedded
    dim = positives.shape[1]
    negatives = vectors_of(session, embedding_model, signals.negatives)[1].reshape(-1, dim)
    background = _sample_background(
        session, embedding_model, signals.touched, user_id, DEFAULT.background
    ).reshape(-1, dim)
    weights = np.array(
        [DEFAULT.more_weight if signals.positives[int(p)] == "more" else 1.0 for p in pos_ids],
        dtype=np.float32,
    )
    model = train(
        Signals(pos_ids, positives, weights, negatives, background), embedding_model, DEFAULT
    )
    return model, unembedded


def retrain(
    engine: Engine, settings: Settings, user_id: int, embedding_model: str | None = None
) -> bool:
    """Train one user's model and store it (its own transaction); False when the user is gone."""
    model_name = embedding_model or serving_model(engine, settings.embedding_model)
    model_name = model_name or settings.embedding_model
    with Session(engine) as session, session.begin():
        row = session.get(UserModel, user_id)
        if row is None:
            return False
        version = row.signals_version
        model, unembedded = train_user(session, model_name, user_id)
        signals = training_signals(session, user_id)
        session.execute(
            update(UserModel)
            .where(UserModel.user_id == user_id)
            .values(
                trained_version=version,
                embedding_model=model_name,
                model=model.to_bytes() if model is not None else None,
                positives=len(signals.positives),
                negatives=len(signals.negatives),
                unembedded=unembedded,
                trained_at=utcnow(),
            )
        )
    return True


def retrain_stale(engine: Engine, settings: Settings, *, limit: int = RETRAIN_BATCH) -> int:
    """Retrain the models whose signals changed, that were trained under another embedding
    model, or that waited for vectors of some of their papers (retried hourly). The check is one
    indexed query; no stale model, no work."""
    model_name = serving_model(engine, settings.embedding_model) or settings.embedding_model
    hour_ago = utcnow() - timedelta(hours=1)
    with Session(engine) as session:
        stale = list(
            session.scalars(
                select(UserModel.user_id)
                .where(
                    or_(
                        UserModel.trained_version != UserModel.signals_version,
                        UserModel.embedding_model != model_name,
                        (UserModel.unembedded > 0) & (UserModel.trained_at < hour_ago),
                    )
                )
                .order_by(UserModel.user_id)
                .limit(limit)
            )
        )
    for user_id in stale:
        retrain(engine, settings, user_id, model_name)
    return len(stale)


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
) -> ForYou:
    """The papers matching ``where`` (a feed's clauses) ranked for ``user``, one page of them,
    each with the user's own papers nearest to it. Papers the user already gave a signal on are
    left out. Never trains: without a usable model, the cold-start order. ``recent``: the
    process's cache of the newest papers' vectors (``Runtime.recent_vectors``)."""
    signals = training_signals(session, user.id)
    row = session.get(UserModel, user.id)
    model = Model.from_bytes(row.model) if row is not None and row.model else None
    stale = row is not None and row.trained_version != row.signals_version
    touched = signals.touched
    ranked: list[int] | None = None
    page_vectors: dict[int, np.ndarray] = {}
    if model is not None:
        # the candidates, by upvotes: the order of those without a vector yet (just ingested)
        rows = session.execute(
            select(Paper.id, Paper.announced_on)
            .where(*where)
            .order_by(Paper.upvotes.desc(), Paper.announced_on.desc(), Paper.arxiv_id.desc())
        ).all()
        candidates = [pid for pid, _ in rows if pid not in touched]
        found = None
        if recent is not None and rows:
            oldest = min(day for _, day in rows)
            wanted = np.array(candidates, dtype=np.int64)
            found = recent.select(session, model.embedding_model, wanted, oldest)
        if found is None:  # an older window than the cache holds: from the database
            found = vectors_where(session, model.embedding_model, *where)
        ids, vectors = found
        if len(ids) and touched:
            keep = ~np.isin(ids, np.array(sorted(touched), dtype=np.int64))
            ids, vectors = ids[keep], vectors[keep]
        if len(ids) == 0 or vectors.shape[1] == model.dim:
            order = model.rank(vectors)[0] if len(ids) else np.zeros(0, np.int64)
            ranked = ids[order].tolist()
            chosen = order[offset : offset + limit]
            page_vectors = {int(ids[i]): vectors[i] for i in chosen}
            scored = set(ranked)
            ranked += [pid for pid in candidates if pid not in scored]
    if ranked is None:  # cold start, or a model of another embedding model (retraining)
        ranked = _cold_order(session, where, user_categories(session, user, signals), touched)
        waiting = stale and len(signals.positives) >= MIN_POSITIVES
        state: State = "training" if waiting else "cold"  # trained, yet no model: cold start
    else:
        state = "ready"
    page_ids = ranked[offset : offset + limit]
    by_id = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(page_ids)))}
    papers = [by_id[i] for i in page_ids if i in by_id]
    reasons = _reasons(session, model, papers, page_vectors) if model is not None else {}
    all_seen = not ranked and bool(session.scalar(select(func.count(Paper.id)).where(*where)))
    return ForYou(papers, len(ranked), state, len(signals.positives), reasons, all_seen, stale)


def _reasons(
    session: Session, model: Model, papers: list[Paper], vectors: dict[int, np.ndarray]
) -> dict[int, list[Paper]]:
    shown = [p for p in papers if p.id in vectors]
    if not shown:
        return {}
    nearest = model.reasons(np.stack([vectors[p.id] for p in shown]))
    wanted = {pid for pairs in nearest for pid, _ in pairs}
    own = {p.id: p for p in session.scalars(select(Paper).where(Paper.id.in_(wanted)))}
    return {
        paper.id: [own[pid] for pid, _ in pairs if pid in own]
        for paper, pairs in zip(shown, nearest, strict=True)
    }


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
