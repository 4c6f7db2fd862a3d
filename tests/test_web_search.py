"""Search through the web: the HTML page, the JSON API and the Atom feed give the same results;
similar papers on the paper page and the API; bad input is a 4xx or an empty list, never a 500."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.embeddings import register_embedder
from dailypapers.embeddings.store import embed_pending
from dailypapers.search.semantic import SemanticSource
from dailypapers.web.app import create_app
from tests.fake_semantic import FakeEncoder, embed_all, fake_source
from tests.helpers import add_papers, record

TOPICS = [
    ("Spiking networks of the C. elegans cortex", "We model brain activity with spiking units."),
    ("Interpretability of units in language models", "Individual neurons encode features."),
    ("Denoising diffusion for images", "A score model generates images."),
    ("Graph node classification", "Message passing over graph nodes."),
    ("Protein folding with transformers", "Predicting structure of proteins."),
    ("Neurons that fire together", "Hebbian learning in recurrent neurons."),
]


@pytest.fixture
def hybrid(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An app over 36 papers (six topics, six days, two categories), all but one embedded."""
    records = []
    for n in range(36):
        title, abstract = TOPICS[n % 6]
        records.append(
            record(
                f"2506.{n + 1:05d}",
                f"2025-06-{16 + n // 6:02d}",
                title=f"{title} ({n})",
                abstract=abstract,
                categories=["cs.LG" if n % 2 else "q-bio.NC"],
            )
        )
    add_papers(engine, *records)
    index = embed_all(engine, skip=["2506.00036"])
    with TestClient(create_app(settings, semantic=fake_source(index))) as client:
        yield client


def _api(client: TestClient, **params: object) -> list[str]:
    response = client.get("/api/papers/search", params=params)
    assert response.status_code == 200, response.text
    return [entry["paper"]["id"] for entry in response.json()]


def _html(client: TestClient, **params: object) -> list[str]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    return re.findall(r'<article class="card" id="paper-([^"]+)"', response.text)


def _atom(client: TestClient, **params: object) -> list[str]:
    response = client.get("/feeds/search.atom", params=params)
    assert response.status_code == 200, response.text
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo
    return [entry.id.rsplit("/papers/", 1)[1] for entry in parsed.entries]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "neurons"},
        {"q": "neurons", "category": "q-bio.NC"},
        {"q": "brain activity", "from": "2025-06-17", "to": "2025-06-18"},
        {"q": "diffusion", "sort": "date"},
        {"q": "graph", "sort": "upvotes", "category": "cs.LG"},
    ],
)
def test_html_api_and_atom_agree(hybrid: TestClient, params: dict[str, str]) -> None:
    api = _api(hybrid, limit=30, **params)
    assert api
    assert _html(hybrid, **params) == api  # the page size is 30
    assert _atom(hybrid, **params)[:30] == api  # the feed has up to 50


def test_search_uses_meaning_and_filters(hybrid: TestClient) -> None:
    found = _api(hybrid, q="neurons", limit=100)
    titles = {
        e["paper"]["id"]: e["title"]
        for e in hybrid.get("/api/papers/search", params={"q": "neurons", "limit": 100}).json()
    }
    assert any(titles[i].startswith("Spiking") for i in found[:18])  # by meaning only
    for arxiv_id in _api(hybrid, q="neurons", category="cs.LG", limit=100):
        assert int(arxiv_id.split(".")[1]) % 2 == 0  # the odd n (cs.LG) have even ids
    window = _api(hybrid, q="neurons", limit=100, **{"from": "2025-06-18", "to": "2025-06-18"})
    assert window and all(12 < int(i.split(".")[1]) <= 18 for i in window)
    assert _api(hybrid, q="2506.00007") == ["2506.00007"]
    assert _api(hybrid, q="https://arxiv.org/abs/2506.00007v3") == ["2506.00007"]
    assert "2506.00036" in _api(hybrid, q="neurons fire together", limit=100)  # not embedded


def test_empty_query_is_the_daily_feed(hybrid: TestClient) -> None:
    daily = [e["paper"]["id"] for e in hybrid.get("/api/daily_papers").json()]
    assert daily and _api(hybrid, q="") == daily
    assert _atom(hybrid, q="  ") == _atom(hybrid)
    assert hybrid.get("/search", params={"q": ""}, follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "query",
    [
        "x" * 10_000,
        "neurons " * 1200,
        '"unbalanced',
        "NEAR(a b",
        "a* OR -b ((( AND",
        "🙂🧠 spiking",
        "$\\alpha + \\frac{1}{2}$ \\mathbb{R}^n",
        ")",
        "\x00\x1f",
    ],
)
def test_hostile_queries_everywhere(hybrid: TestClient, query: str) -> None:
    query = query[:10_000]
    assert isinstance(_api(hybrid, q=query), list)
    _html(hybrid, q=query)
    _atom(hybrid, q=query)


