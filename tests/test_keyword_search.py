"""Keyword search with the same rules on both backends (FTS5 on SQLite, the weighted tsvector on
PostgreSQL): user text never becomes query syntax, the columns' weights, NUL characters, very long
and empty queries, and papers whose keyword vector is empty."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper
from dailypapers.search.fts import WordShares, keyword_engine, keyword_ranking
from dailypapers.search.fts_query import Phrase
from dailypapers.services.papers import search_papers
from tests.helpers import add_papers, record

PAPERS = [
    # "lattice" in a title, in an author's name, in an abstract: title > authors > abstract
    record("2506.00001", "2025-06-16", abstract="On lattice models of magnets.", title="Magnets"),
    record("2506.00002", "2025-06-17", title="Lattice gauge theory", abstract="Quarks."),
    record("2506.00003", "2025-06-18", authors=["Ada Lattice"], title="Spin glasses"),
    record("2506.00004", "2025-06-19", title="State of the art in protein folding"),
    record("2506.00005", "2025-06-20", title="", abstract=""),  # an empty keyword vector
]
# Every character the two query languages give a meaning to, and some that are merely odd.
_SYNTAX = list("\"*-:&|!<>()^+~\\'{}[],.;/@#$%") + ["<->", "NEAR", "AND", "OR", "NOT", "\x00"]
_WORDS = ["lattice", "the", "of", "state", "art", "magnets", "ünïcödé", "日本語", "🙂", "x" * 70]
hostile_queries = st.lists(
    st.one_of(st.sampled_from(_SYNTAX), st.sampled_from(_WORDS), st.text(max_size=8)), max_size=12
).map(lambda parts: " ".join(parts) if len(parts) % 2 else "".join(parts))


@pytest.fixture
def papers(engine: Engine) -> Engine:
    add_papers(engine, *PAPERS)
    return engine


def _arxiv_ids(engine: Engine, ids: list[int]) -> list[str]:
    with Session(engine) as session:
        by_id = {row[0]: row[1] for row in session.execute(select(Paper.id, Paper.arxiv_id))}
    return [by_id[i] for i in ids]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=hostile_queries)
def test_no_query_is_a_syntax_error(papers: Engine, query: str) -> None:
    with papers.connect() as conn:
        found = keyword_ranking(conn, query)
        assert isinstance(found, list) and len(found) == len(set(found))


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ('"lattice', "2506.00002"),
        ("lattice:*", "2506.00002"),
        ("!lattice", "2506.00002"),
        ("(lattice", "2506.00002"),
        ("-lattice", "2506.00002"),
        ("'lattice'", "2506.00002"),
        ("lattice\x00", "2506.00002"),
        ("lattice & | magnets", "2506.00001"),  # both words, as "lattice magnets"
        ("lattice <-> magnets", "2506.00001"),
        ("magnets NEAR(lattice", "2506.00001"),
    ],
)
def test_operators_are_just_text(papers: Engine, query: str, first: str) -> None:
    with papers.connect() as conn:
        found = _arxiv_ids(papers, keyword_ranking(conn, query))
    assert found[:1] == [first]  # the words are still searched for, and nothing else


def test_title_ranks_above_authors_above_abstract(papers: Engine) -> None:
    with papers.connect() as conn:
        found = _arxiv_ids(papers, keyword_ranking(conn, "lattice"))
    assert found == ["2506.00002", "2506.00003", "2506.00001"]


def test_quoted_phrases_match_in_order(papers: Engine) -> None:
    with papers.connect() as conn:
        assert _arxiv_ids(papers, keyword_ranking(conn, '"protein folding"')) == ["2506.00004"]
        assert keyword_ranking(conn, '"folding protein"') == []
        # a phrase of very common (or, on PostgreSQL, unindexed) words is kept whole
        assert _arxiv_ids(papers, keyword_ranking(conn, '"state of the art"')) == ["2506.00004"]


@pytest.mark.parametrize(
    "query", ["", "   ", "the of and", "\x00", "!!! ***", "x" * 100_000, "🙂" * 5000, "日本語"]
)
def test_empty_stop_word_and_huge_queries_find_nothing_without_error(
    papers: Engine, query: str
) -> None:
    with papers.connect() as conn:
        assert isinstance(keyword_ranking(conn, query), list)
    with Session(papers) as session:
        assert isinstance(search_papers(session, query).hits, list)


def test_a_phrase_of_thousands_of_distinct_words_is_no_error(papers: Engine) -> None:
    """Every word of a phrase has its share counted (on PostgreSQL, many words in one statement):
    2,000 distinct one-letter words, within the 4,096 characters read of a query, are more than
    one statement's 1,664 columns."""
    words = " ".join(chr(0x4E00 + i) for i in range(2000))
    for query in [f'"{words}"', f'"{words}" lattice']:
        with papers.connect() as conn:
            assert isinstance(keyword_ranking(conn, query), list)
        with Session(papers) as session:
            assert isinstance(search_papers(session, query).hits, list)


class _ClearedByAnotherThread(dict[Any, Any]):
    """A cache another thread's count empties (it held MAX_ENTRIES) right after this one stored."""

    def __setitem__(self, key: Any, value: Any) -> None:  # noqa: ANN401
        super().__setitem__(key, value)
        self.clear()


def test_a_share_survives_another_thread_emptying_the_cache(papers: Engine) -> None:
    """The web app's WordShares is the process's: a request's count may be followed by another
    request's clearing before it reads what it stored; the share counted is still answered."""
    shares = WordShares()
    shares._cache = _ClearedByAnotherThread()
    with papers.connect() as conn:
        newest = keyword_engine(conn).newest(conn)
        assert shares.share(conn, Phrase.of("lattice"), newest) > 0
        assert keyword_ranking(conn, "lattice magnets", shares=shares)


def test_unicode_words_are_found(engine: Engine) -> None:
    add_papers(engine, record("2506.00009", "2025-06-16", title="Über große Modelle für Café"))
    with engine.connect() as conn:
        assert keyword_ranking(conn, "große") and keyword_ranking(conn, "café")
