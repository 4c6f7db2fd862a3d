"""Hybrid search: reciprocal-rank fusion, dense ranking under filters, the search service, and
similar papers — on a fresh database with a tiny deterministic encoder (tests/fake_semantic.py)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime

import numpy as np
import pytest
from sqlalchemy import Engine, text, update
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper
from dailypapers.embeddings import Embedder
from dailypapers.search import dense, fts, hybrid
from dailypapers.search import semantic as semantic_module
from dailypapers.search.dense import dense_ranking, exact_ranking
from dailypapers.search.fts import SearchFilters, keyword_ranking
from dailypapers.search.fts_query import Phrase
from dailypapers.search.hybrid import RRF_K, Semantic, rrf_fuse
from dailypapers.search.rescore import _key, rescore, rescored_ranking
from dailypapers.search.semantic import SemanticSource
from dailypapers.services.papers import search_papers, similar_papers
from dailypapers.vectors import ExactIndex
from tests.fake_semantic import (
    DIM,
    MODEL,
    CountingBackend,
    FakeEncoder,
    FakeIndex,
    embed_all,
    encode,
)
from tests.helpers import add_papers, record

PAPERS = [
    ("2506.00001", "2025-06-16", "Spiking networks of the C. elegans cortex",
     "We model brain activity with spiking units.", ["q-bio.NC"]),
    ("2506.00002", "2025-06-17", "Interpretability of units in language models",
     "Individual neurons encode features of text.", ["cs.CL"]),
    ("2506.00003", "2025-06-18", "Denoising diffusion for images",
     "A score model generates images.", ["cs.CV"]),
    ("2506.00004", "2025-06-19", "Graph node classification",
     "Message passing over graph nodes.", ["cs.LG"]),
    ("2506.00005", "2025-06-20", "Protein folding with transformers",
     "Predicting structure of proteins.", ["q-bio.BM"]),
    ("2506.00006", "2025-06-20", "Neurons that fire together",
     "Hebbian learning in recurrent neurons.", ["q-bio.NC"]),
]  # fmt: skip


def _ids(session: Session, paper_ids: list[int]) -> list[str]:
    by_id = {p.id: p.arxiv_id for p in session.query(Paper).filter(Paper.id.in_(paper_ids))}
    return [by_id[i] for i in paper_ids]


@pytest.fixture
def papers(engine: Engine) -> Engine:
    add_papers(
        engine,
        *(record(i, day, title=t, abstract=a, categories=c) for i, day, t, a, c in PAPERS),
    )
    return engine


def _semantic(engine: Engine, skip: tuple[str, ...] = ()) -> Semantic:
    return Semantic(FakeEncoder(), embed_all(engine, skip=skip))


# --- fusion ------------------------------------------------------------------------------------


def test_rrf_fuses_known_ranks() -> None:
    fused = rrf_fuse([[1, 2, 3], [3, 1, 4]], k=60)
    assert [i for i, _ in fused] == [1, 3, 2, 4]
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[4] == pytest.approx(1 / 63)


def test_rrf_constant_weights_and_ties() -> None:
    # an item both lists rank third beats an item one list ranks first only when k is large
    rankings = [[10, 20, 30], [40, 50, 30]]
    assert rrf_fuse(rankings, k=1)[0][0] == 10
    assert rrf_fuse(rankings, k=100)[0][0] == 30
    assert [i for i, _ in rrf_fuse([[1], [2]])] == [1, 2]  # a tie keeps first-seen order
    assert [i for i, _ in rrf_fuse([[1], [2]], weights=[1.0, 2.0])] == [2, 1]
    assert rrf_fuse([[], []]) == []
    assert RRF_K > 0


# --- dense ranking under filters ---------------------------------------------------------------


Meta = dict[int, tuple[str, date]]


def _clustered_papers(engine: Engine, n: int = 120) -> tuple[ExactIndex, Meta]:
    """``n`` papers in four categories over four weeks, vectors in five clusters; the index and
    each paper's (category, day) by database id."""
    rng = np.random.default_rng(7)
    cats = ["cs.CL", "cs.CV", "cs.LG", "stat.ML"]
    made = {f"2506.{i:05d}": (cats[i % 4], date(2025, 6, 1 + i % 28)) for i in range(n)}
    add_papers(
        engine,
        *(record(a, day.isoformat(), categories=[c]) for a, (c, day) in made.items()),
    )
    with engine.connect() as conn:
        ids = {r[1]: int(r[0]) for r in conn.execute(text("SELECT id, arxiv_id FROM papers"))}
    centres = rng.normal(size=(5, 16))
    vectors, meta = {}, {}
    for arxiv_id, paper_id in sorted(ids.items()):
        v = centres[paper_id % 5] + 0.6 * rng.normal(size=16)
        vectors[paper_id] = (v / np.linalg.norm(v)).astype(np.float32)
        meta[paper_id] = made[arxiv_id]
    return FakeIndex(vectors), meta


