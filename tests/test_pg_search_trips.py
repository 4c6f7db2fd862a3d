"""PostgreSQL search in fewer round trips gives the answers of the statements it replaced (kept
here as the reference, as they were): the keyword ranking's newest matches and their scoring in
one statement (was: the oldest ranked match, then the ranking), the exact dense search reading
the passing papers' vectors by id (was: a join that hashed every vector of the model), and the
relevance floor on the similarities the search query computed (was: the vectors read again, on a
second pooled connection). Keyword, dense and hybrid; filtered, paged, misspelt and empty queries;
deleted papers. docs/PERFORMANCE.md "Search on PostgreSQL"."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Collection, Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import DBAPIError

from dailypapers.db import engine as engine_module
from dailypapers.db.engine import PG_HNSW_SETTINGS, database_unavailable
from dailypapers.db.pg_vectors import EF_SEARCH, MAX_SCAN_TUPLES, _halfvec_text, _literal
from dailypapers.embeddings.store import embed_pending
from dailypapers.search import dense, fts
from dailypapers.search.dense import LateFloor, above_floor, dense_ranking
from dailypapers.search.filters import SearchFilters, filter_sql
from dailypapers.search.fts import WordShares, keyword_ranking
from dailypapers.search.fts_query import Match, Phrase
from dailypapers.search.hybrid import Semantic, hybrid_search
from dailypapers.search.pg_fts import RANK_NORMALISATION, RANK_WEIGHTS, PostgresKeywords, _matching
from dailypapers.search.pg_fts import tsquery as pg_tsquery
from dailypapers.services.imports import import_listing
from dailypapers.services.sample import sample_files
from dailypapers.vectors.pgvector import PgVectorIndex, VectorCount
from tests.fake_embedder import FAKE_MODEL, fake_embedder
from tests.test_pg_search_plans import _statements as statements_sent

pytestmark = pytest.mark.only_backend("postgresql")

QUERIES = [
    "graph neural networks",
    "quantum",
    "language models reasoning",
    "nueral netwroks for imgaes",  # misspelt
    '"neural network" training',  # a phrase
    "the of and",  # only stop words
    "zzqxv",  # no word of any paper
    "",
]
DAY = date(2025, 6, 2)


def every_kind_of_filter(small: str, broad: str) -> list[SearchFilters]:
    """None, a small and a broad category, one no paper has, dates, both, dates before every
    paper, and a sort, over papers announced from DAY on."""
    return [
        SearchFilters(),
        SearchFilters(category=small),
        SearchFilters(category=broad),
        SearchFilters(category="nope.XX"),
        SearchFilters(since=DAY + timedelta(days=3), until=DAY + timedelta(days=9)),
        SearchFilters(category=broad, since=DAY + timedelta(days=12)),
        SearchFilters(until=DAY - timedelta(days=1)),
        SearchFilters(sort="date"),
    ]


@pytest.fixture
def corpus(engine: Engine) -> Iterator[tuple[Engine, PgVectorIndex, list[SearchFilters]]]:
    """A day of the bundled sample, spread over 20 announce days, embedded, a few deleted."""
    assert import_listing(engine, sample_files()[0]).new > 100
    embedder = fake_embedder()
    embed_pending(engine, embedder)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE papers SET announced_on = CAST(:d AS date) + (id % 20)"), {"d": DAY}
        )
        conn.execute(text("UPDATE papers SET deleted_at = now() WHERE id % 17 = 3"))
        conn.execute(text("ANALYZE"))
        small, broad = conn.execute(
            text(
                "SELECT (array_agg(category ORDER BY n))[1], (array_agg(category ORDER BY n))"
                "[count(*)] FROM (SELECT category, count(*) n FROM paper_categories "
                "GROUP BY category HAVING count(*) >= 5) c"
            )
        ).one()
    filters = every_kind_of_filter(small, broad)
    dense.COUNTS.clear()
    yield engine, PgVectorIndex(engine, FAKE_MODEL, embedder.dim, VectorCount()), filters
    dense.COUNTS.clear()


# --- the statements as they were -----------------------------------------------------------------


def _ranked_before(
    self: PostgresKeywords,
    conn: Connection,
    match: Match,
    where: list[str],
    params: dict[str, object],
    depth: int,
    scan: int,
    likely_after: int | None = None,  # (read every match at once)
) -> list[int]:
    condition, words = _matching(conn, match, None)
    values = {**params, **words, "depth": depth, "scan": scan}
    floor = conn.execute(
        text(
            f"SELECT p.id FROM papers p WHERE {condition} ORDER BY p.id DESC LIMIT 1 OFFSET :scan"
        ),
        values,
    ).scalar()
    conditions = [condition, *where]
    if floor is not None:
        conditions.append("p.id >= :floor")
        values["floor"] = floor
    sql, _ = pg_tsquery(match)
    rank = f"ts_rank_cd('{RANK_WEIGHTS}', p.search_vector, {sql}, {RANK_NORMALISATION})"
    rows = conn.execute(
        text(
            f"SELECT p.id FROM papers p WHERE {' AND '.join(conditions)} "
            f"ORDER BY {rank} DESC, p.id LIMIT :depth"
        ),
        values,
    ).all()
    return [int(r[0]) for r in rows]


def _nearest_before(
    conn: Connection,
    index: PgVectorIndex,
    query: Any,
    where: list[str],
    params: Any,
    k: int,
    exact: bool,
) -> list[int]:  # noqa: ANN401
    dim = index.dim
    if exact:
        distance = "e.embedding <=> CAST(:q AS halfvec)"
    else:
        conn.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('hnsw.max_scan_tuples', :scan, true)"
            ),
            {"ef": str(min(1000, max(EF_SEARCH, k))), "scan": str(MAX_SCAN_TUPLES)},
        )
        distance = f"e.embedding::halfvec({dim}) <=> CAST(:q AS halfvec({dim}))"
    conditions = " AND ".join([f"e.model = {_literal(conn, index.model_name)}", *where])
    rows = conn.execute(
        text(
            f"WITH nearest AS MATERIALIZED (SELECT e.paper_id, {distance} AS distance "
            f"FROM paper_embeddings e JOIN papers p ON p.id = e.paper_id WHERE {conditions} "
            "ORDER BY distance LIMIT :k) SELECT paper_id FROM nearest ORDER BY distance, paper_id"
        ),
        {**params, "q": _halfvec_text(query), "k": k},
    ).scalars()
    return [int(i) for i in rows]


def _dense_before(
    conn: Connection,
    index: PgVectorIndex,
    query: Any,  # noqa: ANN401
    filters: SearchFilters,
    depth: int,
    floor: float | LateFloor | None = None,
    beside: Collection[int] = (),
) -> list[int]:
    where, params = filter_sql(conn, filters)
    exact = False
    if filters.narrows:
        papers = len(index)
        passing = dense.filter_size(conn, filters, papers)
        bound = math.sqrt(dense.PG_EXACT_FACTOR * depth * papers)
        exact = passing <= min(dense.EXACT_FILTER_MAX, bound)
    ids = _nearest_before(conn, index, query, where, params, depth, exact)
    if len(ids) < depth and not exact:
        ids = _nearest_before(conn, index, query, where, params, depth, True)
    if floor is None or not ids:
        return ids
    return above_floor(index, query, ids, *dense.resolved(floor, beside))


# --- the same answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("scan", [500, 7])  # 7: the newest matches are fewer than all matches
def test_the_keyword_ranking_in_one_statement_gives_the_same_answers(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],
    monkeypatch: pytest.MonkeyPatch,
    scan: int,
) -> None:
    engine, _, filters = corpus
    monkeypatch.setattr(fts, "MAX_RANKED_MATCHES", scan)
    asked = [(q, f, d) for q in QUERIES for f in filters for d in (100, 3)]
    with engine.connect() as conn:
        now = [keyword_ranking(conn, q, f, depth=d) for q, f, d in asked]
        monkeypatch.setattr(PostgresKeywords, "ranked", _ranked_before)
        before = [keyword_ranking(conn, q, f, depth=d) for q, f, d in asked]
    assert now == before
    assert sum(bool(r) for r in now) > len(asked) // 4  # many found something


@pytest.mark.parametrize("margin", [0.05, 3.0])  # windows too narrow (read again), as shipped
@pytest.mark.parametrize("budget", [fts.POSTINGS_BUDGET, 30])  # scored; the newest, unscored
def test_the_newest_matches_read_first_give_the_same_answers(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],
    monkeypatch: pytest.MonkeyPatch,
    margin: float,
    budget: int,
) -> None:
    """pg_fts.py "Newest first": reading the matches above the plan's likely start first, and
    all of them when those fall short, ranks the same newest matches as reading all at once."""
    engine, _, filters = corpus
    monkeypatch.setattr(fts, "MAX_RANKED_MATCHES", 7)  # fewer than match: the newest matter
    monkeypatch.setattr(fts, "POSTINGS_BUDGET", budget)
    monkeypatch.setattr(fts, "MIN_WINDOW", 1)
    asked = [(q, f) for q in QUERIES for f in filters]
    reads: list[bool] = []  # each read of the newest only: whether enough matches were there
    ranked, recent, older = (
        PostgresKeywords._ranked,
        PostgresKeywords.recent,
        PostgresKeywords._recent,
    )

    def noting_ranked(self: PostgresKeywords, *args: Any) -> tuple[int, list[int]]:  # noqa: ANN401
        found = ranked(self, *args)
        if args[-1] is not None:  # (..., scan, after)
            reads.append(found[0] > args[-2])
        return found

    def noting_recent(self: PostgresKeywords, *args: Any) -> list[int]:  # noqa: ANN401
        _, _, after, _, likely = args
        if likely is not None and likely > after:
            reads.append(True)  # (and False below when it was read again)
        return recent(self, *args)

    def noting_older(self: PostgresKeywords, *args: Any) -> list[int]:  # noqa: ANN401
        if args[3] is not None:  # (conn, match, after, upto, scan): the older ones, after all
            reads.append(False)
        return older(self, *args)

    monkeypatch.setattr(PostgresKeywords, "_ranked", noting_ranked)
    monkeypatch.setattr(PostgresKeywords, "recent", noting_recent)
    monkeypatch.setattr(PostgresKeywords, "_recent", noting_older)
    with engine.connect() as conn:
        monkeypatch.setattr(fts, "WINDOW_MARGIN", math.inf)  # no hint: every match read at once
        whole = [keyword_ranking(conn, q, f) for q, f in asked]
        assert not reads
        monkeypatch.setattr(fts, "WINDOW_MARGIN", margin)
        first = [keyword_ranking(conn, q, f) for q, f in asked]
    assert first == whole
    assert sum(bool(r) for r in first) > len(asked) // 4
    # reads of the newest papers only: enough there (as shipped), or too few, so the older ones
    # were read too (a window far too narrow)
    assert reads.count(margin > 1) > 3


@pytest.mark.parametrize("exact_factor", [1e9, 0.0])  # every filter exact; none
def test_the_dense_ranking_gives_the_same_answers(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],
    monkeypatch: pytest.MonkeyPatch,
    exact_factor: float,
) -> None:
    engine, index, filters = corpus
    monkeypatch.setattr(dense, "PG_EXACT_FACTOR", exact_factor)
    # the statements replaced here had no codes (test_pg_codes.py has them)
    monkeypatch.setattr(dense, "CODES_FIRST_MAX", 0)
    monkeypatch.setattr(dense, "DAY_CODES_MAX", 0)
    embedder = fake_embedder()
    with engine.connect() as conn:
        for q in QUERIES[:4]:
            query = np.asarray(embedder.encode_query(q), np.float32)
            for f in filters:
                for depth in (10, 100):
                    plain = _dense_before(conn, index, query, f, depth)
                    assert dense_ranking(conn, index, query, f, depth=depth) == plain, (q, f)
                    if not plain:
                        continue
                    # floors that cut the ranking: between two of its similarities (the sums of
                    # the database and of numpy may differ in a float32's last digit), above all
                    found = index.vectors_for(plain)
                    scores = sorted(float(found[i] @ query) for i in plain)
                    middle = len(scores) // 2
                    cuts = [(scores[middle - 1] + scores[middle]) / 2] if middle else []
                    spared = {plain[-1], plain[len(plain) // 2]}  # the keyword half's, say
                    for floor in [*cuts, scores[-1] + 1e-3, -0.5]:
                        want = above_floor(index, query, plain, floor)
                        got = dense_ranking(conn, index, query, f, depth=depth, floor=floor)
                        assert got == want, (q, f, depth, floor)
                        want = above_floor(index, query, plain, floor, spared)
                        assert set(want) >= spared
                        got = dense_ranking(
                            conn, index, query, f, depth=depth, floor=floor, beside=spared
                        )
                        assert got == want, (q, f, depth, floor)
                        late = dense_ranking(
                            conn,
                            index,
                            query,
                            f,
                            depth=depth,
                            floor=lambda v=floor, s=spared: (v, s),
                        )
                        assert late == want, (q, f, depth, floor)


def test_hybrid_search_gives_the_same_pages(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, index, filters = corpus
    semantic = Semantic(fake_embedder(), index)
    asked = [(q, f, o) for q in QUERIES for f in filters for o in (0, 20, 40)]
    with engine.connect() as conn:
        now = [hybrid_search(conn, q, f, semantic, limit=20, offset=o) for q, f, o in asked]
        monkeypatch.setattr(PostgresKeywords, "ranked", _ranked_before)
        monkeypatch.setattr(dense, "_ranking_in_sql", _dense_before)
        before = [hybrid_search(conn, q, f, semantic, limit=20, offset=o) for q, f, o in asked]
    assert now == before
    assert any(page.ids for page in now) and any(not page.ids for page in now)


def test_a_hybrid_search_takes_no_connection_but_its_keywords(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],
) -> None:
    """The floor needs no second connection (a pool ping, BEGIN, two statements and a ROLLBACK
    each search), and the keyword steps one statement each; the only other connection is the
    keyword half's, beside the dense one (tests/test_search_beside.py)."""
    engine, index, filters = corpus
    semantic = Semantic(fake_embedder(), index)
    checkouts: list[str] = []
    sent: list[str] = []

    def checkout(*_args: object) -> None:
        checkouts.append(threading.current_thread().name)

    def note(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:  # noqa: ANN401
        sent.append(sql)

    len(index)  # (the count of vectors, cached for a minute, has a connection of its own)
    with engine.connect() as conn:
        event.listen(engine.pool, "checkout", checkout)
        event.listen(engine, "before_cursor_execute", note)
        try:
            for f in filters:
                page = hybrid_search(conn, "graph neural networks", f, semantic, limit=20)
                assert page.mode == "hybrid"
        finally:
            event.remove(engine.pool, "checkout", checkout)
            event.remove(engine, "before_cursor_execute", note)
    assert len(checkouts) == len(filters)
    assert all(name.startswith("keywords-beside") for name in checkouts)
    assert not [s for s in sent if "halfvec_send" in s or "OFFSET" in s]


def test_the_hnsw_settings_come_with_the_connection(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """pgvector's iterative scan and its bounds are startup options of every connection, not a
    statement before each search; only a page deeper than ``ef_search`` sends one."""
    engine, index, _ = corpus
    monkeypatch.setattr(dense, "PG_EXACT_FACTOR", 0.0)  # through the index
    query = np.asarray(fake_embedder().encode_query("graph neural networks"), np.float32)
    with engine.connect() as conn:
        for name, value in PG_HNSW_SETTINGS.items():
            assert conn.execute(text(f"SHOW {name}")).scalar() == value
        sent = _statements(engine, conn, lambda c: dense_ranking(c, index, query, depth=100))
        assert len(sent) == 1 and "set_config" not in sent[0]
        sent = _statements(engine, conn, lambda c: dense_ranking(c, index, query, depth=300))
        assert len(sent) == 2 and "'hnsw.ef_search'" in sent[0]
        assert conn.execute(text("SHOW hnsw.ef_search")).scalar() == "300"  # this transaction's
        conn.rollback()
        assert conn.execute(text("SHOW hnsw.ef_search")).scalar() == "100"


def _statements(engine: Engine, conn: Connection, run: Any) -> list[str]:  # noqa: ANN401
    """The SQL of the statements ``run(conn)`` sent (test_pg_search_plans' capture)."""
    return [sql for sql, _ in statements_sent(engine, conn, run)]


def test_a_pooled_connection_is_pinged_only_after_idling(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping for a connection just returned (a round trip each request); one idle longer than
    PG_PING_IDLE_S is pinged, and a dead one replaced before anyone uses it. A connection that
    died in the last second fails its request's first statement (a 503), and the next request
    gets a fresh one."""
    monkeypatch.setattr(engine_module, "PG_PING_IDLE_S", 0.2)
    url = engine.url.render_as_string(hide_password=False)
    web = engine_module.make_engine(url, statement_timeout_s=5)
    pings: list[object] = []
    ping = web.dialect.do_ping

    def counted(dbapi: Any) -> Any:  # noqa: ANN401
        pings.append(dbapi)
        return ping(dbapi)

    monkeypatch.setattr(web.dialect, "do_ping", counted)

    def backend() -> int:
        with web.connect() as conn:
            return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

    def kill(pid: int) -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    try:
        first = backend()
        assert backend() == first and pings == []  # just returned: not pinged
        time.sleep(0.3)
        assert backend() == first and len(pings) == 1  # idle: pinged, alive
        kill(first)
        time.sleep(0.3)
        second = backend()  # idle and dead: replaced before use
        assert second != first and len(pings) == 2
        kill(second)
        with pytest.raises(DBAPIError) as raised:
            backend()  # dead within the second: the statement fails...
        assert database_unavailable(raised.value)  # ... as a 503
        assert backend() not in (first, second)  # and the next request has a fresh connection
    finally:
        web.dispose()


def test_a_querys_words_are_counted_in_one_statement(
    corpus: tuple[Engine, PgVectorIndex, list[SearchFilters]],
) -> None:
    """The share of papers each word is in, for words new to the process: one statement for all
    of a query's words (was one each), the same counts (a stop word: none)."""
    engine, _, _ = corpus
    keywords = PostgresKeywords()
    phrases = [
        Phrase.of("graph"),
        Phrase.of("the"),
        Phrase.of("neural", "network"),
        Phrase.of("zzqxv"),
    ]
    with engine.connect() as conn:
        after = keywords.newest(conn) - 50
        each = [keywords.count(conn, phrase, after) for phrase in phrases]
        assert keywords.counts(conn, phrases, after) == each
        assert each[1] is None and each[0] and each[3] == 0
        sent = _statements(engine, conn, lambda c: keyword_ranking(c, "graph neural networks"))
        assert len([s for s in sent if "count(*) FROM papers" in s]) == 1
        shares = WordShares()
        first = keyword_ranking(conn, "graph neural networks", shares=shares)
        sent = _statements(
            engine, conn, lambda c: keyword_ranking(c, "graph neural networks", shares=shares)
        )
        assert not [s for s in sent if "count(*) FROM papers" in s]  # counted once per process
        assert keyword_ranking(conn, "graph neural networks", shares=shares) == first
