"""The levers ``recommend_quality.py --levers`` tries (tune on ``--split tune``, report on
``report``): the embedding's and the terms' regularisation (scaling the tf-idf block against the
embedding is the same lever: a feature scaled by s under penalty l2 is that feature under
l2 / s^2), the number of sampled negatives, and rank blends (reciprocal-rank fusion, k = 60) of
a tf-idf-only model, the embedding-only model, the joint (shipped) model and arxiv-sanity-lite's
SVM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from dailypapers.ranking.recommend import DEFAULT, Params, Signals, train

RRF_K = 60.0

Ranker = Callable[[Any, np.ndarray], np.ndarray]


def rrf(*rankings: np.ndarray, k: float = RRF_K) -> np.ndarray:
    """The candidates ordered by the sum of 1 / (k + rank) over the rankings (ties: first
    ranking's order)."""
    first = rankings[0]
    score = np.zeros(len(first))
    position = {int(c): j for j, c in enumerate(first)}
    for ranking in rankings:
        at = np.fromiter((position[int(c)] for c in ranking), np.int64, len(ranking))
        score[at] += 1.0 / (k + np.arange(1, len(ranking) + 1))
    return first[np.argsort(-score, kind="stable")]


def tfidf_only(methods: Any, user: Any, cand: np.ndarray, params: Params = DEFAULT) -> np.ndarray:
    """The product's logistic regression on the tf-idf block alone (the embedding a constant 0:
    no dense weight, no nearest-paper term)."""
    import hashlib

    seed = int.from_bytes(hashlib.sha1(user.name.encode()).digest()[:4], "little")
    background = methods.background(user, params.background, seed)
    vocabulary, x = methods.product_terms(user.week)
    zero = np.zeros((1, 1), np.float32)
    signals = Signals(
        user.positives.astype(np.int64),
        np.repeat(zero, len(user.positives), axis=0),
        np.ones(len(user.positives), dtype=np.float32),
        np.zeros((0, 1), np.float32),
        np.repeat(zero, len(background), axis=0),
        x.take(user.positives),
        x.take(np.zeros(0, np.int64)),
        x.take(background),
    )
    model = train(signals, "bench", params, vocabulary="v", width=len(vocabulary.terms))
    assert model is not None
    result: np.ndarray = cand[model.rank(np.zeros((len(cand), 1), np.float32), x.take(cand))[0]]
    return result


def levers(methods: Any, with_weight: Callable[..., np.ndarray], svm: bool) -> dict[str, Ranker]:
    """The rankers of the grid, by name."""
    found: dict[str, Ranker] = {}
    seen: dict[tuple[str, str, int], np.ndarray] = {}

    def memo(name: str, rank: Ranker) -> Ranker:
        def ranked(u: Any, c: np.ndarray) -> np.ndarray:
            key = (name, u.name, u.week)
            if key not in seen:
                seen[key] = rank(u, c)
            return seen[key]

        return ranked

    svm_rank = memo("svm", methods.arxiv_sanity)
    embedding = memo("embedding", methods.embedding_only)
    shipped = memo("shipped", methods.shipped)
    tfidf = memo("tfidf", lambda u, c: tfidf_only(methods, u, c))

    def joint(p: Params, weight: float = 5.0) -> Ranker:
        return lambda u, c: with_weight(weight, methods.shipped, u, c, p)

    for l2 in (0.003, 0.03, 0.1):
        found[f"joint l2={l2}"] = joint(replace(DEFAULT, l2=l2))
    for term_l2 in (0.0005, 0.002):
        found[f"joint term_l2={term_l2}"] = joint(replace(DEFAULT, term_l2=term_l2))
    for background in (250, 1000, 2000):
        found[f"joint background={background}"] = joint(replace(DEFAULT, background=background))
    found["joint nw=0"] = joint(DEFAULT, 0.0)
    found["embedding only"] = embedding
    found["shipped"] = shipped
    if svm:
        found["arxiv-sanity-lite"] = svm_rank
    found["tfidf only"] = tfidf
    found["rrf(tfidf, embedding)"] = lambda u, c: rrf(tfidf(u, c), embedding(u, c))
    found["rrf(joint, embedding)"] = lambda u, c: rrf(shipped(u, c), embedding(u, c))
    found["rrf(joint, tfidf)"] = lambda u, c: rrf(shipped(u, c), tfidf(u, c))
    if svm:
        found["rrf(svm, embedding)"] = lambda u, c: rrf(svm_rank(u, c), embedding(u, c))
        found["rrf(svm, joint)"] = lambda u, c: rrf(svm_rank(u, c), shipped(u, c))
    return found