def _brute(index: ExactIndex, query: np.ndarray, allowed: set[int], depth: int) -> list[int]:
    vectors = index.vectors_for(allowed)
    return sorted(allowed, key=lambda i: (-float(vectors[i] @ query), i))[:depth]


@pytest.mark.parametrize("exact_max", [0, 10_000])  # over-fetch path, exact path
def test_filtered_dense_ranking_is_exact(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, exact_max: int
) -> None:
    index, meta = _clustered_papers(engine)
    monkeypatch.setattr(dense, "EXACT_FILTER_MAX", exact_max)
    deleted = {3, 7, 11}
    with engine.begin() as conn:
        conn.execute(
            update(Paper).where(Paper.id.in_(deleted)).values(deleted_at=datetime.now(UTC))
        )
    query = index.vectors_for([42])[42]
    june_3_4 = (date(2025, 6, 3), date(2025, 6, 4))
    cases = [
        (SearchFilters(), set(meta)),
        (SearchFilters(category="cs.CV"), {i for i, (c, _) in meta.items() if c == "cs.CV"}),
        (
            SearchFilters(category="cs.LG", since=june_3_4[0], until=june_3_4[1]),
            {i for i, (c, d) in meta.items() if c == "cs.LG" and june_3_4[0] <= d <= june_3_4[1]},
        ),
    ]
    with engine.connect() as conn:
        for filters, allowed in cases:
            got = dense_ranking(conn, index, query, filters, depth=10)
            assert got and got == _brute(index, query, allowed - deleted, 10), filters


def test_exact_ranking_skips_papers_without_vectors(papers: Engine) -> None:
    index = embed_all(papers, skip=["2506.00001"])
    with papers.connect() as conn:
        got = exact_ranking(conn, index, encode("brain"), SearchFilters(category="q-bio.NC"), 5)
        assert got == [6]  # paper 1 has no vector yet; paper 6 is the only other one in q-bio.NC
        assert dense_ranking(conn, FakeIndex(), encode("brain"), depth=5) == []


# --- the search service ------------------------------------------------------------------------


def test_hybrid_finds_by_meaning_where_keywords_cannot(papers: Engine) -> None:
    with Session(papers) as session:
        keyword = search_papers(session, "neurons")
        assert keyword.mode == "keyword"
        assert {h.paper.arxiv_id for h in keyword.hits} == {"2506.00002", "2506.00006"}
        hybrid = search_papers(session, "neurons", semantic=_semantic(papers))
        assert hybrid.mode == "hybrid"
        found = [h.paper.arxiv_id for h in hybrid.hits]
        # the spiking-network paper never says "neurons" but means it
        assert set(found[:3]) == {"2506.00001", "2506.00002", "2506.00006"}
        assert found[0] == "2506.00006"  # matched by both methods, and first by keyword
        # the other papers are nearest neighbours too, but far below the relevance floor
        assert hybrid.total == 3 and len(found) == 3 and not hybrid.more
        marked = {h.paper.arxiv_id: h for h in hybrid.hits}
        assert "\x02" in (marked["2506.00006"].title_marked or "")
        assert marked["2506.00001"].title_marked is None  # no word to mark


def test_papers_not_yet_embedded_are_found_by_keyword(papers: Engine) -> None:
    with Session(papers) as session:
        semantic = _semantic(papers, skip=("2506.00005",))
        found = search_papers(session, "protein folding", semantic=semantic)
        assert found.hits[0].paper.arxiv_id == "2506.00005"


