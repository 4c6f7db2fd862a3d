from datetime import date

import pytest

from dailypapers.ranking.trending import trending_key, trending_score
from dailypapers.services.periods import (
    BadPeriod,
    Period,
    day_period,
    parse_day,
    parse_month,
    parse_week,
)


def test_week_is_monday_to_sunday() -> None:
    week = parse_week("2025-W25")
    assert (week.start, week.end) == (date(2025, 6, 16), date(2025, 6, 22))
    assert week.label == "2025-W25"
    assert week.shifted(1).label == "2025-W26"


@pytest.mark.parametrize(
    ("period", "heading"),
    [
        (parse_week("2025-W25"), "Week 25 · 16–22 June 2025"),
        (parse_week("2025-W27"), "Week 27 · 30 June – 6 July 2025"),
        (parse_week("2026-W01"), "Week 1 · 29 December 2025 – 4 January 2026"),
        (parse_month("2025-06"), "June 2025"),
        (day_period(parse_day("2025-07-04")), "Friday, July 4, 2025"),
    ],
)
def test_headings_name_the_dates(period: Period, heading: str) -> None:
    assert period.heading == heading


def test_month_bounds_and_year_wrap() -> None:
    december = parse_month("2024-12")
    assert (december.start, december.end) == (date(2024, 12, 1), date(2024, 12, 31))
    assert december.shifted(1).label == "2025-01"
    assert parse_month("2024-02").end == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("parser", "value", "expected"),
    [
        (parse_day, "2025-13-01", "YYYY-MM-DD"),
        (parse_day, "yesterday", "YYYY-MM-DD"),
        (parse_day, "2025-02-30", "no such day"),
        (parse_week, "2025-25", "YYYY-Www"),
        (parse_week, "2025-W54", "no such ISO week"),
        (parse_month, "2025-13", "YYYY-MM"),
        (parse_month, "March", "YYYY-MM"),
    ],
)
def test_bad_periods_name_the_expected_format(parser: object, value: str, expected: str) -> None:
    with pytest.raises(BadPeriod, match=expected):
        parser(value)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parser", "value"),
    [
        (parse_month, "9999-12"),  # its last day's next day is past date.max
        (parse_month, "0001-01"),  # its previous month is before date.min
        (parse_week, "9999-W52"),
        (parse_week, "0001-W01"),
        (parse_day, "9999-12-31"),
        (parse_month, "3000-01"),
        (parse_month, "1899-12"),
    ],
)
def test_only_years_1900_to_2999(parser: object, value: str) -> None:
    with pytest.raises(BadPeriod, match="only years 1900 to 2999"):
        parser(value)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parser", "value"),
    [(parse_day, "٢٠٢٥-٠٦-٢٠"), (parse_week, "٢٠٢٥-W٢٥"), (parse_month, "２０２５-06")],
)
def test_only_ascii_digits(parser: object, value: str) -> None:
    with pytest.raises(BadPeriod, match="expected"):
        parser(value)  # type: ignore[operator]


def test_neighbours_of_the_edge_periods_are_out_of_range() -> None:
    first, last = parse_month("1900-01"), parse_month("2999-12")
    assert first.in_range and last.in_range
    assert not first.shifted(-1).in_range and not last.shifted(1).in_range
    assert parse_week("2025-W25").shifted(-1).in_range


def test_trending_decays_with_age() -> None:
    today = date(2025, 6, 27)
    fresh = trending_score(10, today, today)
    week_old = trending_score(10, date(2025, 6, 20), today)
    assert fresh == pytest.approx(10 / 2**1.5)
    assert week_old < fresh / 5
    # a well-voted older paper still beats an unvoted new one; ties go to the newer paper
    assert trending_score(30, date(2025, 6, 24), today) > trending_score(1, today, today)
    assert trending_key(0, today, "2506.1", today) > trending_key(
        0, date(2025, 6, 26), "2506.9", today
    )
