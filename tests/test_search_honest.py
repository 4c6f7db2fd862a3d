"""Search that says what it found: the relevance floor (nonsense finds nothing, counts mean
something), an honest empty page and API list, and which mode answered (X-Search-Mode, the page's
note while meaning is loading, off or still embedding)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.search import dense, hybrid, semantic
from dailypapers.search.dense import above_floor
from dailypapers.search.hybrid import DENSE_FLOOR, Semantic
from dailypapers.search.semantic import SemanticSource
from dailypapers.services.papers import search_papers
from dailypapers.web.app import create_app
from tests.fake_semantic import FakeEncoder, embed_all, encode, fake_source
from tests.helpers import add_papers, record
from tests.test_search_beside import _Never

TOPICS = [
    ("Spiking networks of the C. elegans cortex", "We model brain activity with spiking units."),
    ("Denoising diffusion for images", "A score model generates images."),
    ("Graph node classification", "Message passing over graph nodes."),
    ("Protein folding with transformers", "Predicting structure of proteins."),
]
NONSENSE = ["xqzvbnmw", "zzkq vbnw", "qwfp 9931 lkjh"]


@pytest.fixture
def papers(engine: Engine) -> Engine:
    add_papers(
        engine,
        *(
            record(f"2506.{n + 1:05d}", "2025-06-17", title=f"{t} ({n})", abstract=a)
            for n, (t, a) in enumerate(TOPICS * 3)
        ),
    )
    return engine


@pytest.fixture
def client(settings: Settings, papers: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, semantic=fake_source(embed_all(papers)))) as client:
        yield client


def test_the_floor_drops_far_neighbours_only(papers: Engine) -> None:
    index = embed_all(papers)
    ids = sorted(index.vectors_for(range(1, 13)))
    near = above_floor(index, encode("spiking brain"), ids, DENSE_FLOOR)
    assert near == [1, 5, 9]  # the three spiking-network papers, in the order given
    assert above_floor(index, encode("xqzvbnmw"), ids, DENSE_FLOOR) == []
    assert above_floor(index, encode("xqzvbnmw"), ids, -1.0) == ids  # no floor: everything


def test_the_floor_spares_the_keyword_halfs_papers(papers: Engine) -> None:
    index = embed_all(papers)
    ids = sorted(index.vectors_for(range(1, 13)))
    assert above_floor(index, encode("xqzvbnmw"), ids, DENSE_FLOOR, {7, 3}) == [3, 7]
    near = above_floor(index, encode("spiking brain"), ids, DENSE_FLOOR, {3})
    assert near == [1, 3, 5, 9]  # in the order given


def test_floored_keeps_the_scores_at_the_floor_and_the_spared() -> None:
    ids = np.array([4, 8, 2, 6], np.int64)
    scores = np.array([0.9, 0.4, 0.1, -0.2], np.float32)
    assert dense._floored(ids, scores, 0.4, ()).tolist() == [4, 8]
    assert dense._floored(ids, scores, 0.4, {6, 99}).tolist() == [4, 8, 6]
    assert dense._floored(ids, scores, None, ()).tolist() == [4, 8, 2, 6]
    assert dense._floored(ids, scores, -1.0, ()).tolist() == [4, 8, 2, 6]


@pytest.mark.parametrize("apart", [False, True], ids=["at-once", "one-after-the-other"])
def test_a_keyword_match_under_the_floor_keeps_its_rank_by_meaning(
    papers: Engine, monkeypatch: pytest.MonkeyPatch, apart: bool
) -> None:
    """ "message" is in the three graph papers' abstracts only, the other words in none: the
    query's meaning is far from every paper (cosine ~0.1), so no paper is in the results by
    meaning alone — but the graph papers, found by their word, are near the query too, nearer
    than the rest, and the fusion hears it: the dense half lists them."""
    if apart:
        monkeypatch.setattr(hybrid, "_BESIDE", _Never())
    fused: list[list[list[int]]] = []
    real = hybrid.rrf_fuse

    def spy(rankings: list[list[int]], **kwargs: object) -> list[tuple[int, float]]:
        fused.append([list(r) for r in rankings])
        return real(rankings, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hybrid, "rrf_fuse", spy)
    semantic = Semantic(FakeEncoder(), embed_all(papers))
    query = "message xqzvbnmw zzkq vbnw qwfp"
    vector = encode(query)
    index = embed_all(papers)
    assert max(float(v @ vector) for v in index.vectors_for(range(1, 13)).values()) < DENSE_FLOOR
    with Session(papers) as session:
        found = search_papers(session, query, semantic=semantic)
        nonsense = search_papers(session, "xqzvbnmw zzkq", semantic=semantic)
    graph = [3, 7, 11]
    assert sorted(h.paper.id for h in found.hits) == graph  # the results: its keyword matches
    keyword, meaning = fused[0]
    assert sorted(keyword) == graph and sorted(meaning) == graph
    assert (nonsense.hits, nonsense.total) == ([], 0)  # nothing under the floor without a word


@pytest.mark.parametrize("query", NONSENSE)
def test_nonsense_finds_nothing(papers: Engine, query: str) -> None:
    semantic = Semantic(FakeEncoder(), embed_all(papers))
    with Session(papers) as session:
        found = search_papers(session, query, semantic=semantic)
        assert (found.hits, found.total, found.mode) == ([], 0, "hybrid")


def test_without_the_floor_nonsense_would_find_everything(
    papers: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard above is the floor: switched off, every nearest neighbour comes back."""
    monkeypatch.setattr(hybrid, "DENSE_FLOOR", -1.0)
    monkeypatch.setattr(hybrid, "NO_WORD_FLOOR", -1.0)
    with Session(papers) as session:
        found = search_papers(
            session, "xqzvbnmw", semantic=Semantic(FakeEncoder(), embed_all(papers))
        )
        assert found.total == 12


