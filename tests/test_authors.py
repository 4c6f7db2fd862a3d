"""Authors: the author index (normalised name keys kept in step with the papers), name queries
that rank that author's papers first, ``author:"..."``, the /authors/{name} pages and their Atom
feeds, author links on cards and paper pages, and bad names (never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import feedparser
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db import author_index
from dailypapers.db.author_index import name_tokens
from dailypapers.search.authors import name_matches
from dailypapers.services.papers import search_papers
from dailypapers.web.app import create_app
from tests.helpers import add_papers, record

PAPERS = [
    # (id, day, title, authors, categories)
    ("2506.00001", "2025-06-16", "Sparse attention for long documents",
     ["Tianyi Zhou", "Ada Lovelace"], ["cs.CL"]),
    ("2506.00002", "2025-06-18", "Zhou's method revisited: Tianyi graphs",
     ["Tao Zhou", "Grace Hopper"], ["cs.LG"]),
    ("2506.00003", "2025-06-19", "Reinforcement learning with sparse rewards",
     ["Grace Hopper", "T. Zhou"], ["cs.LG", "cs.AI"]),
    ("2506.00004", "2025-06-20", "Diffusion for audio",
     ["Tianyi Zhou", "José García-Núñez", "Seán O'Brien"], ["cs.SD"]),
    ("2506.00005", "2025-06-17", "Tianyi Zhou and the sparse attention of others",
     ["Tianyi Zhou-Li"], ["cs.CL"]),
    ("2506.00006", "2025-06-17", "Quantum dots", ["张伟", "Łukasz Kaiser"], ["quant-ph"]),
]  # fmt: skip


@pytest.fixture
def papers(engine: Engine) -> Engine:
    add_papers(
        engine,
        *(
            record(i, day, title=t, abstract=f"{t}. An abstract.", authors=a, categories=c)
            for i, day, t, a, c in PAPERS
        ),
    )
    return engine


@pytest.fixture
def client(settings: Settings, papers: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def _found(engine: Engine, query: str, **kw: object) -> list[str]:
    with Session(engine) as session:
        return [h.paper.arxiv_id for h in search_papers(session, query, **kw).hits]  # type: ignore[arg-type]


def test_names_are_normalised() -> None:
    assert name_tokens("José García-Núñez") == ["jose", "garcia", "nunez"]
    assert name_tokens("Seán O'Brien") == ["sean", "obrien"]
    assert name_tokens("Łukasz Kaiser") == ["lukasz", "kaiser"]
    assert name_tokens("Zhou, T.") == ["zhou", "t"]
    assert name_tokens("张伟") == ["张伟"]
    assert name_tokens("!!! ...") == []


def test_name_matching_rule() -> None:
    zhou = ["tianyi", "zhou"]
    assert name_matches(("tianyi", "zhou"), zhou)
    assert name_matches(("zhou", "tianyi"), zhou)
    assert name_matches(("t", "zhou"), zhou)
    assert name_matches(("tianyi", "zhou"), ["t", "zhou"])  # listed with an initial
    assert name_matches(("tianyi", "zhou"), ["tianyi", "a", "zhou"])  # a middle initial
    assert name_matches(("d", "petrini"), ["daniele", "marco", "petrini"])  # a middle name
    assert not name_matches(("marco", "petrini"), ["daniele", "marco", "petrini"])  # not the first
    assert not name_matches(("tianyi", "zhou"), ["tao", "zhou"])
    assert not name_matches(("tianyi", "zhou"), ["tianyi", "zhou", "li"])
    assert not name_matches(("tianyi", "zhou", "li"), zhou)


def test_the_index_follows_the_papers(papers: Engine) -> None:
    with papers.connect() as conn:
        rows = conn.execute(
            text("SELECT name_key FROM paper_authors ORDER BY paper_id, position")
        ).scalars()
        assert list(rows)[:3] == ["tianyi zhou", "ada lovelace", "tao zhou"]
    # a new version with other authors replaces the rows
    add_papers(papers, record("2506.00001", "2025-06-16", authors=["Alan Turing"], version=2))
    assert _found(papers, "Alan Turing")[0] == "2506.00001"
    assert "2506.00001" not in _found(papers, 'author:"Tianyi Zhou"')
    # rebuilt from the papers after losing rows (a crash, the migration on an old database)
    with papers.begin() as conn:
        conn.execute(text("DELETE FROM paper_authors WHERE paper_id > 2"))
    author_index.catch_up(papers, chunk=2)
    assert _found(papers, 'author:"Tianyi Zhou"') == ["2506.00004", "2506.00003"]


@pytest.mark.parametrize(
    "query", ["Tianyi Zhou", "tianyi zhou", "Zhou Tianyi", '"Tianyi Zhou"', "Zhou, Tianyi"]
)
def test_a_name_ranks_that_authors_papers_first(papers: Engine, query: str) -> None:
    found = _found(papers, query)
    # newest first; T. Zhou may be Tianyi; never Tao Zhou or Tianyi Zhou-Li
    assert found[:3] == ["2506.00004", "2506.00003", "2506.00001"]
    with Session(papers) as session:
        assert search_papers(session, query).author == query.strip('"')


def test_initials_and_accents(papers: Engine) -> None:
    assert _found(papers, "T. Zhou")[:4] == ["2506.00004", "2506.00003", "2506.00002", "2506.00001"]
    assert _found(papers, "Jose Garcia-Nunez")[0] == "2506.00004"
    assert _found(papers, "sean obrien")[0] == "2506.00004"
    assert _found(papers, "Lukasz Kaiser")[0] == "2506.00006"


def test_author_syntax_restricts_to_their_papers(papers: Engine) -> None:
    assert _found(papers, 'author:"Tianyi Zhou"') == ["2506.00004", "2506.00003", "2506.00001"]
    assert _found(papers, 'author:"Tianyi Zhou" sparse') == ["2506.00003", "2506.00001"]
    assert _found(papers, "sparse author:Hopper") == ["2506.00003"]
    assert _found(papers, "author:张伟") == ["2506.00006"]
    assert _found(papers, 'author:"Nobody Known"') == []


@pytest.mark.parametrize(
    "name", ["T", "T.", "'", "O'", "-", "张", "x" * 250, "a " * 125, "%", "_", "%25", "../.."]
)
def test_bad_names_never_fail(client: TestClient, name: str) -> None:
    api = client.get("/api/papers/search", params={"q": f'author:"{name}"'})
    assert api.status_code == 200 and api.json() == []
    assert client.get("/search", params={"q": name}).status_code == 200
    assert client.get("/authors/" + quote(name, safe="")).status_code in (400, 404)


def test_author_page(client: TestClient) -> None:
    page = client.get("/authors/" + quote("Zhou Tianyi"))
    assert page.status_code == 200
    html = page.text
    order = [html.index(f"paper-{i}") for i in ("2506.00004", "2506.00003", "2506.00001")]
    assert order == sorted(order) and "paper-2506.00002" not in html  # newest first, not Tao
    assert "<h1>Tianyi Zhou</h1>" in html  # the spelling most papers use
    assert 'href="/authors/Grace%20Hopper"' in html and "Grace Hopper</a> (1)" in html
    assert "cs.LG" in html and "cs.SD" in html
    feed = feedparser.parse(client.get("/authors/Tianyi%20Zhou.atom").text)
    assert [e.link.rsplit("/", 1)[-1] for e in feed.entries] == [
        "2506.00004",
        "2506.00003",
        "2506.00001",
    ]
    assert client.get("/authors/Nobody%20Known").status_code == 404
    assert client.get("/authors/" + "x" * 301).status_code == 400


def test_names_link_to_author_pages(client: TestClient) -> None:
    card = client.get("/papers/date/2025-06-20").text
    assert 'href="/authors/Jos%C3%A9%20Garc%C3%ADa-N%C3%BA%C3%B1ez"' in card
    assert 'href="/authors/Se%C3%A1n%20O%27Brien"' in card
    paper = client.get("/papers/2506.00006").text
    assert 'href="/authors/%E5%BC%A0%E4%BC%9F"' in paper
    assert client.get("/authors/Se%C3%A1n%20O%27Brien").status_code == 200
    search = client.get("/search", params={"q": "Tianyi Zhou"}).text
    assert "Papers by" in search and 'href="/authors/Tianyi%20Zhou"' in search
