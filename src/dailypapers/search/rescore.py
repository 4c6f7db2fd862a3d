"""A search's candidates rescored by every informative word of the query (BM25 over their text).

The keyword half (:mod:`dailypapers.search.fts`) keeps its cost bounded at any corpus size: a long
query is matched on its rarest words — all of them, else any two, else any one — and only the
newest matches are scored. A paper described in other words rarely holds the query's rarest
words, so that ranking misses it, while the dense half finds it. Once both halves have their
candidates (at most ``2 x depth`` papers), :func:`rescored_ranking` ranks every candidate holding
any of the query's informative words by BM25 over all of them, read from the candidates' own
titles and abstracts: the cost is the candidates', not the index's, and the same on both backends.

Words are compared by :func:`~dailypapers.search.marks.stem` (without a final "e": "message" and
"messages" are one word), as the page marks them. Each word's IDF comes from its share of the
newest papers (:class:`~dailypapers.search.fts.WordShares`, which the keyword half has counted
already); a title holds :data:`TITLE_WEIGHT` times what the abstract does, as FTS5's column
weights say (``fts5.WEIGHTS``); lengths are normalised against the candidates' mean.
Measured by ``benchmarks/search_quality.py`` (docs/PERFORMANCE.md, "Described papers, and the
candidates rescored").
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, text

from dailypapers.search.fts import SHARE_WINDOW, WordShares, informative_words
from dailypapers.search.marks import stem

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 8.0 / 3.0  # fts5.WEIGHTS: title 8, abstract 3


def _key(word: str) -> str:
    return stem(word).rstrip("e") or word.lower()


def rescored_ranking(
    conn: Connection,
    query: str,
    ids: Sequence[int],
    *,
    shares: WordShares | None = None,
    titles: bool = True,
) -> list[int]:
    """Those of ``ids`` holding any of the query's informative words, best BM25 score over all
    of them first (ties: the lower id first); ``titles=False``: their abstracts alone."""
    if not ids or not query.strip():
        return []
    rows = conn.execute(
        text(
            "SELECT p.id, p.title, p.abstract, (SELECT max(id) FROM papers) FROM papers p "
            "WHERE p.id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": list(dict.fromkeys(ids))},
    ).all()
    if not rows:
        return []
    newest = int(rows[0][3] or 0)
    papers = max(1, min(newest, SHARE_WINDOW))  # what the shares were counted on
    idf: dict[str, float] = {}
    for word, share in informative_words(conn, query, newest, shares).items():
        n, key = share * papers, _key(word)
        idf[key] = max(idf.get(key, 0.0), math.log1p((papers - n + 0.5) / (n + 0.5)))
    texts = [(int(r[0]), (r[1] or "") if titles else "", r[2] or "") for r in rows]
    return rescore(texts, idf)


def rescore(rows: Sequence[tuple[int, str, str]], idf: dict[str, float]) -> list[int]:
    """The ids of ``rows`` (id, title, abstract) holding any word of ``idf`` (word key -> IDF),
    best BM25 score first."""
    if not rows or not idf:
        return []
    keys = sorted(idf, key=len, reverse=True)  # (lower-cased text: IGNORECASE costs twice)
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in keys) + r")[^\W_]*")
    lengths = [TITLE_WEIGHT * len(title) + len(abstract) for _, title, abstract in rows]
    mean = sum(lengths) / len(lengths) or 1.0
    scored: list[tuple[float, int]] = []
    for (paper, title, abstract), length in zip(rows, lengths, strict=True):
        counts: defaultdict[str, float] = defaultdict(float)
        for weight, field in ((TITLE_WEIGHT, title), (1.0, abstract)):
            for word in pattern.findall(field.lower()):
                key = _key(word)
                if key in idf:
                    counts[key] += weight
        if counts:
            norm = K1 * (1 - B + B * length / mean)
            score = sum(idf[k] * f * (K1 + 1) / (f + norm) for k, f in counts.items())
            scored.append((-score, paper))
    return [paper for _, paper in sorted(scored)]
