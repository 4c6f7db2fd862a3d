"""arXiv parsing shared by every source: announce-date estimates (``sources/arxiv/schedule.py``)
and the XML helpers (``sources/arxiv/xml.py``). The parsers of each response are tested in
test_arxiv_oai.py, test_arxiv_export_api.py and test_arxiv_announcements.py; the files they
read live in tests/data/arxiv (see its README for which request each file answers).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from xml.etree import ElementTree as ET

import pytest

from dailypapers.sources.arxiv.schedule import (
    estimate_announce_date,
    estimate_announce_date_at,
    to_us_eastern,
)
from dailypapers.sources.arxiv.xml import (
    children_by_name,
    element_text,
    local_name,
    split_author_string,
)

# --- schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted", "listed"),
    [
        ("2025-06-16", "2025-06-17"),  # Monday -> Tuesday
        ("2025-06-17", "2025-06-18"),  # Tuesday -> Wednesday
        ("2025-06-18", "2025-06-19"),  # Wednesday -> Thursday
        ("2025-06-19", "2025-06-20"),  # Thursday -> Friday
        ("2025-06-20", "2025-06-23"),  # Friday -> Monday (announced Sunday evening)
        ("2025-06-21", "2025-06-24"),  # Saturday -> Tuesday (waits for Monday's deadline)
        ("2025-06-22", "2025-06-24"),  # Sunday -> Tuesday
        ("2024-12-31", "2025-01-01"),  # holidays are ignored
    ],
)
def test_estimate_announce_date_by_weekday(submitted: str, listed: str) -> None:
    assert estimate_announce_date(date.fromisoformat(submitted)) == date.fromisoformat(listed)


def test_estimated_dates_are_always_weekdays_after_submission() -> None:
    day = date(2025, 1, 1)
    for offset in range(60):
        submitted = day + timedelta(days=offset)
        listed = estimate_announce_date(submitted)
        assert listed.weekday() < 5
        assert 1 <= (listed - submitted).days <= 3


@pytest.mark.parametrize(
    ("moment", "listed"),
    [
        # June: US Eastern is UTC-4, the 14:00 deadline is 18:00 UTC.
        (datetime(2025, 6, 16, 17, 59, tzinfo=UTC), date(2025, 6, 17)),
        (datetime(2025, 6, 16, 18, 0, tzinfo=UTC), date(2025, 6, 18)),
        # January: UTC-5, the deadline is 19:00 UTC.
        (datetime(2025, 1, 13, 18, 59, tzinfo=UTC), date(2025, 1, 14)),
        (datetime(2025, 1, 13, 19, 0, tzinfo=UTC), date(2025, 1, 15)),
        # Friday after the deadline waits for Monday's: listed Tuesday.
        (datetime(2025, 6, 20, 19, 0, tzinfo=UTC), date(2025, 6, 24)),
        # Early Tuesday UTC is still Monday evening in New York, after the deadline.
        (datetime(2025, 6, 17, 2, 0, tzinfo=UTC), date(2025, 6, 18)),
        # Offsets other than UTC are converted; a naive time is taken as UTC.
        (datetime(2025, 6, 16, 13, 59, tzinfo=timezone(timedelta(hours=-4))), date(2025, 6, 17)),
        (datetime(2025, 6, 16, 18, 0), date(2025, 6, 18)),
    ],
)
def test_estimate_announce_date_at_uses_the_eastern_deadline(
    moment: datetime, listed: date
) -> None:
    assert estimate_announce_date_at(moment) == listed


@pytest.mark.parametrize(
    ("utc", "eastern"),
    [
        (datetime(2025, 3, 9, 6, 59), datetime(2025, 3, 9, 1, 59)),  # EST until 02:00 local
        (datetime(2025, 3, 9, 7, 0), datetime(2025, 3, 9, 3, 0)),  # then EDT
        (datetime(2025, 11, 2, 5, 59), datetime(2025, 11, 2, 1, 59)),  # EDT until 02:00 local
        (datetime(2025, 11, 2, 6, 0), datetime(2025, 11, 2, 1, 0)),  # then EST
        (datetime(2006, 4, 2, 6, 59), datetime(2006, 4, 2, 1, 59)),  # pre-2007: first Sunday April
        (datetime(2006, 4, 2, 7, 0), datetime(2006, 4, 2, 3, 0)),
        (datetime(2006, 10, 29, 6, 0), datetime(2006, 10, 29, 1, 0)),  # last Sunday October
        (datetime(2006, 3, 12, 12, 0), datetime(2006, 3, 12, 7, 0)),  # not yet DST in 2006
    ],
)
def test_to_us_eastern_follows_daylight_saving_rules(utc: datetime, eastern: datetime) -> None:
    assert to_us_eastern(utc.replace(tzinfo=UTC)) == eastern


# --- shared helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Ileana Streinu and Louis Theran", ["Ileana Streinu", "Louis Theran"]),
        ("A. One, B. Two, and C. Three", ["A. One", "B. Two", "C. Three"]),
        ("V. M. Biryukov (Serpukhov, IHEP)", ["V. M. Biryukov"]),
        (
            "A. S. Mishchenko (1 and 2) and N. Nagaosa (1 and 3) ((1) CREST, Japan\n"
            "  Science and Technology Agency, (2) Russian Research Centre)",
            ["A. S. Mishchenko", "N. Nagaosa"],
        ),
        (
            r"Rastislav \v{S}r\'amek, Bro\v{n}a Brejov\'a",
            [r"Rastislav \v{S}r\'amek", r"Bro\v{n}a Brejov\'a"],
        ),
        ("", []),
    ],
)
def test_split_author_string(text: str, names: list[str]) -> None:
    assert split_author_string(text) == names


def test_children_by_name_first_wins_and_skips_comments() -> None:
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    parser.feed(b'<r xmlns:a="urn:a"><!-- c --><?pi x?><a:x>1</a:x><y>2</y><x>3</x></r>')
    root = parser.close()
    assert [local_name(child.tag) for child in root] == ["", "", "x", "y", "x"]
    found = children_by_name(root)
    assert list(found) == ["x", "y"]
    assert [element_text(child) for child in found.values()] == ["1", "2"]
