"""Fixed-window rate limits kept in the database, so every web process of an instance shares them.

``check`` counts one event and refuses it once a window is full. The counter row is written in the
caller's transaction and never committed here: a request that ends normally commits it with its
writes (also one that answers a ServiceError with a 400 form: the attempt counts); a request that
raises (refused, not found, over the limit) rolls it back with everything else.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.orm import Session

from dailypapers.db.dialect import dialect_insert
from dailypapers.db.models import RateEvent
from dailypapers.services.errors import RateLimited


@dataclass(frozen=True, slots=True)
class Limit:
    count: int  # events allowed per window
    window_s: int


# The one list of limits (README "Community" documents these numbers).
LIMITS: dict[str, Limit] = {
    "login_ip": Limit(10, 3600),  # sign-in links requested from one address
    "login_email": Limit(5, 3600),  # sign-in links sent to one mailbox
    "subscribe_ip": Limit(10, 3600),  # digest subscriptions requested from one address
    "subscribe_email": Limit(5, 3600),  # confirmation / manage-link mails to one mailbox
    "submit_user": Limit(30, 3600),
    "vote_user": Limit(300, 60),
    "comment_user": Limit(10, 600),
    "write_ip": Limit(600, 60),  # any state-changing request from one address
}
_LONGEST_WINDOW_S = max(limit.window_s for limit in LIMITS.values())
_MAX_KEY = 200  # the column's length


def rate_key(name: str, subject: str) -> str:
    """The counter's key; subjects too long for the column (odd emails) are hashed."""
    key = f"{name}:{subject}"
    if len(key) <= _MAX_KEY:
        return key
    return f"{name}:sha256:{hashlib.sha256(subject.encode()).hexdigest()}"


def check(session: Session, name: str, subject: str, *, now: float | None = None) -> None:
    """Count one ``name`` event for ``subject``; raise RateLimited when the window is full."""
    limit = LIMITS[name]
    moment = time.time() if now is None else now
    window_start = int(moment // limit.window_s) * limit.window_s
    key = rate_key(name, subject)
    count = _increment(session, key, window_start)
    if count == 1:  # a new window: a good moment to drop expired counters
        _delete_expired(session, key, window_start, moment)
    if count > limit.count:
        raise RateLimited(math.ceil(window_start + limit.window_s - moment))


def _increment(session: Session, key: str, window_start: int) -> int:
    """Add one to the window's counter (creating it) in one statement; the new count."""
    statement = (
        dialect_insert(session, RateEvent)
        .values(key=key, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=[RateEvent.key, RateEvent.window_start],
            set_={"count": RateEvent.count + 1},
        )
        .returning(RateEvent.count)
    )
    return int(session.execute(statement).scalar_one())


def _delete_expired(session: Session, key: str, window_start: int, moment: float) -> None:
    session.execute(
        delete(RateEvent).where(RateEvent.key == key, RateEvent.window_start < window_start)
    )
    session.execute(delete(RateEvent).where(RateEvent.window_start < moment - _LONGEST_WINDOW_S))
