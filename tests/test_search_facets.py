"""Facets: counts of all results by category and by year beside the results (clickable), and
``/api/papers/search?facets=1`` as a separate key only when asked (the default stays a list)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.web.api_models import FacetedSearch
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    add_papers(
        engine,
        *(
            record(
                f"2506.{n + 1:05d}",
                f"{2024 + n % 2}-06-{10 + n:02d}",
                title=f"Graph networks, part {n}",
                categories=["cs.LG", "cs.AI"] if n < 3 else ["cs.CV"],
            )
            for n in range(5)
        ),
        record("2506.00009", "2025-06-17", title="Protein folding"),
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_api_facets_only_when_asked(client: TestClient) -> None:
    plain = client.get("/api/papers/search", params={"q": "graph networks", "limit": 2})
    assert isinstance(plain.json(), list) and len(plain.json()) == 2
    faceted = client.get(
        "/api/papers/search", params={"q": "graph networks", "limit": 2, "facets": 1}
    )
    body = faceted.json()
    assert [e["paper"]["id"] for e in body["papers"]] == [e["paper"]["id"] for e in plain.json()]
    # counted over all five results, not the page of two
    assert body["facets"]["categories"] == [
        {"name": "cs.AI", "count": 3},
        {"name": "cs.LG", "count": 3},
        {"name": "cs.CV", "count": 2},
    ]
    assert body["facets"]["years"] == [{"year": 2025, "count": 2}, {"year": 2024, "count": 3}]
    # the typed model documents it: strict types, no unknown keys
    model = TypeAdapter(FacetedSearch).validate_json(faceted.content)
    assert model.facets.model_dump(by_alias=True) == body["facets"]
    nothing = client.get("/api/papers/search", params={"q": "xqzvbnmw", "facets": 1}).json()
    assert nothing == {"papers": [], "facets": {"categories": [], "years": []}}
    newest = client.get("/api/papers/search", params={"facets": 1}).json()
    assert newest["papers"] and newest["facets"] == {"categories": [], "years": []}
    assert client.get("/api/papers/search", params={"q": "x", "facets": "maybe"}).status_code == 400


def test_page_facets_link_to_filtered_searches(client: TestClient) -> None:
    page = client.get("/search", params={"q": "graph networks"}).text
    assert 'href="/search?q=graph+networks&amp;category=cs.CV">cs.CV <small>2</small>' in page
    assert 'href="/search?q=graph+networks&amp;from=2024-01-01&amp;to=2024-12-31">2024' in page
    narrowed = client.get("/search", params={"q": "graph networks", "category": "cs.CV"}).text
    assert "2 results for" in narrowed and 'class="chip active"' in narrowed
    assert 'href="/search?q=graph+networks">all</a>' in narrowed
    by_year = client.get(
        "/search", params={"q": "graph networks", "from": "2024-01-01", "to": "2024-12-31"}
    ).text
    assert "3 results for" in by_year
