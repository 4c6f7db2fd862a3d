"""HTML pages through the ASGI client, on the bundled sample (2025-06-23 .. 2025-07-04)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.helpers import add_papers, record


def test_home_shows_newest_day_with_navigation(sample_client: TestClient) -> None:
    page = sample_client.get("/")
    assert page.status_code == 200
    assert "Friday, July 4, 2025" in page.text
    assert 'href="/papers/date/2025-07-03" rel="prev"' in page.text
    assert 'rel="next"' not in page.text.split("</h1>")[0]  # newest day: nothing after it
    assert page.text.count('class="card"') == 30  # one page of cards
    for part in ('class="votes"', "arxiv.org/abs/", "arxiv.org/pdf/", 'class="chip"'):
        assert part in page.text


def test_day_navigation_skips_days_without_announcements(sample_client: TestClient) -> None:
    page = sample_client.get("/papers/date/2025-06-30")  # a Monday: back to Friday
    assert 'href="/papers/date/2025-06-27" rel="prev"' in page.text
    assert 'href="/papers/date/2025-07-01" rel="next"' in page.text


def test_empty_day_is_friendly_with_nearest_days(sample_client: TestClient) -> None:
    page = sample_client.get("/papers/date/2025-06-28")  # a Saturday
    assert page.status_code == 200
    assert "No papers announced on this day" in page.text
    assert "/papers/date/2025-06-27" in page.text and "/papers/date/2025-06-30" in page.text


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("/papers/week/2025-W26", "Week 26 · 23–29 June 2025"),
        ("/papers/month/2025-06", "June 2025"),
    ],
)
def test_weekly_and_monthly_views(sample_client: TestClient, path: str, heading: str) -> None:
    page = sample_client.get(path)
    assert page.status_code == 200 and heading in page.text
    count = int(re.search(r"([\d,]+) papers", page.text).group(1).replace(",", ""))  # type: ignore[union-attr]
    daily = int(
        re.search(r"([\d,]+) papers", sample_client.get("/papers/date/2025-06-24").text).group(1)
    )  # type: ignore[union-attr]
    assert count > daily
    assert 'aria-current="page"' in page.text


def arrows(page_text: str) -> tuple[str | None, str | None]:
    head = page_text.split('<nav class="tabs"')[0]
    before = re.search(r'href="([^"]+)" rel="prev"', head)
    after = re.search(r'href="([^"]+)" rel="next"', head)
    return (before.group(1) if before else None), (after.group(1) if after else None)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/papers/month/2025-06", (None, "/papers/month/2025-07")),
        ("/papers/month/2025-07", ("/papers/month/2025-06", None)),
        ("/papers/month/2025-03", (None, "/papers/month/2025-06")),  # not April, May: empty
        ("/papers/month/2026-11", ("/papers/month/2025-07", None)),  # 16 empty months back
        ("/papers/week/2025-W26", (None, "/papers/week/2025-W27")),
        ("/papers/week/2025-W10", (None, "/papers/week/2025-W26")),
        ("/papers/week/2025-W40", ("/papers/week/2025-W27", None)),
    ],
)
def test_week_and_month_arrows_go_to_the_nearest_period_with_papers(
    sample_client: TestClient, path: str, expected: tuple[str | None, str | None]
) -> None:
    page = sample_client.get(path)
    assert arrows(page.text) == expected
    if "No papers announced" in page.text:  # the links under an empty period go there too
        for url in filter(None, expected):
            assert f'<a href="{url}">' in page.text


def test_category_filter(sample_client: TestClient) -> None:
    page = sample_client.get("/papers/date/2025-07-04", params={"category": "cs.CL"})
    cards = page.text.split('class="card"')[1:]
    assert cards and all("cs.CL" in card for card in cards)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/papers/date/2025-13-01", "expected YYYY-MM-DD"),
        ("/papers/week/2025-W60", "ISO week"),
        ("/papers/month/25-1", "expected YYYY-MM"),
    ],
)
def test_bad_periods_are_400_pages(sample_client: TestClient, path: str, message: str) -> None:
    page = sample_client.get(path)
    assert page.status_code == 400 and message in page.text and "<html" in page.text


def test_paper_page_and_unknown_paper(sample_client: TestClient) -> None:
    newest = sample_client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]
    page = sample_client.get(f"/papers/{newest['id']}")
    assert page.status_code == 200 and "Abstract" in page.text
    missing = sample_client.get("/papers/2506.99999")
    assert missing.status_code == 404 and "not in this instance" in missing.text
    assert sample_client.get("/papers/not-an-id").status_code == 404


def test_search_highlights_and_filters(sample_client: TestClient) -> None:
    page = sample_client.get("/search", params={"q": "gaussian splatting"})
    assert page.status_code == 200 and "<mark>" in page.text
    filtered = sample_client.get("/search", params={"q": "language model", "category": "cs.CV"})
    cards = filtered.text.split('class="card"')[1:]
    assert cards and all("cs.CV" in card for card in cards)


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced',
        "NEAR(a b",
        "a* OR -b (((",
        "x" * 10_000,
        "🙂 $\\alpha$ \\frac{1}{2}",
        "AND",
        ")",
    ],
)
def test_hostile_queries_never_fail(sample_client: TestClient, query: str) -> None:
    assert sample_client.get("/search", params={"q": query}).status_code == 200


def test_search_by_id_jumps_to_paper_and_empty_query_goes_home(sample_client: TestClient) -> None:
    newest = sample_client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
    jump = sample_client.get(
        "/search", params={"q": f"https://arxiv.org/abs/{newest}v2"}, follow_redirects=False
    )
    assert jump.status_code == 303 and jump.headers["location"] == f"/papers/{newest}"
    empty = sample_client.get("/search", params={"q": "  "}, follow_redirects=False)
    assert empty.status_code == 303 and empty.headers["location"] == "/"


def test_untrusted_text_is_escaped(client: TestClient, engine: Engine) -> None:
    add_papers(
        engine,
        record(
            "2506.00001",
            "2025-06-20",
            title="<script>alert('t')</script> Attack",
            abstract="Math $x^2$ and <img src=x onerror=alert(1)> and $\\text{<script>x</script>}$",
            authors=["<b>Mallory</b>"],
        ),
    )
    for path in ("/", "/papers/2506.00001", "/search?q=attack"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<b>Mallory" not in html
        assert "&lt;script&gt;" in html
    assert "<msup>" in client.get("/papers/2506.00001").text


def test_empty_database_has_a_helpful_home(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "dailypapers demo" in page.text
    assert client.get("/api/daily_papers").json() == []
