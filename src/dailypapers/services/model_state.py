"""When a user's "For you" model must be retrained: ``user_models.signals_version``.

Every service that changes a user's signals (an upvote, a collection item, "more like this" / "not
interested", an imported library) calls :func:`signals_changed` in the same transaction. The
background job (``jobs.py``: ``retrain_models``) trains the users whose ``trained_version`` lags
behind; the request path only reads the stored model. Callers commit.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from dailypapers.db.dialect import insert_ignore
from dailypapers.db.signals import UserModel


def signals_changed(session: Session, user_id: int) -> None:
    """Mark the user's model stale (one row per user, created on the first signal)."""
    if insert_ignore(session, UserModel, user_id=user_id, signals_version=1, trained_version=0):
        return
    session.execute(
        update(UserModel)
        .where(UserModel.user_id == user_id)
        .values(signals_version=UserModel.signals_version + 1)
        .execution_options(synchronize_session=False)
    )
