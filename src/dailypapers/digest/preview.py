"""One subscriber's digest for a period, rendered as a run renders it but never sent or
recorded: the "view in browser" page and ``dailypapers digest preview``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.digest.render import DigestRenderer
from dailypapers.digest.select import SectionSource, digest_period, searches_by_subscription
from dailypapers.mail import Mail
from dailypapers.services.errors import Invalid
from dailypapers.services.periods import BadPeriod, Period, parse_day, parse_week
from dailypapers.services.subscriptions import Frequency


def parse_period_key(key: str) -> Period:
    """``day:YYYY-MM-DD`` or ``week:YYYY-Www`` back to a period; Invalid otherwise."""
    kind, _, label = key.partition(":")
    try:
        if kind == "day":
            return digest_period("daily", parse_day(label))
        if kind == "week":
            return parse_week(label)
    except BadPeriod as exc:
        raise Invalid(str(exc)) from None
    raise Invalid(f"{key[:40]!r} is not a digest period (day:YYYY-MM-DD or week:YYYY-Www)")


def digest_mail(
    session: Session, settings: Settings, secret: bytes, sub: Subscription, key: str
) -> Mail | None:
    """One subscriber's digest for a period (``view in browser``, ``digest preview``), or None
    when it would be empty. Rendered the way a run renders it; the ledger is not touched."""
    period = parse_period_key(key)
    frequency: Frequency = "daily" if period.kind == "day" else "weekly"
    source = SectionSource(session, period, settings.digest_papers_per_section)
    sections = source.for_subscription(
        sub, searches_by_subscription(session, [sub.id]).get(sub.id, [])
    )
    if not sections:
        return None
    return DigestRenderer(settings, secret, period, frequency).mail(sub, sections, key)
