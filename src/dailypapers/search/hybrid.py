"""Hybrid search: BM25 keyword ranks and dense nearest-neighbour ranks fused by reciprocal-rank fusion.

Each method ranks its best :data:`CANDIDATES` papers (after the filters); a paper's fused score is
``sum(weight / (RRF_K + rank))`` over the methods that ranked it. Exact words still win (a paper both
methods rank high beats one only either ranks), and meaning finds papers that share no word with
the query. Without a vector index (fresh install, model still loading) the keyword ranking is
used alone; papers not yet embedded are still found by their words.

**Candidates rescored.** The keyword half matches a long query on its rarest words and scores
the newest matches only (bounded cost at any corpus size), so a paper described in other words,
which rarely holds the query's rarest words, is missed by it. Once both halves have their
candidates, the keyword ranking is remade over them alone: every candidate holding any of the
query's informative words, by BM25 over all of them (:mod:`dailypapers.search.rescore`). Keyword
search alone (no vectors yet) remakes its own best candidates the same way.

A dense candidate counts only when its cosine similarity to the query reaches
:data:`DENSE_FLOOR`: nearest neighbours always exist, however unrelated, so without a floor a
query of nonsense would answer a hundred papers. Keyword matches need no floor (they share words),
and a keyword match among the dense candidates keeps its rank by meaning whatever its cosine: it
is in the results anyway, so the floor only kept the fusion from counting that it is near too
(``benchmarks/search_quality.py`` against "hybrid, floor for every paper (before)": at 3,000
papers, where the floor cut most, mean MRR 0.809 -> 0.826).
A query that shares no word with any paper (its keyword ranking is empty) must reach the higher
:data:`NO_WORD_FLOOR`: that is where random strings are.

The result set of a query is the fused candidates (at most ``2 * CANDIDATES`` papers, usually
fewer as the methods agree, more when a page further down asks for more); sorting by date or
upvotes reorders that set. When a method filled its whole depth there are more matches than the
set holds (:attr:`RankedPage.more`: the page says "100+").
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, text

from dailypapers.db.engine import connection_wrote
from dailypapers.search.dense import dense_ranking
from dailypapers.search.fts import SearchFilters, WordShares, keyword_ranking
from dailypapers.search.marks import query_stems
from dailypapers.search.rescore import rescored_ranking
from dailypapers.vectors import VectorIndex

# The RRF constant k: 1 / (k + rank). Larger k flattens the rank curve (deep agreement counts more
# than being first in one list). Tuned with benchmarks/search_quality.py (known-item queries from
# the 2025 listings; the table is in that script's docstring): k from 1 to 10 is best, 60 (the
# usual default) loses ~0.016 MRR.
RRF_K = 5
# Weight of the dense ranking against BM25's 1.0 (same tuning: 1.0 is best at small k). A higher
# weight would also let any nearest neighbour, however weak, outrank the only keyword match of a
# paper that is not embedded yet (the newest papers).
DENSE_WEIGHT = 1.0
# The candidates of each half rescored by every word of the query (search/rescore.py; 3-5 ms of
# web CPU a search at 1 M papers; 100 a half ranked no better in benchmarks/search_quality.py).
RESCORE_DEPTH = 50
# Papers each method contributes before fusion (also bounds BM25's cost on common words); a
# deeper page asks for more, up to MAX_DEPTH (pages beyond are empty).
CANDIDATES = 100
MAX_DEPTH = 1000
# The relevance floor: a paper found only by meaning enters the results when its cosine with the
# query is at least this. Calibrated with benchmarks/relevance_floor.py (bundled MiniLM, the 33,641
# papers of the 2025 listings, 2026-12-02): the best paper of 50 random strings scores 0.22-0.38
# (max 0.377) and of 30 everyday or foreign-language sentences 0.14-0.44; the best paper of 40 topic
# queries 0.45-0.79; a paper's own held-out abstract sentence scores >= 0.40 for 89% of 300 papers
# (its title for 99%), and most of the rest are found by their words. At 0.40: 0/50 random strings
# and 3/30 everyday sentences ("weather tomorrow" finds weather forecasting) show any result, every
# topic query keeps its best papers. The scale is the model's: another model needs its own figure.
DENSE_FLOOR = 0.40
# The floor for a query none of whose words is in any paper (its keyword ranking is empty, even
# with a single word): random strings land there, and one in 50 (search_quality.py --extras, seed
# 1: "fwxodql ajtmfarrqs", 0.408) reached DENSE_FLOOR through word pieces the model half-knows.
# Measured 2026-12-02 on the 33,641 papers of 2025 (bundled MiniLM): of 100 random strings (two
# seeds) the best paper scores at most 0.408, of 30 everyday or foreign sentences 0.372; of 240
# real queries as typed (benchmarks/_user_queries.py: 50 paraphrases, 90 topics, 100 misspelt)
# only 6 misspelt ones match no word, and their best papers score 0.52, 0.52, 0.49, 0.456 (kept)
# and 0.371, 0.272 (under DENSE_FLOOR already; the spelling retry finds those).
NO_WORD_FLOOR = 0.45

SearchMode = Literal["hybrid", "keyword"]
Vector = NDArray[np.float32]

# Both halves at once: a hybrid search runs its keyword queries on a second connection, on a
# thread, while this one encodes the query and ranks by meaning, so a search waits for the longer
# half, not for both. On PostgreSQL both halves are the server's work; on SQLite they are this
# process's, but sqlite3's steps, the ONNX encoder, usearch and NumPy's products release the GIL,
# so two cores overlap them: at 1 M papers over HTTP p95 37-47 -> 29-38 ms for new queries, 31-41
# -> 28-30 ms for cached ones (benchmarks/search_latency.py, docs/PERFORMANCE.md). At most
# BESIDE_MAX searches of a process do so at a time (each holds a second pool connection
# meanwhile); past that, and in a transaction that wrote (the other connection would not see its
# writes), the halves run one after the other.
BESIDE_MAX = 4
_BESIDE = threading.BoundedSemaphore(BESIDE_MAX)
_KEYWORDS = ThreadPoolExecutor(max_workers=BESIDE_MAX, thread_name_prefix="keywords-beside")


class QueryEncoder(Protocol):
    """What search needs of an embedder (``dailypapers.embeddings.Embedder`` provides it)."""

    model_name: str

    def encode_query(self, text: str) -> NDArray[np.float32]: ...


@dataclass(frozen=True, slots=True)
class Semantic:
    """The dense half of hybrid search: a query encoder and the index of the same model's vectors."""

    encoder: QueryEncoder
    index: VectorIndex