def test_filters_and_sorts_apply_to_both_methods(papers: Engine) -> None:
    semantic = _semantic(papers)
    with Session(papers) as session:
        session.execute(update(Paper).where(Paper.arxiv_id == "2506.00001").values(upvotes=5))
        in_category = search_papers(
            session, "neurons", SearchFilters(category="q-bio.NC"), semantic=semantic
        )
        assert {h.paper.arxiv_id for h in in_category.hits} == {"2506.00001", "2506.00006"}
        window = SearchFilters(since=date(2025, 6, 17), until=date(2025, 6, 19))
        dated = search_papers(session, "neurons", window, semantic=semantic)
        assert all(
            date(2025, 6, 17) <= h.paper.announced_on <= date(2025, 6, 19) for h in dated.hits
        )
        assert "2506.00002" in {h.paper.arxiv_id for h in dated.hits}
        by_date = search_papers(session, "neurons", SearchFilters(sort="date"), semantic=semantic)
        days = [h.paper.announced_on for h in by_date.hits]
        assert days == sorted(days, reverse=True)
        by_votes = search_papers(
            session, "neurons", SearchFilters(sort="upvotes"), semantic=semantic
        )
        assert by_votes.hits[0].paper.arxiv_id == "2506.00001"
        paged = search_papers(session, "neurons", semantic=semantic, limit=2, offset=2)
        assert [h.paper.arxiv_id for h in paged.hits] == [
            h.paper.arxiv_id for h in search_papers(session, "neurons", semantic=semantic).hits
        ][2:4]


def test_id_jump_and_deleted_papers(papers: Engine) -> None:
    semantic = _semantic(papers)
    with Session(papers) as session:
        for query in ("2506.00003", "arXiv:2506.00003v2", "https://arxiv.org/pdf/2506.00003v1"):
            jumped = search_papers(session, query, semantic=semantic)
            assert jumped.exact_id and [h.paper.arxiv_id for h in jumped.hits] == ["2506.00003"]
        session.execute(
            update(Paper).where(Paper.arxiv_id == "2506.00006").values(deleted_at=datetime.now(UTC))
        )
        found = search_papers(session, "neurons", semantic=semantic)
        assert "2506.00006" not in {h.paper.arxiv_id for h in found.hits}
        assert not search_papers(session, "2506.00006", semantic=semantic).exact_id


def test_keyword_ranking_depth_and_column(papers: Engine) -> None:
    with papers.connect() as conn:
        assert len(keyword_ranking(conn, "units")) == 2
        assert len(keyword_ranking(conn, "units", depth=1)) == 1
        # "cortex" is in a title only: an abstract-only search does not see it
        assert keyword_ranking(conn, "cortex") != []
        assert keyword_ranking(conn, "cortex", column="abstract") == []
        assert keyword_ranking(conn, '"((( NEAR *') == []


@pytest.mark.parametrize(
    "query", ['"unbalanced', "NEAR(a b", "a* OR -b (((", "x" * 10_000, "🙂 $\\alpha$ \\frac{1}{2}"]
)
def test_hostile_queries_in_hybrid_mode(papers: Engine, query: str) -> None:
    backend = CountingBackend()
    semantic = Semantic(Embedder(MODEL, DIM, backend), embed_all(papers))
    with Session(papers) as session:
        results = search_papers(session, query, semantic=semantic)
        assert isinstance(results.hits, list)
    assert len(backend.texts) == 1 and len(backend.texts[0]) <= 1000  # long queries are cut


# --- similar papers ----------------------------------------------------------------------------


