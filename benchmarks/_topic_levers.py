"""The levers ``recommend_quality.py --user-kind topic --levers`` tries on topic users (tune on
``--split tune``; what clears the bar goes to ``report``).

Why these: on the report split the shipped model lost to arxiv-sanity-lite's SVM on topic users
(nDCG@10 -0.014, CI below zero) while tying it on author users. The SVM differs from the shipped
model in three ways, each a lever here: it sees **every paper up to W** as a negative (the
shipped model: 500 sampled from the 4 weeks before W) — ``background 2000 / 5000``; it ranks by
**tf-idf alone** (no embedding, no nearest-paper term) — ``tfidf only``, ``l2`` of the embedding
weights, ``nw``; and its loss is the **squared hinge** under a strong penalty (C = 0.01), which
with every paper as a negative makes its weights close to the library's tf-idf centroid minus
the corpus's (``rocchio``: the candidates' tf-idf times that difference, no fit at all; the
corpus's centroid is one vector for every user, so it would cost the product nothing).
``svm on 500 sampled``: the SVM's own recipe with the shipped model's negatives, to tell the
negatives' effect from the loss's. Blends: reciprocal-rank fusion (k = 60) of the shipped model
with tf-idf only and with Rocchio.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from _recommend_levers import Ranker, _scipy, memoiser, rrf, tfidf_only

from dailypapers.ranking.recommend import DEFAULT, Params


def _seed(user: Any) -> int:
    return int.from_bytes(hashlib.sha1(user.name.encode()).digest()[:4], "little")


def topic_levers(methods: Any, with_weight: Callable[..., np.ndarray]) -> dict[str, Ranker]:
    """The rankers of the topic grid, by name ("shipped" is the product's own ranking)."""
    found: dict[str, Ranker] = {}
    memo = memoiser()
    means: dict[tuple[str, int], np.ndarray] = {}

    def joint(p: Params, weight: float = 5.0) -> Ranker:
        return lambda u, c: with_weight(weight, methods.shipped, u, c, p)

    def rocchio(user: Any, cand: np.ndarray) -> np.ndarray:
        vocabulary, x = methods.product_terms(user.week)
        matrix = _scipy(x, len(vocabulary.terms))
        key = (user.name, user.week)  # the stripped corpus differs per phrase
        if key not in means:
            upto = np.flatnonzero(methods.corpus.day <= methods.weeks[user.week][1])
            means[key] = np.asarray(matrix[upto].mean(axis=0)).ravel()
        direction = np.asarray(matrix[user.positives].mean(axis=0)).ravel() - means[key]
        scores = matrix[cand] @ direction
        result: np.ndarray = cand[np.argsort(-scores, kind="stable")]
        return result

    def svm_sampled(user: Any, cand: np.ndarray) -> np.ndarray:
        from sklearn.svm import LinearSVC

        rows, x = methods._tfidf(user.week)
        position = {int(r): j for j, r in enumerate(rows)}
        background = methods.background(user, DEFAULT.background, _seed(user))
        train_rows = [position[int(i)] for i in (*user.positives, *background)]
        y = np.r_[np.ones(len(user.positives)), np.zeros(len(background))]
        clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(x[train_rows], y)
        scores = clf.decision_function(x[[position[int(i)] for i in cand]])
        result: np.ndarray = cand[np.argsort(-scores, kind="stable")]
        return result

    shipped = memo("shipped", methods.shipped)
    tfidf = memo("tfidf", lambda u, c: tfidf_only(methods, u, c))
    centroid = memo("rocchio", rocchio)
    found["shipped"] = shipped
    for term_l2 in (0.0003, 0.003, 0.01):
        found[f"joint term_l2={term_l2}"] = joint(replace(DEFAULT, term_l2=term_l2))
    for l2 in (0.03, 0.1):
        found[f"joint l2={l2}"] = joint(replace(DEFAULT, l2=l2))
    for background in (2000, 5000):
        found[f"joint background={background}"] = joint(replace(DEFAULT, background=background))
    found["joint nw=0"] = joint(DEFAULT, 0.0)
    found["joint nw=15"] = joint(DEFAULT, 15.0)
    found["tfidf only"] = tfidf
    found["rocchio (tf-idf)"] = centroid
    found["svm on 500 sampled"] = svm_sampled
    found["rrf(joint, tfidf)"] = lambda u, c: rrf(shipped(u, c), tfidf(u, c))
    found["rrf(joint, rocchio)"] = lambda u, c: rrf(shipped(u, c), centroid(u, c))
    return found


def topic_levers_2(methods: Any, with_weight: Callable[..., np.ndarray]) -> dict[str, Ranker]:
    """The second round, around the first's one lever with a CI above zero (no nearest-paper
    term): its weight 0 / 1 / 2.5 against the terms' penalty 0.001 / 0.003 / 0.01."""
    found: dict[str, Ranker] = {"shipped": methods.shipped}
    for weight in (0.0, 1.0, 2.5):
        for term_l2 in (0.001, 0.003, 0.01):
            p = replace(DEFAULT, term_l2=term_l2)
            found[f"joint nw={weight:g} term_l2={term_l2}"] = lambda u, c, p=p, w=weight: (
                with_weight(w, methods.shipped, u, c, p)
            )
    return found