def test_bad_filters_are_400s(hybrid: TestClient) -> None:
    for path in ("/api/papers/search", "/search", "/feeds/search.atom"):
        for params in (
            {"q": "graph", "from": "yesterday"},
            {"q": "graph", "to": "2025-13-01"},
            {"q": "graph", "from": "2025-06-20", "to": "2025-06-01"},
            {"q": "graph", "sort": "random"},
            {"q": "x" * 10_001},
        ):
            response = hybrid.get(path, params=params)
            assert response.status_code in (400, 422), (path, params, response.status_code)


def test_similar_papers_page_and_api(hybrid: TestClient) -> None:
    similar = hybrid.get("/api/papers/2506.00001/similar", params={"limit": 5})
    assert similar.status_code == 200
    ids = [e["paper"]["id"] for e in similar.json()]
    assert len(ids) == 5 and "2506.00001" not in ids
    assert all(e["title"].startswith(("Spiking", "Neurons", "Interp")) for e in similar.json())
    page = hybrid.get("/papers/2506.00001")
    assert "Similar papers" in page.text and f'href="/papers/{ids[0]}"' in page.text
    # not embedded yet: similar by its title's words
    fallback = [e["title"] for e in hybrid.get("/api/papers/2506.00036/similar").json()]
    assert all("Neurons that fire together" in t for t in fallback[:5])  # the same title first
    assert hybrid.get("/api/papers/2506.99999/similar").status_code == 404
    assert hybrid.get("/api/papers/nonsense/similar").status_code == 400
    assert hybrid.get("/api/papers/2506.00001/similar", params={"limit": 0}).status_code == 400


def test_search_page_says_when_meaning_is_not_available(settings: Settings, engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", title="Graph node classification"),
        record("2506.00002", "2025-06-17", title="Graphs of proteins", abstract="Folding."),
    )

    def missing(_model: str) -> FakeEncoder:
        raise RuntimeError("no such model")

    index = embed_all(engine)
    source = SemanticSource(lambda: index, missing, background=False)
    with TestClient(create_app(settings, semantic=source)) as client:
        page = client.get("/search", params={"q": "graph"})
        assert page.status_code == 200 and "2506.00001" in page.text
        assert "Search by meaning is unavailable" in page.text
        # similar papers need stored vectors only, not the model
        similar = client.get("/api/papers/2506.00001/similar").json()
        assert [e["paper"]["id"] for e in similar] == ["2506.00002"]


def test_default_wiring_reads_stored_vectors(settings: Settings, engine: Engine) -> None:
    """The real path: vectors written by the embed run, open_index, the registered model."""
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", title=TOPICS[0][0], abstract=TOPICS[0][1]),
        record("2506.00002", "2025-06-17", title=TOPICS[2][0], abstract=TOPICS[2][1]),
    )
    embedder = FakeEncoder()
    register_embedder(embedder)
    settings.embedding_model = embedder.model_name
    with TestClient(create_app(settings)) as client:
        assert _api(client, q="neurons") == []  # nothing embedded: keywords alone
        embed_pending(engine, embedder)
        source: SemanticSource = client.app.state.semantic  # type: ignore[attr-defined]
        for _ in range(500):
            if source.current()[0] is not None:
                break
            time.sleep(0.01)
        assert source.current()[1] == "ready"
        # "neurons" is in neither paper: found by meaning (concept of spiking / brain)
        assert _api(client, q="neurons")[0] == "2506.00001"
        assert "starting up" not in client.get("/search", params={"q": "neurons"}).text


def test_only_the_page_marks_its_hits(hybrid: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The API and the Atom feed show no marked titles or snippets, so they make none (~0.5 ms a
    hit); the HTML page does."""
    import dailypapers.services.papers as papers

    calls: list[str] = []
    real = papers.snippet
    monkeypatch.setattr(papers, "snippet", lambda *a: calls.append("x") or real(*a))
    assert _api(hybrid, q="neurons")
    _atom(hybrid, q="neurons")
    assert calls == []
    assert _html(hybrid, q="neurons")
    assert calls