@dataclass(frozen=True, slots=True)
class RankedPage:
    """One page of a search: paper ids in order and the size of the whole result set."""

    ids: list[int]
    total: int  # the results that passed (keyword matches and dense ones above the floor)
    mode: SearchMode
    more: bool = False  # a method filled its depth: more papers match than ``total`` counts
    every: Sequence[int] = ()  # the whole result set in order (facets count it)


def rrf_fuse(
    rankings: Sequence[Sequence[int]],
    *,
    k: float = RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[int, float]]:
    """Reciprocal-rank fusion: (id, score) best first; ranks start at 1; each ranking may be
    weighted. Ties keep the order in which the ids first appear (first ranking first)."""
    weights = weights if weights is not None else [1.0] * len(rankings)
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


def semantic_ranking(
    conn: Connection,
    semantic: Semantic,
    query: str,
    filters: SearchFilters | None = None,
    *,
    depth: int = CANDIDATES,
    floor: float | None = None,
    beside: Collection[int] = (),
) -> list[int]:
    """Ids of the papers nearest the query's meaning (filtered) whose similarity reaches
    ``floor`` (:data:`DENSE_FLOOR`) or that are ``beside`` (the keyword half's), nearest first.
    The encoder cuts long queries (``dailypapers.embeddings.text.query_text``)."""
    if not query.strip():
        return []
    vector = np.asarray(semantic.encoder.encode_query(query), dtype=np.float32)
    floor = DENSE_FLOOR if floor is None else floor
    return dense_ranking(
        conn, semantic.index, vector, filters, depth=depth, floor=floor, beside=beside
    )


def _sorted(conn: Connection, fused: list[int], sort: str) -> list[int]:
    """``fused`` reordered newest first or most upvoted first (relevance breaks ties)."""
    if sort == "relevance" or not fused:
        return fused
    rows = conn.execute(
        text("SELECT id, announced_on, upvotes FROM papers WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": fused},
    ).all()
    keys: dict[int, tuple[date | str, int]] = {int(r[0]): (r[1], int(r[2])) for r in rows}
    position = {paper_id: i for i, paper_id in enumerate(fused)}
    if sort == "date":
        return sorted(keys, key=lambda i: (str(keys[i][0]), -position[i]), reverse=True)
    return sorted(keys, key=lambda i: (keys[i][1], -position[i]), reverse=True)