def test_similar_papers_by_vector_then_title(papers: Engine) -> None:
    semantic = _semantic(papers)
    with Session(papers) as session:
        spiking = session.query(Paper).filter_by(arxiv_id="2506.00001").one()
        similar = [p.arxiv_id for p in similar_papers(session, spiking, semantic.index, limit=2)]
        assert similar == ["2506.00006", "2506.00002"]  # the brain/neuron papers, never itself
        session.execute(
            update(Paper).where(Paper.arxiv_id == "2506.00006").values(deleted_at=datetime.now(UTC))
        )
        assert "2506.00006" not in [
            p.arxiv_id for p in similar_papers(session, spiking, semantic.index)
        ]
        # no vector for this paper yet: BM25 on its title ("... in language models" -> "units")
        no_vector = Semantic(FakeEncoder(), embed_all(papers, skip=("2506.00002",)))
        interp = session.query(Paper).filter_by(arxiv_id="2506.00002").one()
        by_title = [p.arxiv_id for p in similar_papers(session, interp, no_vector.index)]
        assert by_title and "2506.00002" not in by_title
        assert by_title == [p.arxiv_id for p in similar_papers(session, interp, None)]


# --- where the web process gets the dense half -------------------------------------------------


def test_semantic_source_loads_off_the_request_path() -> None:
    index = FakeIndex({1: encode("brain")})
    release = threading.Event()

    def slow_index() -> ExactIndex:
        release.wait(5)  # the first read of every stored vector
        return index

    def encoder(model: str) -> Embedder:
        assert model == MODEL  # the encoder of the index's model
        return FakeEncoder()

    source = SemanticSource(slow_index, encoder)
    assert source.current() == (None, "loading")
    assert source.index() == (None, "loading")
    release.set()
    for _ in range(500):
        semantic, status = source.current()
        if semantic is not None:
            break
        time.sleep(0.01)
    assert status == "ready" and semantic is not None and semantic.index is index


