""" "For you": train users' models — the ``retrain_models`` Huey task every 5 minutes, never a
request.

:func:`retrain_stale` finds the models whose signals changed or that were trained on other
features; :func:`retrain` reads one user's signals (``signals.py``), their papers' vectors under
the serving embedding model and their tf-idf rows (``services.terms``: the index the same job
keeps), and a sample of recent papers they have not touched, fits ``ranking.recommend`` and
stores the model with the signals version and the features (:func:`features_key`) it saw. The
request path that ranks with it is ``services.recommend``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from sqlalchemy import Engine, func, or_, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import id_array
from dailypapers.db.models import Paper
from dailypapers.db.signals import UserModel
from dailypapers.embeddings.store import vectors_of
from dailypapers.enrich.terms import PaperTerms
from dailypapers.ranking.recommend import DEFAULT, FORMAT, MIN_POSITIVES, Signals, train
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.services.signals import TrainingSignals, training_signals
from dailypapers.services.terms import (
    discard_term_index,
    load_terms,
    stored_vocabulary,
    term_rows,
)
from dailypapers.vectors.live import serving_model

log = logging.getLogger(__name__)
BACKGROUND_DAYS = 28  # sampled negatives come from the papers of these last days
RETRAIN_BATCH = 500  # users trained per job run at most (the next run goes on)


def features_key(embedding_model: str, vocabulary: str | None) -> str:
    """What a model is trained on: the embedding model, the model format and the tf-idf
    vocabulary's digest (``user_models.embedding_model``); a model of another key is
    retrained."""
    key = f"{embedding_model}|f{FORMAT}"
    return key + (f"|tfidf:{vocabulary}" if vocabulary is not None else "")


def _sample_background(
    session: Session, model: str, touched: set[int], seed: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(ids, vectors) of up to ``size`` recent papers the user has not touched, at random."""
    newest = session.scalar(select(func.max(Paper.announced_on)))
    if newest is None:
        return np.zeros(0, np.int64), np.zeros((0, 0), dtype=np.float32)
    ids = id_array(
        session.connection(),
        select(Paper.id).where(
            Paper.announced_on >= newest - timedelta(days=BACKGROUND_DAYS - 1),
            Paper.deleted_at.is_(None),
        ),
    )
    if touched:
        ids = ids[~np.isin(ids, np.fromiter(touched, dtype=np.int64, count=len(touched)))]
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.sort(ids), min(size, len(ids)), replace=False)
    return vectors_of(session, model, chosen.tolist())


def train_user(
    session: Session,
    embedding_model: str,
    user_id: int,
    terms: PaperTerms | None = None,
    signals: TrainingSignals | None = None,
    start: Model | None = None,
) -> tuple[Model | None, int]:
    """The user's model from their signals now (None: cold start), and how many positives had
    no vector (deleted papers are no signal at all). With ``terms`` (the tf-idf index), the
    model joins the embeddings with the tf-idf of the same papers. ``start``: the user's
    previous model, where the fit starts (``ranking.recommend.train``)."""
    signals = signals or training_signals(session, user_id)
    pos_ids, positives = vectors_of(session, embedding_model, list(signals.positives))
    unembedded = len(signals.positives) - len(pos_ids)
    if len(pos_ids) < MIN_POSITIVES:
        return None, unembedded
    dim = positives.shape[1]
    neg_ids, negatives = vectors_of(session, embedding_model, signals.negatives)
    negatives = negatives.reshape(-1, dim)
    bg_ids, background = _sample_background(
        session, embedding_model, signals.touched, user_id, DEFAULT.background
    )
    background = background.reshape(-1, dim)
    weights = np.array(
        [DEFAULT.more_weight if signals.positives[int(p)] == "more" else 1.0 for p in pos_ids],
        dtype=np.float32,
    )
    if terms is None:
        rows = Signals(pos_ids, positives, weights, negatives, background)
        return train(rows, embedding_model, DEFAULT, start=start), unembedded
    rows = Signals(
        pos_ids,
        positives,
        weights,
        negatives,
        background,
        term_rows(session, terms, pos_ids),
        term_rows(session, terms, neg_ids),
        term_rows(session, terms, bg_ids),
    )
    vocabulary = terms.vocabulary
    model = train(
        rows,
        embedding_model,
        DEFAULT,
        vocabulary=vocabulary.digest,
        width=len(vocabulary.terms),
        start=start,
    )
    return model, unembedded


def retrain(
    engine: Engine,
    settings: Settings,
    user_id: int,
    embedding_model: str | None = None,
    terms: PaperTerms | None = None,
) -> bool:
    """Train one user's model and store it (its own transaction); False when the user is gone.
    ``terms``: the tf-idf index (read from the database when not given)."""
    model_name = embedding_model or serving_model(engine, settings.embedding_model)
    model_name = model_name or settings.embedding_model
    with Session(engine) as session, session.begin():
        row = session.get(UserModel, user_id)
        if row is None:
            return False
        version = row.signals_version
        terms = terms or load_terms(session)
        key = features_key(model_name, terms.vocabulary.digest if terms is not None else None)
        # the previous model, trained on the same features: the fit starts from it
        start = Model.from_bytes(row.model) if row.model and row.embedding_model == key else None
        signals = training_signals(session, user_id)
        model, unembedded = train_user(session, model_name, user_id, terms, signals, start)
        session.execute(
            update(UserModel)
            .where(UserModel.user_id == user_id)
            .values(
                trained_version=version,
                embedding_model=key,
                model=model.to_bytes() if model is not None else None,
                positives=len(signals.positives),
                negatives=len(signals.negatives),
                unembedded=unembedded,
                trained_at=utcnow(),
                model_version=UserModel.model_version + 1,
            )
        )
    return True


def retrain_stale(engine: Engine, settings: Settings, *, limit: int = RETRAIN_BATCH) -> int:
    """Retrain the models whose signals changed, that were trained on other features (another
    embedding model, model format or tf-idf vocabulary: :func:`features_key`), or that waited
    for vectors of some of their papers (retried hourly). The check is one indexed query; no
    stale model, no work."""
    model_name = serving_model(engine, settings.embedding_model) or settings.embedding_model
    hour_ago = utcnow() - timedelta(hours=1)
    with Session(engine) as session:
        vocabulary = stored_vocabulary(session)  # the blob is read only when there is work
        key = features_key(model_name, vocabulary)
        stale = list(
            session.scalars(
                select(UserModel.user_id)
                .where(
                    or_(
                        UserModel.trained_version != UserModel.signals_version,
                        UserModel.embedding_model.is_(None),
                        UserModel.embedding_model != key,
                        (UserModel.unembedded > 0) & (UserModel.trained_at < hour_ago),
                    )
                )
                .order_by(UserModel.user_id)
                .limit(limit)
            )
        )
        terms = load_terms(session) if stale and vocabulary is not None else None
    if stale and vocabulary is not None and terms is None:
        log.warning("the tf-idf index is damaged: dropped (the next job run builds it again)")
        discard_term_index(engine)
    for user_id in stale:
        retrain(engine, settings, user_id, model_name, terms)
    return len(stale)