def hybrid_search(
    conn: Connection,
    query: str,
    filters: SearchFilters | None = None,
    semantic: Semantic | None = None,
    *,
    limit: int = 20,
    offset: int = 0,
    shares: WordShares | None = None,
    first: Sequence[int] = (),
) -> RankedPage:
    """One page of results for free text: fused keyword and semantic ranks (keyword alone
    without ``semantic``), filtered and sorted as ``filters`` say; ``first``: papers ranked
    above all others (the papers of the author the query names), already filtered."""
    filters = filters or SearchFilters()
    depth = min(MAX_DEPTH, max(CANDIDATES, offset + limit))
    dense: list[int] | None = None
    if semantic is not None and not connection_wrote(conn) and _BESIDE.acquire(blocking=False):
        try:
            keyword, dense = _both_halves(conn, query, filters, semantic, depth, shares)
        finally:
            _BESIDE.release()
    else:
        keyword = keyword_ranking(conn, query, filters, depth=depth, shares=shares)
    mode: SearchMode = "keyword"
    more = len(keyword) >= depth
    if semantic is None:
        fused = rescored_keywords(conn, query, keyword, [], shares=shares)
    else:
        spared = set(keyword)
        if dense is None:
            floor = DENSE_FLOOR if keyword else NO_WORD_FLOOR
            dense = semantic_ranking(
                conn, semantic, query, filters, depth=depth, floor=floor, beside=spared
            )
        keyword = rescored_keywords(conn, query, keyword, dense, shares=shares)
        fused = [i for i, _ in rrf_fuse([keyword, dense], weights=[1.0, DENSE_WEIGHT])]
        mode = "hybrid"
        # the dense half filled its depth with papers above the floor, so more lie beyond (its
        # last one a keyword match: it may be under the floor, then none beyond passes it)
        more = more or (len(dense) >= depth and dense[-1] not in spared)
    if first:
        ahead = set(first)
        fused = [*first, *(i for i in fused if i not in ahead)]
    ordered = _sorted(conn, fused, filters.sort)
    page = ordered[offset : offset + limit]
    return RankedPage(page, len(ordered), mode, more, ordered)


def rescored_keywords(
    conn: Connection,
    query: str,
    keyword: list[int],
    dense: list[int],
    *,
    shares: WordShares | None = None,
    titles: bool = True,
) -> list[int]:
    """The keyword ranking remade over both halves' best :data:`RESCORE_DEPTH` candidates (the
    module docstring, "Candidates rescored"; ``dense`` empty: the keyword half's own), its other
    matches after them in their order; none when the keyword half found none (no word of the
    query is in any paper). ``titles=False``: the candidates' abstracts alone (a benchmark's
    abstract-only keyword half)."""
    if not keyword:
        return []
    pool = list(dict.fromkeys([*keyword[:RESCORE_DEPTH], *dense[:RESCORE_DEPTH]]))
    rescored = rescored_ranking(conn, query, pool, shares=shares, titles=titles)
    seen = set(rescored)
    return [*rescored, *(i for i in keyword if i not in seen)]


def _both_halves(
    conn: Connection,
    query: str,
    filters: SearchFilters,
    semantic: Semantic,
    depth: int,
    shares: WordShares | None,
) -> tuple[list[int], list[int]]:
    """The keyword ranking (on a connection of its own, on a thread) and the dense one (on
    ``conn``) at once; the dense one floored as the halves one after the other would rank: at
    :data:`DENSE_FLOOR` but for the keyword half's papers, at :data:`NO_WORD_FLOOR` when the
    keywords found nothing — which its floor asks once the neighbours are found (on PostgreSQL
    on the similarities its query computed: no second read of the vectors)."""

    def keywords() -> list[int]:
        with conn.engine.connect() as own:
            return keyword_ranking(own, query, filters, depth=depth, shares=shares)

    def floor() -> tuple[float, set[int]]:
        found = running.result()
        return (DENSE_FLOOR if found else NO_WORD_FLOOR), set(found)

    running = _KEYWORDS.submit(keywords)
    try:
        dense: list[int] = []
        if query.strip():
            vector = np.asarray(semantic.encoder.encode_query(query), dtype=np.float32)
            dense = dense_ranking(conn, semantic.index, vector, filters, depth=depth, floor=floor)
    except BaseException:
        wait([running])  # its connection is back in the pool before the error goes on
        raise
    return running.result(), dense


def rank_among(
    conn: Connection,
    ids: Sequence[int],
    query: str,
    semantic: Semantic | None = None,
    *,
    sort: str = "relevance",
) -> list[int]:
    """``ids`` (a small set: one author's papers) that match ``query``, best first: by how many
    of its words their title and abstract hold, then by similarity of meaning. A paper matches
    with one of the words, or by meaning above :data:`DENSE_FLOOR`. An empty query keeps all."""
    if not query.strip() or not ids:
        return _sorted(conn, list(ids), sort)
    stems = query_stems(query)
    rows = conn.execute(
        text("SELECT id, title, abstract FROM papers WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": list(ids)},
    ).all()
    words = {int(r[0]): len(stems & query_stems(f"{r[1]} {r[2]}")) for r in rows}
    meaning: dict[int, float] = {}
    if semantic is not None:
        vector = np.asarray(semantic.encoder.encode_query(query), dtype=np.float32)
        found = semantic.index.vectors_for(list(words))
        meaning = {i: float(v @ vector) for i, v in found.items()}
    kept = [i for i in ids if words.get(i, 0) or meaning.get(i, -1.0) >= DENSE_FLOOR]
    kept.sort(key=lambda i: (-words.get(i, 0), -meaning.get(i, 0.0)))
    return _sorted(conn, kept, sort)