def test_semantic_source_degrades_without_vectors_or_model(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = SemanticSource(lambda: None, lambda _m: FakeEncoder(), background=False)
    assert empty.current() == (None, "no-vectors")

    def broken(_model: str) -> Embedder:
        raise RuntimeError("model weights missing")

    tries: list[str] = []

    def once_broken(model: str) -> Embedder:  # a load that fails for a passing reason
        tries.append(model)
        if len(tries) == 1:
            raise RuntimeError("model weights missing")
        return FakeEncoder()

    failing = SemanticSource(lambda: FakeIndex({1: encode("x")}), once_broken, background=False)
    assert failing.current() == (None, "unavailable")
    assert failing.current() == (None, "unavailable")  # not retried on every request
    assert failing.index()[0] is not None  # similar papers still have the stored vectors
    assert len(tries) == 1
    monkeypatch.setattr(semantic_module, "ENCODER_RETRY_S", 0.0)  # a minute later, say
    semantic, status = failing.current()
    assert semantic is not None and status == "ready" and len(tries) == 2
    assert SemanticSource(
        lambda: FakeIndex({1: encode("x")}), broken, background=False
    ).current() == (
        None,
        "unavailable",
    )

    def corrupt() -> ExactIndex:
        raise OSError("index file garbled")

    assert SemanticSource(corrupt, lambda _m: FakeEncoder(), background=False).current() == (
        None,
        "unavailable",
    )
    assert "keywords only" in caplog.text


def test_keyword_only_without_fts_match_returns_semantic_neighbours(papers: Engine) -> None:
    with Session(papers) as session, papers.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM papers")).scalar() == len(PAPERS)
        found = search_papers(session, "cortex brain", semantic=_semantic(papers))
        assert found.hits[0].paper.arxiv_id == "2506.00001"


def test_keyword_ranking_is_bounded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add_papers(
        engine,
        *(
            record(f"2506.{n:05d}", "2025-06-17", title=f"Common word {n}", abstract="Shared text.")
            for n in range(1, 11)
        ),
        record("2506.00011", "2025-06-18", title="Rare zebra", abstract="Shared text."),
    )
    monkeypatch.setattr(fts, "MAX_RANKED_MATCHES", 3)
    monkeypatch.setattr(fts, "COMMON_WORD_MIN", 2)
    with engine.connect() as conn:
        ids = {r[1]: r[0] for r in conn.execute(text("SELECT id, arxiv_id FROM papers"))}
        newest = sorted(ids.values())[-4:]  # the cap counts matches, then one more
        assert sorted(keyword_ranking(conn, "shared", depth=100)) == newest
        # any-word: "shared" is in every paper, so it is left out and "zebra" decides
        assert keyword_ranking(conn, "zebra shared", any_term=True) == [ids["2506.00011"]]


def test_keyword_ranking_prefers_papers_with_two_words(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", title="Zebra", abstract="Stripes."),
        record("2506.00002", "2025-06-17", title="Zebra okapi", abstract="Stripes."),
        record("2506.00003", "2025-06-17", title="Quagga", abstract="Stripes."),
    )
    with engine.connect() as conn:
        ids = {r[1]: r[0] for r in conn.execute(text("SELECT id, arxiv_id FROM papers"))}
        # no paper has all three words: those with two of them, before any with one
        assert keyword_ranking(conn, "zebra okapi quagga") == [ids["2506.00002"]]
        assert keyword_ranking(conn, "zebra okapi quagga", any_term=True) == [ids["2506.00002"]]
        # no two words meet either: any one will do
        assert len(keyword_ranking(conn, "zebra quagga gnu")) == 3


@pytest.fixture
def common_words(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Twelve papers in which "state", "the", "of", "art" and "model" are common words (in more
    than COMMON_WORD_SHARE of them, once COMMON_WORD_MIN allows so few papers to tell)."""
    add_papers(
        engine,
        *(
            record(f"2506.{n:05d}", "2025-06-17", title=f"The model {n}", abstract="Of state art.")
            for n in range(1, 10)
        ),
        record(
            "2506.00010", "2025-06-18", title="Zebra", abstract="A state-of-the-art zebra model."
        ),
        record("2506.00011", "2025-06-18", title="Okapi", abstract="The art of a zebra state."),
        record("2506.00012", "2025-06-19", title="Model of the state", abstract="Of the art."),
    )
    monkeypatch.setattr(fts, "COMMON_WORD_MIN", 2)
    with engine.connect() as conn:
        return {r[1]: r[0] for r in conn.execute(text("SELECT id, arxiv_id FROM papers"))}


def test_a_phrase_leaves_its_common_words_out(engine: Engine, common_words: dict[str, int]) -> None:
    with engine.connect() as conn:
        # the common words of a phrase with rarer ones become a gap of as many words
        term = fts._phrase(conn, fts.WordShares(), ("state", "of", "the", "zebra"), 12)
        assert term.phrase == Phrase.of("zebra")
        term = fts._phrase(conn, fts.WordShares(), ("zebra", "of", "the", "okapi", "giraffe"), 12)
        assert term.phrase == Phrase((("zebra",), ("okapi", "giraffe")), (2,))
        assert fts._phrase(
            conn, fts.WordShares(), ("state", "of", "the", "art"), 12
        ).phrase == Phrase.of("state", "of", "the", "art")
        assert term.postings > 0
        # "state of the art zebra" is matched as "zebra" (zebra in the title first); a phrase of
        # common words only stays a phrase
        found = keyword_ranking(conn, '"state of the art zebra"')
        assert found == [common_words["2506.00010"], common_words["2506.00011"]]
        assert keyword_ranking(conn, '"state of the art"') == [common_words["2506.00010"]]


def test_common_words_beyond_the_budget_rank_titles_then_newest(
    engine: Engine, common_words: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = common_words
    with engine.connect() as conn:
        scored = keyword_ranking(conn, "state model")
        monkeypatch.setattr(fts, "POSTINGS_BUDGET", 4)  # "state model" reads ~24 papers' lists
        cheap = keyword_ranking(conn, "state model")
        assert sorted(cheap) != sorted(scored)  # only the newest papers are read
        assert set(cheap) < set(scored)
        # the title matches first (newest first), then the others
        assert cheap[0] == ids["2506.00012"]
        assert cheap == sorted(cheap, key=lambda i: (i != ids["2506.00012"], -i))
        # filters apply to what was read: the newest papers only
        newest_day = SearchFilters(since=date(2025, 6, 19))
        assert keyword_ranking(conn, "state model", newest_day) == [ids["2506.00012"]]
        assert keyword_ranking(conn, "state model", SearchFilters(until=date(2025, 6, 17))) == []
        # the rarest words are kept and matched with BM25 as before
        assert keyword_ranking(conn, "zebra okapi") == [ids["2506.00011"]]
        assert set(keyword_ranking(conn, "zebra state")) == {ids["2506.00010"], ids["2506.00011"]}


RESCORED = [
    ("2506.00001", "Graph nodes by message passing", "Nodes pass messages."),
    ("2506.00002", "Zebra okapi", "Stripes."),
    ("2506.00003", "Quagga gnu", "Stripes."),
    ("2506.00004", "Message passing in networks", "Stripes."),
    ("2506.00005", "Message passing at scale", "Stripes."),
    ("2506.00006", "Message passing for zebra okapi quagga gnu", "Everything."),
    ("2506.00007", "Nothing to see", "Stripes."),
]
PARAPHRASE = "zebra okapi quagga gnu message passing"  # its rarest five: the animals and one more


@pytest.fixture
def rescored(engine: Engine) -> dict[str, int]:
    add_papers(engine, *(record(i, "2025-06-17", title=t, abstract=a) for i, t, a in RESCORED))
    with engine.connect() as conn:
        return {r[1]: r[0] for r in conn.execute(text("SELECT id, arxiv_id FROM papers"))}


def test_candidates_are_rescored_by_every_word(engine: Engine, rescored: dict[str, int]) -> None:
    ids = rescored
    with engine.connect() as conn:
        # the keyword half alone: one paper holds every word; the graph paper only two of them,
        # and but one of the rarest five: it is not found at all
        assert keyword_ranking(conn, PARAPHRASE) == [ids["2506.00006"]]
        assert ids["2506.00001"] not in keyword_ranking(conn, PARAPHRASE, any_term=True)
        # given candidates, each one holding any of the words is scored on all of them
        found = rescored_ranking(conn, PARAPHRASE, list(ids.values()))
        assert found[0] == ids["2506.00006"]  # all six words
        assert set(found) == {ids[f"2506.0000{n}"] for n in range(1, 7)}  # not "Nothing to see"
        some = [ids["2506.00001"], ids["2506.00002"], ids["2506.00007"]]
        assert set(rescored_ranking(conn, PARAPHRASE, some)) == set(some[:2])  # only the given
        assert rescored_ranking(conn, PARAPHRASE, []) == []
        assert rescored_ranking(conn, "", list(ids.values())) == []


def test_hybrid_search_rescores_both_halves_candidates(
    engine: Engine, rescored: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = rescored
    graph = ids["2506.00001"]  # the paper the dense half finds first, the keyword half not at all

    def halves(conn: object, query: str, *args: object) -> tuple[list[int], list[int]]:
        return [ids["2506.00002"], ids["2506.00003"]], [graph]

    monkeypatch.setattr(hybrid, "_both_halves", halves)
    with engine.connect() as conn:
        page = hybrid.hybrid_search(conn, PARAPHRASE, semantic=_semantic(engine))
    # rescored, the graph paper is a keyword match too ("message passing"): first by both
    # halves; without it, it would tie the best keyword match and come after it
    assert page.ids[0] == graph


def test_rescore_counts_whole_words_by_stem_and_weighs_titles() -> None:
    idf = {_key("messages"): 1.0, _key("passing"): 1.0, _key("(a+b)*"): 1.0}
    rows = [
        (1, "Nothing", "An abstract that says message passing, Messages pass."),
        (2, "Message passing", "Short."),
        (3, "A compass", "Passengers bypass messy messengers."),  # no word of the query
        (4, "Nothing", "Nothing at all."),
    ]
    assert rescore(rows, idf) == [2, 1]  # the title weighs more; 3 and 4 hold no word
    assert rescore(rows, {}) == [] and rescore([], idf) == []


def test_keyword_search_alone_rescores_its_own_candidates(
    engine: Engine, rescored: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = rescored
    planned = [ids["2506.00004"], ids["2506.00006"]]  # as if the plan had ranked them so
    monkeypatch.setattr(hybrid, "keyword_ranking", lambda *args, **kwargs: planned)
    with engine.connect() as conn:
        page = hybrid.hybrid_search(conn, PARAPHRASE)  # no vectors: keywords alone
    assert page.mode == "keyword"
    assert page.ids == [ids["2506.00006"], ids["2506.00004"]]  # every word counts: all six first
