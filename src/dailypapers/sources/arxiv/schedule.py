"""When arXiv announces a submission: an estimate from its submission date or time.

arXiv's schedule: a submission received before the **14:00 US Eastern** deadline on a weekday is
announced at 20:00 Eastern that evening, Sunday to Thursday; the listing that carries it (the
``/list/<category>/new`` page, the rss.arxiv.org feed, the daily files in ``arxiv-listings``) is
dated the **next day**. Submissions from Thursday 14:00 to Friday 14:00 are announced on Sunday
evening and listed on Monday; weekend submissions wait for Monday's deadline. So, by the weekday a
submission arrives before the deadline:

=========================  ===============  =====================
submitted (before 14:00)   announced (20:00)  ``announced_on``
=========================  ===============  =====================
Monday                     Monday           Tuesday
Tuesday                    Tuesday          Wednesday
Wednesday                  Wednesday        Thursday
Thursday                   Thursday         Friday
Friday                     Sunday           Monday
Saturday, Sunday           Monday           Tuesday
=========================  ===============  =====================

``announced_on`` in this project is that listing date, the day a reader first sees the paper.

Known approximations (the announcements feed gives the real date when it is available):

* Holidays are ignored: arXiv skips announcements on a few US holidays and the listing moves to
  the next announcement day; the estimate does not know the holiday calendar.
* :func:`estimate_announce_date` has only a date, so it assumes the submission came in before the
  deadline; a submission after 14:00 Eastern is really listed one announcement later.
  :func:`estimate_announce_date_at` uses the time when a source has one (arXivRaw versions, the
  export API's ``published``).
* Papers on hold for moderation are listed later than the rule says.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

DEADLINE_HOUR_EASTERN = 14
"""Submissions received before this hour (US Eastern) make that day's announcement."""

_TUESDAY, _THURSDAY, _FRIDAY = 1, 3, 4


def estimate_announce_date(submitted: date) -> date:
    """The listing date of a paper submitted on ``submitted``, assuming before the deadline.

    Mon->Tue, Tue->Wed, Wed->Thu, Thu->Fri, Fri->Mon, Sat->Tue, Sun->Tue (holidays ignored).
    """
    weekday = submitted.weekday()
    if weekday <= _THURSDAY:
        return submitted + timedelta(days=1)
    if weekday == _FRIDAY:
        return submitted + timedelta(days=3)
    # Saturday or Sunday: waits for Monday's deadline, listed on Tuesday.
    return submitted + timedelta(days=(7 - weekday) + _TUESDAY)


def estimate_announce_date_at(submitted_at: datetime) -> date:
    """The listing date of a paper submitted at ``submitted_at`` (a naive value is taken as UTC).

    The time is converted to US Eastern; a submission at or after 14:00 Eastern counts as received
    the next day before the deadline.
    """
    local = to_us_eastern(submitted_at)
    day = local.date()
    if local.hour >= DEADLINE_HOUR_EASTERN:
        day += timedelta(days=1)
    return estimate_announce_date(day)


def to_us_eastern(moment: datetime) -> datetime:
    """``moment`` as US Eastern wall-clock time (naive), daylight saving time applied.

    The rules are computed here rather than read from the system time-zone database, which not
    every installation has: since 2007 DST runs from the second Sunday of March to the first Sunday
    of November; 1987-2006 from the first Sunday of April to the last Sunday of October (earlier
    years use the 1987 rule). Transitions happen at 02:00 local time.
    """
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    utc = utc.replace(tzinfo=None)
    start, end = _dst_bounds_utc(utc.year)
    offset = -4 if start <= utc < end else -5
    return utc + timedelta(hours=offset)


def _dst_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """DST start and end in UTC (naive) for ``year``."""
    if year >= 2007:
        start_day = _nth_sunday(year, 3, 2)
        end_day = _nth_sunday(year, 11, 1)
    else:
        start_day = _nth_sunday(year, 4, 1)
        end_day = _last_sunday(year, 10)
    # 02:00 EST is 07:00 UTC; 02:00 EDT is 06:00 UTC.
    start = datetime(start_day.year, start_day.month, start_day.day, 7)
    end = datetime(end_day.year, end_day.month, end_day.day, 6)
    return start, end


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    to_sunday = (6 - first.weekday()) % 7
    return first + timedelta(days=to_sunday + 7 * (n - 1))


def _last_sunday(year: int, month: int) -> date:
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)
