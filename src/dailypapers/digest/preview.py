"""One subscriber's digest for a period, rendered as a run renders it but never sent or
recorded: the "view in browser" page and ``dailypapers digest preview``."""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import Subscription
from dailypapers.digest.compose import DigestRenderer
from dailypapers.digest.select import (
    SectionSource,
    digest_period,
    period_key,
    searches_by_subscription,
)
from dailypapers.digest.send import announced_papers
from dailypapers.mail import Mail
from dailypapers.services.errors import Invalid
from dailypapers.services.feeds import latest_day
from dailypapers.services.periods import BadPeriod, Period, parse_day, parse_week
from dailypapers.services.subscriptions import Frequency, subscription_for


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


class NothingToPreview(Exception):
    """The subscriber's digest for the period would be empty, or the period had no papers."""


def preview_for(
    session: Session,
    settings: Settings,
    email: str,
    frequency: Frequency | None = None,
    day: date | None = None,
) -> Mail:
    """The digest ``email``'s subscription would get for the period holding ``day`` (default: the
    newest announcement day), daily or weekly (default: its own choice). NotFound for an address
    without a subscription, Invalid for an empty database, :class:`NothingToPreview` when there
    would be no mail."""
    sub = subscription_for(session, email)
    chosen_frequency = frequency or cast(Frequency, sub.frequency)
    chosen = day or latest_day(session)
    if chosen is None:
        raise Invalid("no papers in the database yet: nothing to preview")
    if chosen_frequency == "daily" and not announced_papers(session, chosen):
        raise NothingToPreview(f"{chosen} had no announcements: no daily digest for it")
    key = period_key(digest_period(chosen_frequency, chosen))
    mail = digest_mail(session, settings, settings.resolved_secret_key(), sub, key)
    if mail is None:
        raise NothingToPreview(
            f"the {chosen_frequency} digest of {key} would be empty for {sub.email}"
        )
    return mail
