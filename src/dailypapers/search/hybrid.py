"""Hybrid search: BM25 keyword ranks and dense nearest-neighbour ranks fused by reciprocal-rank fusion.

Each method ranks its best :data:`CANDIDATES` papers (after the filters); a paper's fused score is
``sum(weight / (RRF_K + rank))`` over the methods that ranked it. Exact words still win (a paper both
methods rank high beats one only either ranks), and meaning finds papers that share no word with
the query. Without a vector index (fresh install, model still loading) the keyword ranking is
used alone; papers not yet embedded are still found by their words.

The result set of a query is the fused candidates (at most ``2 * CANDIDATES`` papers, usually
fewer as the methods agree, more when a page further down asks for more); sorting by date or
upvotes reorders that set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, text

from dailypapers.search.dense import dense_ranking
from dailypapers.search.filters import SearchFilters
from dailypapers.search.fts import WordShares, keyword_ranking
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
# Papers each method contributes before fusion (also bounds BM25's cost on common words); a
# deeper page asks for more, up to MAX_DEPTH (pages beyond are empty).
CANDIDATES = 100
MAX_DEPTH = 1000

SearchMode = Literal["hybrid", "keyword"]


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
    total: int
    mode: SearchMode


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
) -> list[int]:
    """Ids of the papers nearest the query's meaning (filtered), nearest first. The encoder
    cuts long queries (``dailypapers.embeddings.text.query_text``)."""
    if not query.strip():
        return []
    vector = np.asarray(semantic.encoder.encode_query(query), dtype=np.float32)
    return dense_ranking(conn, semantic.index, vector, filters, depth=depth)


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
) -> RankedPage:
    """One page of results for free text: fused keyword and semantic ranks (keyword alone
    without ``semantic``), filtered and sorted as ``filters`` say."""
    filters = filters or SearchFilters()
    depth = min(MAX_DEPTH, max(CANDIDATES, offset + limit))
    keyword = keyword_ranking(conn, query, filters, depth=depth, shares=shares)
    mode: SearchMode = "keyword"
    fused = keyword
    if semantic is not None:
        dense = semantic_ranking(conn, semantic, query, filters, depth=depth)
        fused = [i for i, _ in rrf_fuse([keyword, dense], weights=[1.0, DENSE_WEIGHT])]
        mode = "hybrid"
    ordered = _sorted(conn, fused, filters.sort)
    page = ordered[offset : offset + limit]
    return RankedPage(page, len(ordered), mode)
