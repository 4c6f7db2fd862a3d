"""``recommend_quality.py --beat 3``: the third round of levers tried to beat arxiv-sanity-lite, and
a diagnosis of where its SVM's ranking comes from.

Levers (each one fit per user of the shipped model's recipe with one thing changed, ranked by its
scores over every candidate):

- (i) the paper's arXiv categories as sparse columns beside the tf-idf (each of a paper's ``n``
  categories ``a / sqrt(n)``; a = 0.1, 0.3, 1);
- (j) a second dense block: the title's own embedding, or the *tail* — title + what the
  embedding's truncation at 224 word pieces cuts off the abstract, a zero row when nothing is
  (76 % of the 2025 papers have one) — times g = 0.5 / 1 (``embed_cache.py --field title|tail``
  first; skipped without them);
- (k) the embeddings whitened (centred and decorrelated over the 90 days up to W, the
  eigenvalues shrunk by s x their mean, s = 0.01 / 0.1 / 1, rescaled to their former mean norm):
  the L2 penalty then weighs every direction of the space alike;
- (l) pseudo-relevance feedback: the scores (z) plus b x z(cosine to the centroid of the 10
  best candidates) in the embedding or in tf-idf (b = 0.5 / 1);
- (m) the library grown by each paper's k nearest earlier papers (embedding or tf-idf cosine, 90
  days before W) as positives of weight w (k = 3, w = 0.3; k = 10, w = 0.1);
- (n) the penalties scaled by the number of positives / 10 or / 30 (the fit's loss weighs the
  positives and the sampled papers 2 x the positives in all, so a fixed penalty is relatively
  stronger for a small library; the SVM's balanced class weights keep its loss's weight fixed).

Diagnosis: arxiv-sanity-lite's SVM on 500 sampled papers, on every paper before W, on W's papers
alone; a logistic model over tf-idf alone with the product's vocabulary, with arxiv-sanity-lite's
(scikit-learn's, fitted on every paper up to W) and with the product's recipe under
scikit-learn's stop words; the joint model with arxiv-sanity-lite's vocabulary.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from typing import Any

import numpy as np
from embed_cache import cache_paths
from scipy.sparse import csr_matrix, hstack

from dailypapers.enrich import terms as terms_module
from dailypapers.ranking.recommend import DEFAULT, Params, Signals, train
from dailypapers.ranking.sparse import Csr
from dailypapers.services.terms import VOCABULARY_DAYS

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def _field(methods: Any, field: str) -> np.ndarray | None:
    vectors, ids = cache_paths(MODEL, "onnx", field=field)
    if not vectors.is_file() or not ids.is_file():
        print(f"(no {field} embeddings: run embed_cache.py --field {field}; its levers skipped)")
        return None
    row = {p: i for i, p in enumerate(json.loads(ids.read_text()))}
    return np.load(vectors)[[row[p] for p in methods.corpus.ids]].astype(np.float32)


def _csr(matrix: Any) -> Csr:
    m = matrix.tocsr()
    m.sort_indices()
    return Csr(m.indptr.astype(np.int64), m.indices.astype(np.int32), m.data.astype(np.float32))


def _scipy(x: Csr, width: int) -> Any:
    return csr_matrix((x.data, x.indices, x.indptr), shape=(x.rows, width))


def _z(a: np.ndarray) -> np.ndarray:
    result: np.ndarray = (a - a.mean()) / (a.std() + 1e-9)
    return result


class Round3:
    def __init__(self, methods: Any) -> None:
        self.m = methods
        self._categories: Any = None
        self._sklearn: dict[int, tuple[int, Csr, np.ndarray]] = {}
        self._stops: dict[int, tuple[int, Csr]] = {}
        self._white: dict[tuple[int, float], tuple[np.ndarray, np.ndarray]] = {}

    def seed(self, user: Any) -> int:
        return int.from_bytes(hashlib.sha1(user.name.encode()).digest()[:4], "little")

    def terms(self, week: int, vocabulary: str) -> tuple[int, Csr, np.ndarray | None]:
        """(width, every paper's rows, corpus row -> matrix row or None: the same)."""
        if vocabulary == "product":
            vocab, x = self.m.product_terms(week)
            return len(vocab.terms), x, None
        if vocabulary == "product, sklearn stops":
            if week not in self._stops:
                from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

                saved = terms_module.STOP_WORDS
                terms_module.STOP_WORDS = frozenset(ENGLISH_STOP_WORDS)
                try:
                    found = [terms_module.tokens(t) for t in self.m.corpus.text]
                finally:
                    terms_module.STOP_WORDS = saved
                end, day = self.m.weeks[week][1], self.m.corpus.day
                rows = np.flatnonzero((day <= end) & (day > end - VOCABULARY_DAYS))
                vocab = terms_module.fit_vocabulary_tokens(found[i] for i in rows)
                self._stops[week] = (len(vocab.terms), vocab.transform_tokens(found))
            width, x = self._stops[week]
            return width, x, None
        if week not in self._sklearn:
            rows, matrix = self.m._tfidf(week)
            position = np.full(len(self.m.corpus.ids), -1)
            position[rows] = np.arange(len(rows))
            self._sklearn[week] = (matrix.shape[1], _csr(matrix), position)
        return self._sklearn[week]

    def categories(self, alpha: float) -> Any:
        if self._categories is None:
            names = sorted({c for cs in self.m.corpus.categories for c in cs})
            column = {c: j for j, c in enumerate(names)}
            rows, cols, vals = [], [], []
            for i, cs in enumerate(self.m.corpus.categories):
                for c in cs:
                    rows.append(i)
                    cols.append(column[c])
                    vals.append(1 / np.sqrt(len(cs)))
            shape = (len(self.m.corpus.ids), len(names))
            self._categories = csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float32)
        return self._categories * alpha

    def whitening(self, week: int, shrink: float) -> tuple[np.ndarray, np.ndarray]:
        if (week, shrink) not in self._white:
            end = self.m.weeks[week][1]
            day = self.m.corpus.day
            x = self.m.corpus.vectors[(day <= end) & (day > end - 90)].astype(np.float64)
            mean = x.mean(0)
            values, vectors = np.linalg.eigh(np.cov((x - mean).T))
            w = (vectors / np.sqrt(values + shrink * values.mean())) @ vectors.T
            factor = (
                np.linalg.norm(x - mean, axis=1).mean()
                / np.linalg.norm((x - mean) @ w, axis=1).mean()
            )
            self._white[(week, shrink)] = (mean.astype(np.float32), (w * factor).astype(np.float32))
        return self._white[(week, shrink)]

    def scores(
        self,
        user: Any,
        cand: np.ndarray,
        *,
        params: Params = DEFAULT,
        dense: np.ndarray | None = None,
        vocabulary: str = "product",
        extra: Any = None,
        grow: tuple[int, float, str] | None = None,
        no_dense: bool = False,
    ) -> np.ndarray:
        """The candidates' scores under one fit of the shipped recipe with one thing changed."""
        v = self.m.corpus.vectors if dense is None else dense
        if no_dense:
            v = np.zeros_like(v)
        width, x, position = self.terms(user.week, vocabulary)
        if extra is not None:
            joined = hstack([_scipy(x, width), extra]).tocsr()
            width, x = joined.shape[1], _csr(joined)
        at = (lambda ids: ids) if position is None else (lambda ids: position[ids])
        background = self.m.background(user, params.background, self.seed(user))
        positives = user.positives.astype(np.int64)
        weights = np.ones(len(positives), np.float32)
        if grow is not None:
            k, weight, space = grow
            start = self.m.weeks[user.week][0]
            day = self.m.corpus.day
            pool = np.setdiff1d(np.flatnonzero((day < start) & (day >= start - 90)), positives)
            if space == "embedding":
                near = v[positives] @ v[pool].T
            else:
                near = _scipy(x.take(at(positives)), width) @ _scipy(x.take(at(pool)), width).T
                near = near.toarray()
            added = np.unique(pool[np.argsort(-near, axis=1)[:, :k].ravel()])
            background = np.setdiff1d(background, added)
            positives = np.concatenate([positives, added])
            weights = np.concatenate([weights, np.full(len(added), weight, np.float32)])
        none = np.zeros(0, np.int64)
        signals = Signals(
            positives,
            v[positives],
            weights,
            v[none],
            v[background],
            x.take(at(positives)),
            x.take(at(none)),
            x.take(at(background)),
        )
        model = train(signals, "bench", params, vocabulary="v", width=width)
        assert model is not None
        result: np.ndarray = model.scores(v[cand], x.take(at(cand)))
        return result

    def feedback(self, user: Any, cand: np.ndarray, beta: float, space: str) -> np.ndarray:
        s = self.scores(user, cand)
        top = cand[np.argsort(-s)[:10]]
        if space == "embedding":
            v = self.m.corpus.vectors
            centroid = v[top].mean(0)
            near = v[cand] @ (centroid / np.linalg.norm(centroid))
        else:
            width, x, _ = self.terms(user.week, "product")
            centroid = np.asarray(_scipy(x.take(top), width).mean(0)).ravel()
            near = _scipy(x.take(cand), width) @ centroid
        result: np.ndarray = _z(s) + beta * _z(near)
        return result

    def svm(self, user: Any, cand: np.ndarray, pool: str) -> np.ndarray:
        from sklearn.svm import LinearSVC

        rows, x = self.m._tfidf(user.week)
        position = np.full(len(self.m.corpus.ids), -1)
        position[rows] = np.arange(len(rows))
        start, end = self.m.weeks[user.week]
        day = self.m.corpus.day
        if pool == "500 sampled":
            negatives = self.m.background(user, 500, self.seed(user))
        elif pool == "every paper before W":
            negatives = np.setdiff1d(np.flatnonzero(day < start), user.positives)
        else:  # W's papers alone
            negatives = np.flatnonzero((day >= start) & (day <= end))
        picked = position[np.concatenate([user.positives, negatives])]
        labels = np.r_[np.ones(len(user.positives)), np.zeros(len(negatives))]
        clf = LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(x[picked], labels)
        result: np.ndarray = clf.decision_function(x[position[cand]])
        return result


