"""Request values parsed once, at the edge, with bounds: what routes declare instead of bare ``int``
and ``str``, so a value no database row or date can hold is a 400 with one sentence, never a 500.

- Ids in paths are routed with the ``:int`` convertor (ASCII digits only; anything else is a 404)
  and declared :data:`RowId`: 1 to 2^31-1, what the ``INTEGER`` id columns hold on PostgreSQL (a
  larger number used to reach the database and fail there: over 2^63-1 on SQLite, over 2^31-1 on
  PostgreSQL).
- :func:`row_id` does the same for ids sent in forms (``collection=`` on save): ``str.isdigit``
  accepts ``²`` and ``٣``, which ``int`` then refuses, so only ``[0-9]`` counts.
- Dates, weeks and months go through ``services.periods`` (ASCII digits, years 1900 to 2999) via
  ``web.periods.requested_period`` and the search filters; text parameters carry a ``max_length``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import Path, Query

MAX_ROW_ID = 2**31 - 1  # INTEGER ids (PostgreSQL's are 32-bit)
_DIGITS = re.compile(r"[0-9]{1,10}")

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id, 1 to 2^31-1.")]
DayParam = Annotated[str | None, Query(max_length=10, description="Day, YYYY-MM-DD.")]
WeekParam = Annotated[str | None, Query(max_length=8, description="ISO week, YYYY-Www.")]
MonthParam = Annotated[str | None, Query(max_length=7, description="Month, YYYY-MM.")]
DailyFeedParam = Annotated[
    Literal["curated", "all"] | None,
    Query(
        description="`curated`: only featured and submitted papers (default: the "
        "instance's `DAILYPAPERS_DAILY_FEED`)."
    ),
]
OrganizationParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="Only the papers submitted on behalf of this organization (its slug).",
    ),
]


def row_id(text: str) -> int | None:
    """The id ``text`` names (ASCII digits, 1 to 2^31-1), else None."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None
