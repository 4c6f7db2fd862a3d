"""The JSON API (HF-compatible shapes), Markdown and Atom feeds through the ASGI client."""

from __future__ import annotations

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.helpers import add_papers, record


def test_daily_papers_defaults_to_newest_day_in_hf_shape(sample_client: TestClient) -> None:
    entries = sample_client.get("/api/daily_papers").json()
    assert 0 < len(entries) <= 50
    first = entries[0]
    assert {"paper", "title", "summary", "publishedAt", "numComments"} <= first.keys()
    paper = first["paper"]
    assert {"id", "authors", "publishedAt", "title", "summary", "upvotes"} <= paper.keys()
    assert paper["authors"][0]["name"]
    assert {e["paper"]["submittedOnDailyAt"] for e in entries} == {"2025-07-04T00:00:00.000Z"}


def test_date_week_month_and_paging(sample_client: TestClient) -> None:
    day = sample_client.get("/api/daily_papers", params={"date": "2025-06-24", "limit": 100}).json()
    assert {e["paper"]["announcedOn"] for e in day} == {"2025-06-24"}
    week = sample_client.get("/api/daily_papers", params={"week": "2025-W26", "limit": 100}).json()
    assert {e["paper"]["announcedOn"] for e in week} <= {f"2025-06-{d}" for d in range(23, 30)}
    month = sample_client.get("/api/daily_papers", params={"month": "2025-06", "limit": 100})
    assert len(month.json()) == 100
    first = sample_client.get(
        "/api/daily_papers", params={"month": "2025-06", "limit": 10, "p": 0}
    ).json()
    second = sample_client.get(
        "/api/daily_papers", params={"month": "2025-06", "limit": 10, "p": 1}
    ).json()
    assert not {e["paper"]["id"] for e in first} & {e["paper"]["id"] for e in second}
    assert sample_client.get("/api/daily_papers", params={"date": "2025-06-28"}).json() == []


def test_sorts(sample_client: TestClient) -> None:
    for sort in ("publishedAt", "trending", "upvotes"):
        response = sample_client.get("/api/daily_papers", params={"week": "2025-W26", "sort": sort})
        assert response.status_code == 200 and response.json()
    dates = [
        e["paper"]["announcedOn"]
        for e in sample_client.get(
            "/api/daily_papers", params={"week": "2025-W26", "sort": "publishedAt", "limit": 100}
        ).json()
    ]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date": "2025-6-1"}, "YYYY-MM-DD"),
        ({"week": "2025W01"}, "YYYY-Www"),
        ({"month": "2025-00"}, "YYYY-MM"),
        ({"date": "2025-06-17", "week": "2025-W25"}, "at most one"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"p": -1}, "p"),
        ({"sort": "random"}, "sort"),
    ],
)
def test_bad_parameters_are_400_with_an_error(
    sample_client: TestClient, params: dict[str, object], message: str
) -> None:
    response = sample_client.get("/api/daily_papers", params=params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_paper_info_and_markdown(sample_client: TestClient) -> None:
    paper_id = sample_client.get("/api/daily_papers", params={"limit": 1}).json()[0]["paper"]["id"]
    info = sample_client.get(f"/api/papers/{paper_id}").json()
    assert info["id"] == paper_id and info["title"]
    assert sample_client.get(f"/api/papers/{paper_id}v3").json()["id"] == paper_id
    markdown = sample_client.get(f"/papers/{paper_id}.md")
    assert markdown.status_code == 200 and markdown.headers["content-type"].startswith(
        "text/markdown"
    )
    assert markdown.text.startswith(f"# {info['title']}") and "## Abstract" in markdown.text


def test_unknown_and_malformed_ids(sample_client: TestClient) -> None:
    missing = sample_client.get("/api/papers/2506.99999")
    assert missing.status_code == 404 and "not in this instance" in missing.json()["error"]
    malformed = sample_client.get("/api/papers/abc")
    assert malformed.status_code == 400 and "not an arXiv id" in malformed.json()["error"]
    assert sample_client.get("/papers/2506.99999.md").status_code == 404


def test_search_api(sample_client: TestClient) -> None:
    hits = sample_client.get("/api/papers/search", params={"q": "diffusion", "limit": 5}).json()
    assert len(hits) == 5
    assert all("diffusion" in (h["title"] + h["summary"]).lower() for h in hits)
    paper_id = hits[0]["paper"]["id"]
    assert [
        h["paper"]["id"]
        for h in sample_client.get("/api/papers/search", params={"q": paper_id}).json()
    ] == [paper_id]
    for query in ['"unclosed', "NEAR(", "*", "x" * 10_000]:
        response = sample_client.get("/api/papers/search", params={"q": query})
        assert response.status_code == 200 and isinstance(response.json(), list)
    assert sample_client.get("/api/papers/search", params={"q": "x" * 10_001}).status_code == 400
    assert (
        sample_client.get("/api/papers/search", params={"q": "a", "limit": 500}).status_code == 400
    )


def test_atom_feeds_parse(sample_client: TestClient) -> None:
    daily = feedparser.parse(sample_client.get("/feeds/daily.atom").content)
    assert not daily.bozo and len(daily.entries) > 10
    assert daily.entries[0].link.startswith("http://testserver/papers/")
    assert daily.entries[0].authors and daily.entries[0].tags
    searched = feedparser.parse(
        sample_client.get("/feeds/search.atom", params={"q": "reinforcement learning"}).content
    )
    assert not searched.bozo and searched.entries
    assert "reinforcement" in (searched.entries[0].title + searched.entries[0].summary).lower()
    assert sample_client.get("/feeds/daily.atom", params={"date": "nope"}).status_code == 400


def test_atom_escapes_hostile_titles(client: TestClient, engine: Engine) -> None:
    add_papers(engine, record("2506.00002", "2025-06-20", title="<script>x</script> & co"))
    parsed = feedparser.parse(client.get("/feeds/daily.atom").content)
    assert parsed.entries[0].title == "<script>x</script> & co"  # text, not markup
    assert b"<script>" not in client.get("/feeds/daily.atom").content


def test_openapi_docs(sample_client: TestClient) -> None:
    assert sample_client.get("/docs").status_code == 200
    paths = sample_client.get("/openapi.json").json()["paths"]
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers/{arxiv_id}"} <= paths.keys()
