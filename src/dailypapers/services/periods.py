"""Parse the periods a feed can show: a day (YYYY-MM-DD), an ISO week (YYYY-Www), a month (YYYY-MM).

Pure functions; a bad value raises :class:`BadPeriod` whose message names the expected format.
Only ASCII digits count, and only years :data:`FIRST_YEAR` to :data:`LAST_YEAR`: far from the
edges of Python's dates (year 1 and 9999), so a period's neighbours and its last day always exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

PeriodKind = Literal["day", "week", "month"]
FIRST_YEAR, LAST_YEAR = 1900, 2999
_YEARS = f"years {FIRST_YEAR} to {LAST_YEAR}"


class BadPeriod(ValueError):
    """A date, week or month that does not parse; the message says what was expected."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def heading(self) -> str:
        """How a page names it: "Friday, July 4, 2025", "Week 26 · 23–29 June 2025",
        "June 2025"."""
        if self.kind == "day":
            return f"{self.start:%A, %B} {self.start.day}, {self.start.year}"
        if self.kind == "month":
            return f"{self.start:%B %Y}"
        return f"Week {self.start.isocalendar()[1]} · {day_range(self.start, self.end)}"

    def shifted(self, steps: int) -> Period:
        """The period ``steps`` days / weeks / months away."""
        if self.kind == "day":
            return day_period(self.start + timedelta(days=steps))
        if self.kind == "week":
            return week_period(self.start + timedelta(weeks=steps))
        month_index = self.start.year * 12 + self.start.month - 1 + steps
        return month_period(date(month_index // 12, month_index % 12 + 1, 1))

    @property
    def in_range(self) -> bool:
        """Whether the period lies within the years the parsers accept (links go only there)."""
        return FIRST_YEAR <= self.start.year and self.end.year <= LAST_YEAR


def day_range(start: date, end: date) -> str:
    """ "23–29 June 2025", "30 June – 6 July 2025", "29 December 2025 – 4 January 2026"."""
    if start.year != end.year:
        return f"{start.day} {start:%B %Y} – {end.day} {end:%B %Y}"
    if start.month != end.month:
        return f"{start.day} {start:%B} – {end.day} {end:%B %Y}"
    return f"{start.day}–{end.day} {end:%B %Y}"


def day_period(day: date) -> Period:
    return Period("day", day, day)


def week_period(day: date) -> Period:
    monday = day - timedelta(days=day.weekday())
    return Period("week", monday, monday + timedelta(days=6))


def month_period(day: date) -> Period:
    first = day.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return Period("month", first, following - timedelta(days=1))


def _check_year(year: int, text: str, what: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadPeriod(f"invalid {what} {text!r}: only {_YEARS} are shown")


def parse_day(text: str) -> date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise BadPeriod(f"invalid date {text[:40]!r}: expected YYYY-MM-DD, e.g. 2025-03-18")
    _check_year(int(text[:4]), text, "date")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadPeriod(f"invalid date {text!r}: no such day (expected YYYY-MM-DD)") from None


def parse_week(text: str) -> Period:
    match = re.fullmatch(r"([0-9]{4})-W([0-9]{2})", text)
    if not match:
        raise BadPeriod(f"invalid week {text[:40]!r}: expected YYYY-Www, e.g. 2025-W12")
    _check_year(int(match.group(1)), text, "week")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        raise BadPeriod(f"invalid week {text!r}: no such ISO week (expected YYYY-Www)") from None
    return week_period(monday)


def parse_month(text: str) -> Period:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BadPeriod(f"invalid month {text[:40]!r}: expected YYYY-MM, e.g. 2025-03")
    _check_year(int(match.group(1)), text, "month")
    return month_period(date(int(match.group(1)), int(match.group(2)), 1))
