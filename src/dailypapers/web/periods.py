"""Turn request parameters (date / week / month) into a feed period, with 400s for bad values."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dailypapers.services.feeds import latest_day
from dailypapers.services.periods import (
    BadPeriod,
    Period,
    day_period,
    parse_day,
    parse_month,
    parse_week,
)
from dailypapers.web.errors import HTTPProblem


def requested_period(
    session: Session, date: str | None, week: str | None, month: str | None
) -> Period | None:
    """The period asked for, the newest day when none is, or None for an empty database."""
    given = [value for value in (date, week, month) if value]
    if len(given) > 1:
        raise HTTPProblem(400, "give at most one of date, week and month")
    try:
        if date:
            return day_period(parse_day(date))
        if week:
            return parse_week(week)
        if month:
            return parse_month(month)
    except BadPeriod as exc:
        raise HTTPProblem(400, str(exc)) from None
    newest = latest_day(session)
    return day_period(newest) if newest else None