def _ranked(scores: Any) -> Any:
    return lambda u, c: c[np.argsort(-scores(u, c), kind="stable")]


def beat_levers_3(methods: Any) -> dict[str, Any]:
    r = Round3(methods)
    found: dict[str, Any] = {"shipped (round 3's fit)": _ranked(lambda u, c: r.scores(u, c))}
    for a in (0.1, 0.3, 1.0):
        found[f"(i) categories as columns, a {a}"] = _ranked(
            lambda u, c, a=a: r.scores(u, c, extra=r.categories(a))
        )
    for field in ("title", "tail"):
        block = _field(methods, field)
        if block is None:
            continue
        for g in (0.5, 1.0):
            dense = np.hstack([methods.corpus.vectors, g * block])
            found[f"(j) + the {field}'s embedding x {g}"] = _ranked(
                lambda u, c, d=dense: r.scores(u, c, dense=d)
            )
    for s in (0.01, 0.1, 1.0):

        def white(u: Any, c: np.ndarray, s: float = s) -> np.ndarray:
            mean, w = r.whitening(u.week, s)
            return r.scores(u, c, dense=(methods.corpus.vectors - mean) @ w)

        found[f"(k) whitened embeddings, shrink {s}"] = _ranked(white)
    for space in ("embedding", "tf-idf"):
        for b in (0.5, 1.0):
            found[f"(l) feedback from the best 10, {space}, b {b}"] = _ranked(
                lambda u, c, b=b, sp=space: r.feedback(u, c, b, sp)
            )
        for k, w in ((3, 0.3), (10, 0.1)):
            found[f"(m) library + {k} nearest each ({space}), w {w}"] = _ranked(
                lambda u, c, g=(k, w, space): r.scores(u, c, grow=g)
            )
    for n in (10, 30):

        def scaled(u: Any, c: np.ndarray, n: int = n) -> np.ndarray:
            f = len(u.positives) / n
            p = replace(DEFAULT, l2=DEFAULT.l2 * f, term_l2=DEFAULT.term_l2 * f)
            return r.scores(u, c, params=p)

        found[f"(n) penalties x positives / {n}"] = _ranked(scaled)
    for pool in ("500 sampled", "every paper before W", "W's papers alone"):
        found[f"svm on {pool}"] = _ranked(lambda u, c, p=pool: r.svm(u, c, p))
    found["tf-idf alone, product's vocabulary"] = _ranked(
        lambda u, c: r.scores(u, c, no_dense=True)
    )
    found["tf-idf alone, arxiv-sanity-lite's vocabulary"] = _ranked(
        lambda u, c: r.scores(u, c, vocabulary="sklearn", no_dense=True)
    )
    found["tf-idf alone, the product's with scikit-learn's stop words"] = _ranked(
        lambda u, c: r.scores(u, c, vocabulary="product, sklearn stops", no_dense=True)
    )
    found["joint, arxiv-sanity-lite's vocabulary"] = _ranked(
        lambda u, c: r.scores(u, c, vocabulary="sklearn")
    )
    return found
