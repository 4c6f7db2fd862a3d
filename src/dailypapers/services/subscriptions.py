"""Digest subscriptions: subscribe with an email address, confirm, choose what to get, leave.

No account is needed. Every link in a digest mail carries a token signed with the instance's
secret key and the subscription's own random ``key`` (so a link dies with its row): the token is
the authority, as RFC 8058 one-click unsubscribing requires. Confirmation links expire after
:data:`CONFIRM_TTL`; manage and unsubscribe links do not (old mails keep working). Write
functions never commit: callers commit (the request or the command owns the transaction).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.models import SavedSearch, Subscription
from dailypapers.services.accounts import normalise_email
from dailypapers.services.errors import Invalid, NotFound

Frequency = Literal["daily", "weekly"]
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")
PENDING, ACTIVE, UNSUBSCRIBED, BOUNCING = "pending", "active", "unsubscribed", "bouncing"
CONFIRM_TTL = timedelta(days=3)
MAX_CATEGORIES = 20
MAX_SEARCHES = 20
MAX_QUERY = 500
_CATEGORY_RE = re.compile(r"[a-z-]+(\.[A-Za-z-]+)?")

INVALID_LINK = "this link is not valid (it may be incomplete, or its subscription was removed)"
EXPIRED_LINK = "this confirmation link has expired; subscribe again to get a new one"

Purpose = Literal["confirm", "manage", "unsubscribe", "view"]
# ID.EXPIRES.SIGNATURE, ASCII digits only (str.isdigit would pass "²", which int() refuses), an id
# an INTEGER column holds (2^31-1 on PostgreSQL) and a signature in URL-safe base64
_TOKEN = re.compile(
    r"(?P<id>[0-9]{1,10})\.(?P<expires>[0-9]{1,12})\.(?P<signature>[A-Za-z0-9_=-]{1,64})"
)
_MAX_ID = 2**31 - 1


# --- signed links ---------------------------------------------------------------------------


def _signature(secret: bytes, sub: Subscription, purpose: str, expires: int, extra: str) -> str:
    message = f"{purpose}|{sub.id}|{expires}|{extra}|{sub.key}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def make_token(
    secret: bytes,
    sub: Subscription,
    purpose: Purpose,
    *,
    expires_at: datetime | None = None,
    extra: str = "",
) -> str:
    """``ID.EXPIRES.SIGNATURE`` (EXPIRES: epoch seconds, 0 = never); ``extra`` is signed too."""
    expires = int(_epoch(expires_at)) if expires_at else 0
    return f"{sub.id}.{expires}.{_signature(secret, sub, purpose, expires, extra)}"


def _epoch(moment: datetime) -> float:
    """Seconds since the epoch of a naive UTC timestamp (the way every time is stored)."""
    return moment.replace(tzinfo=UTC).timestamp()


def confirm_token(secret: bytes, sub: Subscription, *, now: datetime | None = None) -> str:
    return make_token(secret, sub, "confirm", expires_at=(now or utcnow()) + CONFIRM_TTL)


def check_token(
    session: Session,
    secret: bytes,
    token: str,
    purpose: Purpose,
    *,
    extra: str = "",
    now: datetime | None = None,
) -> Subscription:
    """The subscription a link names; Invalid when it is tampered with, unknown or expired."""
    match = _TOKEN.fullmatch(token.strip())
    if match is None or not 1 <= int(match["id"]) <= _MAX_ID:
        raise Invalid(INVALID_LINK)
    sub = session.get(Subscription, int(match["id"]))
    if sub is None:
        raise Invalid(INVALID_LINK)
    expires = int(match["expires"])
    expected = _signature(secret, sub, purpose, expires, extra)
    if not hmac.compare_digest(expected.encode(), match["signature"].encode()):
        raise Invalid(INVALID_LINK)
    if expires and expires <= _epoch(now or utcnow()):
        raise Invalid(EXPIRED_LINK)
    return sub


# --- subscribing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscribeOutcome:
    """What to mail after a subscribe request; the web page says the same in every case."""

    subscription: Subscription
    mail: Literal["confirm", "manage", "none"]
    search: tuple[str, str] | None = None  # a search to offer on the manage page


def subscribe(
    session: Session,
    email: str,
    *,
    frequency: str = "daily",
    search: tuple[str, str] | None = None,
    now: datetime | None = None,
) -> SubscribeOutcome:
    """Start (or restart) a subscription for ``email``: pending until its link is confirmed.

    An active subscription is not changed by an anonymous request; its owner gets a mail with the
    manage link instead (offering ``search``). A bouncing address is never mailed.
    """
    moment = now or utcnow()
    address = normalise_email(email)
    chosen = check_frequency(frequency)
    wanted = check_search(*search) if search else None
    sub = session.scalar(select(Subscription).where(Subscription.email == address))
    if sub is None:
        sub = Subscription(
            email=address,
            key=secrets.token_urlsafe(24),
            status=PENDING,
            frequency=chosen,
            trending=True,
            categories="",
            created_at=moment,
        )
        session.add(sub)
        session.flush()
    elif sub.status == BOUNCING:
        return SubscribeOutcome(sub, "none")
    elif sub.status == ACTIVE:
        return SubscribeOutcome(sub, "manage", wanted)
    # Its search first: Invalid (too many) before anything changed, so a caller that catches
    # it and commits its rate-limit counts commits nothing else.
    if wanted:
        _add_search(session, sub, wanted, moment)
    sub.status = PENDING  # new, pending or unsubscribed: ask (again) for confirmation
    return SubscribeOutcome(sub, "confirm")


def confirm(session: Session, sub: Subscription, *, now: datetime | None = None) -> Subscription:
    """The address owner clicked the confirmation link: digests start."""
    if sub.status == BOUNCING:
        raise Invalid("mail to this address bounced, so no digests are sent to it")
    if sub.status != ACTIVE:
        sub.status = ACTIVE
        sub.confirmed_at = now or utcnow()
        sub.unsubscribed_at = None
    return sub


def unsubscribe(session: Session, sub: Subscription, *, now: datetime | None = None) -> None:
    """Stop all digests to this address at once (unsubscribing twice is harmless)."""
    if sub.status in (PENDING, ACTIVE):
        sub.status = UNSUBSCRIBED
        sub.unsubscribed_at = now or utcnow()


def subscription_for(session: Session, email: str) -> Subscription:
    """The subscription of an address; NotFound when it has none."""
    sub = session.scalar(select(Subscription).where(Subscription.email == normalise_email(email)))
    if sub is None:
        raise NotFound(f"no subscription for {email.strip()[:80]!r}")
    return sub


def unsubscribe_email(session: Session, email: str) -> Subscription:
    """Unsubscribe by address (``digest unsubscribe``, e.g. after a mailto: request)."""
    sub = subscription_for(session, email)
    unsubscribe(session, sub)
    return sub


# --- preferences ------------------------------------------------------------------------------


def check_frequency(value: str) -> Frequency:
    for frequency in FREQUENCIES:
        if value == frequency:
            return frequency
    raise Invalid("a digest is sent daily or weekly")


def check_categories(values: list[str]) -> list[str]:
    names = list(dict.fromkeys(v for value in values for v in value.replace(",", " ").split()))
    bad = [n for n in names if len(n) > 32 or not _CATEGORY_RE.fullmatch(n)]
    if bad:
        raise Invalid(f"{bad[0][:40]!r} is not an arXiv category (e.g. cs.CL or stat.ML)")
    if len(names) > MAX_CATEGORIES:
        raise Invalid(f"a digest follows at most {MAX_CATEGORIES} categories")
    return names


def check_search(query: str, category: str = "") -> tuple[str, str]:
    text = " ".join(query.split())
    if not text or len(text) > MAX_QUERY:
        raise Invalid(f"a saved search has 1 to {MAX_QUERY} characters")
    if any(ord(c) < 32 for c in query.replace("\n", " ").replace("\t", " ")):
        raise Invalid("a saved search cannot contain control characters")
    chosen = category.strip()
    if chosen:
        [chosen] = check_categories([chosen])
    return text, chosen


def update_preferences(
    session: Session, sub: Subscription, *, frequency: str, trending: bool, categories: list[str]
) -> Subscription:
    chosen = check_categories(categories)
    sub.frequency = check_frequency(frequency)
    sub.trending = trending
    sub.categories = " ".join(chosen)
    return sub


def saved_searches(session: Session, sub: Subscription) -> list[SavedSearch]:
    return list(
        session.scalars(
            select(SavedSearch)
            .where(SavedSearch.subscription_id == sub.id)
            .order_by(SavedSearch.created_at, SavedSearch.id)
        )
    )


def add_saved_search(
    session: Session, sub: Subscription, query: str, category: str = ""
) -> SavedSearch:
    """Add a search as a digest section (adding the same one twice keeps one)."""
    return _add_search(session, sub, check_search(query, category), utcnow())


def _add_search(
    session: Session, sub: Subscription, search: tuple[str, str], moment: datetime
) -> SavedSearch:
    query, category = search
    existing = session.scalar(
        select(SavedSearch).where(
            SavedSearch.subscription_id == sub.id,
            SavedSearch.query == query,
            SavedSearch.category == category,
        )
    )
    if existing is not None:
        return existing
    count = session.scalar(
        select(func.count(SavedSearch.id)).where(SavedSearch.subscription_id == sub.id)
    )
    if (count or 0) >= MAX_SEARCHES:
        raise Invalid(f"a digest has at most {MAX_SEARCHES} saved searches")
    saved = SavedSearch(subscription_id=sub.id, query=query, category=category, created_at=moment)
    session.add(saved)
    session.flush()
    return saved


def remove_saved_search(session: Session, sub: Subscription, search_id: int) -> None:
    session.execute(
        delete(SavedSearch).where(
            SavedSearch.id == search_id, SavedSearch.subscription_id == sub.id
        )
    )