def test_a_query_sharing_no_word_needs_the_higher_floor(
    papers: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "neurons" is in no paper: its neighbours by meaning must reach NO_WORD_FLOOR; with a word
    the papers have ("graph"), DENSE_FLOOR is enough."""
    index = embed_all(papers)
    semantic = Semantic(FakeEncoder(), index)
    score = float(index.vectors_for([1])[1] @ encode("neurons"))
    monkeypatch.setattr(hybrid, "DENSE_FLOOR", score - 0.01)
    with Session(papers) as session:
        monkeypatch.setattr(hybrid, "NO_WORD_FLOOR", score + 0.01)
        assert search_papers(session, "neurons", semantic=semantic).total == 0
        monkeypatch.setattr(hybrid, "NO_WORD_FLOOR", score - 0.01)
        assert search_papers(session, "neurons", semantic=semantic).total == 3
        monkeypatch.setattr(hybrid, "NO_WORD_FLOOR", 0.99)
        assert search_papers(session, "neurons", semantic=semantic).total == 0
        monkeypatch.setattr(hybrid, "DENSE_FLOOR", -1.0)  # (every paper by meaning)
        with_a_word = search_papers(session, "graph neurons", semantic=semantic).total
        monkeypatch.setattr(hybrid, "DENSE_FLOOR", 0.99)
        words_only = search_papers(session, "graph neurons", semantic=semantic).total
        assert with_a_word > words_only > 0  # a word matched: DENSE_FLOOR, not NO_WORD_FLOOR


def test_counts_are_the_results_that_pass(papers: Engine) -> None:
    semantic = Semantic(FakeEncoder(), embed_all(papers))
    with Session(papers) as session:
        found = search_papers(session, "neurons", semantic=semantic)
        assert found.total == 3 and not found.more  # the spiking papers, by meaning
        page = search_papers(session, "graph", semantic=semantic, limit=1)
        assert page.total == 3 and len(page.hits) == 1


def test_more_when_a_method_fills_its_depth(
    papers: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hybrid, "CANDIDATES", 2)
    with Session(papers) as session:
        found = search_papers(session, "graph", limit=2)
        assert found.total == 2 and found.more


@pytest.mark.parametrize("apart", [False, True], ids=["at-once", "one-after-the-other"])
def test_no_more_when_the_dense_half_ends_under_the_floor(
    papers: Engine, monkeypatch: pytest.MonkeyPatch, apart: bool
) -> None:
    """The three spiking-network papers are near "neurons" (a word of no paper), then a graph
    paper, found by "message" and far: the dense half's 4 are full, but its last is under the
    floor, so no paper beyond it passes: not "4+"."""
    if apart:
        monkeypatch.setattr(hybrid, "_BESIDE", _Never())
    monkeypatch.setattr(hybrid, "CANDIDATES", 4)
    query = "neurons message xqzvbnmw"
    index = embed_all(papers)
    near = sorted(
        index.vectors_for(range(1, 13)).items(), key=lambda p: -float(p[1] @ encode(query))
    )
    cosines = [float(v @ encode(query)) for _, v in near]
    assert [i for i, _ in near[:3]] == [1, 5, 9] and min(cosines[:3]) >= DENSE_FLOOR
    assert near[3][0] in (3, 7, 11) and cosines[3] < DENSE_FLOOR
    with Session(papers) as session:
        found = search_papers(session, query, semantic=Semantic(FakeEncoder(), index), limit=2)
    assert found.total == 6  # the three near ones and the three graph papers (by their word)
    assert not found.more


def test_api_empty_list_and_mode_header(client: TestClient) -> None:
    answer = client.get("/api/papers/search", params={"q": "xqzvbnmw"})
    assert answer.status_code == 200 and answer.json() == []
    assert answer.headers["X-Search-Mode"] == "hybrid"
    found = client.get("/api/papers/search", params={"q": "neurons"})
    assert len(found.json()) == 3 and found.headers["X-Search-Mode"] == "hybrid"


def test_honest_empty_page(client: TestClient) -> None:
    page = client.get("/search", params={"q": "xqzvbnmw", "category": "cs.CV"})
    assert page.status_code == 200
    assert "No papers match “xqzvbnmw” in cs.CV" in page.text
    assert 'href="/search?q=xqzvbnmw"' in page.text  # the search without its filters
    assert "result" not in page.text.split("No papers match")[0].split("</form>")[-1]


def test_page_count_says_plus_when_there_are_more(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "3 results for" in client.get("/search", params={"q": "graph"}).text
    monkeypatch.setattr(hybrid, "MAX_DEPTH", 2)  # the page asks for 20: at most 2 are ranked
    assert "2+ results for" in client.get("/search", params={"q": "graph"}).text


def test_keyword_mode_is_said(settings: Settings, papers: Engine) -> None:
    source = SemanticSource(lambda: None, lambda _m: FakeEncoder(), background=False)
    with TestClient(create_app(settings, semantic=source)) as client:
        answer = client.get("/api/papers/search", params={"q": "graph"})
        assert answer.headers["X-Search-Mode"] == "keyword" and len(answer.json()) == 3
        page = client.get("/search", params={"q": "graph"}).text
        assert "Search by meaning is off until papers are embedded" in page


def test_partly_embedded_is_said(settings: Settings, papers: Engine) -> None:
    index = embed_all(papers, skip=["2506.00012"])
    counted = {"papers": 12}
    source = SemanticSource(
        lambda: index,
        lambda _m: FakeEncoder(),
        background=False,
        count_papers=lambda: counted["papers"],
    )
    assert source.current()[1] == "partial"
    with TestClient(create_app(settings, semantic=source)) as client:
        answer = client.get("/api/papers/search", params={"q": "graph"})
        assert answer.headers["X-Search-Mode"] == "hybrid"
        assert (
            "Papers are still being embedded" in client.get("/search", params={"q": "graph"}).text
        )
    full = SemanticSource(
        lambda: embed_all(papers),
        lambda _m: FakeEncoder(),
        background=False,
        count_papers=lambda: 12,
    )
    assert full.current()[1] == "ready"


def test_papers_are_recounted_off_the_request_path(
    papers: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recount (330 ms at 2.5 M papers on PostgreSQL) runs on a thread of its own: requests
    meanwhile take the last count, and one recount runs at a time."""
    index = embed_all(papers, skip=["2506.00012"])
    release = threading.Event()
    counted = {"papers": 12, "times": 0}

    def count() -> int:
        counted["times"] += 1
        if counted["times"] > 1:
            assert release.wait(10)
        return counted["papers"]

    source = SemanticSource(lambda: index, lambda _m: FakeEncoder(), count_papers=count)
    began = time.monotonic()
    while source.current()[1] == "loading":  # the index and the encoder load on threads
        assert time.monotonic() - began < 10
        time.sleep(0.01)
    assert source.current()[1] == "partial" and counted["times"] == 1  # counted by the request
    monkeypatch.setattr(semantic, "COVERAGE_CHECK_S", 0.0)
    began = time.monotonic()
    assert [source.current()[1] for _ in range(3)] == ["partial"] * 3  # the last count
    assert time.monotonic() - began < 1  # not waiting for the recount
    counted["papers"] = 11  # a paper deleted: every paper left has a vector
    release.set()
    while source._papers.running:
        assert time.monotonic() - began < 10
        time.sleep(0.01)
    assert counted["times"] == 2  # one recount for the three requests
    assert source.current()[1] == "ready"


def test_the_default_wiring_counts_papers(settings: Settings, papers: Engine) -> None:
    from dailypapers.runtime import Runtime

    source = Runtime().semantic_source(settings, papers)
    assert source._count_papers is not None and source._count_papers() == 12
