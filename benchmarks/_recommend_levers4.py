"""``recommend_quality.py --beat 4``: the fourth round of levers tried to beat arxiv-sanity-lite —
a metric for the embedding learnt from the corpus's own co-authorship.

MiniLM was trained for general sentence similarity, not for "the same people would write (and
read) both". Every paper carries its authors, so an instance can learn which directions of the
embedding vary *within* one person's papers (style, task wording: noise for a reader) and shrink
them: within-class covariance normalisation (WCCN, as in speaker verification), one 384 x 384
matrix a corpus, no labels but the author lists.

- (o) the embeddings mapped by ``W = (Sw + s x mean eigenvalue x I)^(-1/2)``, each row back to
  unit length, where ``Sw`` is the within-author scatter of the papers announced before W (each
  author with 2-30 of them; authors of the evaluated split left out, so no user's own papers
  shape the metric), s = 0.03 / 0.1 / 0.3 / 1: the shipped recipe over the mapped rows, and
  zotero-arxiv-daily's average cosine over them (does the metric help similarity alone?).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from _recommend_levers3 import Round3, _ranked, _z

from dailypapers.ranking.recommend import DEFAULT, Signals, train

SHRINKS = (0.03, 0.1, 0.3, 1.0)


class Coauthors:
    def __init__(self, methods: Any, split: str) -> None:
        from recommend_quality import split_of

        self.m = methods
        self.split = split
        self.split_of = split_of
        self._scatter: dict[int, np.ndarray] = {}
        self._mapped: dict[tuple[int, float], np.ndarray] = {}

    def scatter(self, week: int) -> np.ndarray:
        """The within-author scatter of the papers announced before ``week``."""
        if week not in self._scatter:
            start = self.m.weeks[week][0]
            corpus = self.m.corpus
            rows: dict[str, list[int]] = defaultdict(list)
            for i in np.flatnonzero(corpus.day < start):
                for name in corpus.authors[i]:
                    if self.split_of(name) != self.split:
                        rows[name].append(int(i))
            v = corpus.vectors.astype(np.float64)
            total, count = np.zeros((v.shape[1], v.shape[1])), 0
            for found in rows.values():
                if 2 <= len(found) <= 30:
                    x = v[found] - v[found].mean(0)
                    total += x.T @ x
                    count += len(found)
            self._scatter[week] = total / count
        return self._scatter[week]

    def mapped(self, week: int, shrink: float) -> np.ndarray:
        """Every paper's embedding under the week's metric, unit rows."""
        if (week, shrink) not in self._mapped:
            values, vectors = np.linalg.eigh(self.scatter(week))
            w = (vectors / np.sqrt(values + shrink * values.mean())) @ vectors.T
            x = self.m.corpus.vectors.astype(np.float64) @ w
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            self._mapped[(week, shrink)] = x.astype(np.float32)
        return self._mapped[(week, shrink)]


def _embedding_alone(methods: Any, r: Round3, u: Any, cand: np.ndarray, v: np.ndarray) -> Any:
    """The shipped recipe without the tf-idf block, over the rows ``v``."""
    background = methods.background(u, DEFAULT.background, r.seed(u))
    positives = u.positives.astype(np.int64)
    none = np.zeros(0, np.int64)
    signals = Signals(
        positives, v[positives], np.ones(len(positives), np.float32), v[none], v[background]
    )
    model = train(signals, "bench", DEFAULT)
    assert model is not None
    return model.scores(v[cand])


def beat_levers_4(methods: Any, split: str) -> dict[str, Any]:
    r = Round3(methods)
    c = Coauthors(methods, split)
    found: dict[str, Any] = {"shipped (round 3's fit)": _ranked(lambda u, cand: r.scores(u, cand))}
    for s in SHRINKS:
        found[f"(o) co-author metric, s {s}"] = _ranked(
            lambda u, cand, s=s: r.scores(u, cand, dense=c.mapped(u.week, s))
        )

        def zotero(u: Any, cand: np.ndarray, s: float = s) -> np.ndarray:
            v = c.mapped(u.week, s)
            library = v[u.positives[::-1]]
            decay = 1 / (1 + np.log10(np.arange(len(library)) + 1))
            scores: np.ndarray = (v[cand] @ library.T) @ (decay / decay.sum())
            return scores

        found[f"(o) zotero-arxiv-daily over the metric, s {s}"] = _ranked(zotero)
        found[f"(o) embedding alone over the metric, s {s}"] = _ranked(
            lambda u, cand, s=s: _embedding_alone(methods, r, u, cand, c.mapped(u.week, s))
        )
    for s in (0.1, 1.0):
        for g in (0.5, 1.0):
            found[f"(p) joint over [embedding, {g} x mapped], s {s}"] = _ranked(
                lambda u, cand, s=s, g=g: r.scores(
                    u, cand, dense=np.hstack([methods.corpus.vectors, g * c.mapped(u.week, s)])
                )
            )
        for b in (0.25, 0.5):

            def blend(u: Any, cand: np.ndarray, s: float = s, b: float = b) -> np.ndarray:
                v = c.mapped(u.week, s)
                library = v[u.positives[::-1]]
                decay = 1 / (1 + np.log10(np.arange(len(library)) + 1))
                near = (v[cand] @ library.T) @ (decay / decay.sum())
                result: np.ndarray = _z(r.scores(u, cand)) + b * _z(near)
                return result

            found[f"(q) joint + {b} x zotero over the metric, s {s}"] = _ranked(blend)
    return found
