"""The "For you" model: a per-user linear classifier over paper embeddings, and why it picks a paper.

Pure NumPy. A user's signals become training rows (the caller reads their vectors):

- **positives**: upvotes, collection items, matched library entries (weight 1 each) and "more like
  this" (weight :attr:`Params.more_weight`);
- **explicit negatives**: "not interested" (weight :attr:`Params.less_weight` each, in units of one
  positive);
- **sampled negatives**: papers the user has not touched, drawn at random from the recent ones
  (:attr:`Params.background`); together they weigh as much as all positives (class balance, as
  arxiv-sanity-lite's ``class_weight="balanced"``; :attr:`Params.background_weight` times as much
  to weigh them otherwise, a lever measured in ``benchmarks/recommend_quality.py``: no gain).

The classifier is L2-regularised logistic regression (``linear.py``) over the embedding joined
with the paper's tf-idf (``enrich.terms``; the embedding's weights and the terms' regularised
apart, :attr:`Params.term_l2`); a paper's score is its logit, one matrix-vector product and one
sparse product over the candidates; :meth:`UserModel.words` names the terms that weighed most
for a paper (weight x tf-idf). Its weights, and the user's own papers
(unit vectors in float16, for the reasons), are stored as bytes (:meth:`UserModel.to_bytes`).
The parameters were chosen on one set of simulated users and reported on another
(``benchmarks/recommend_quality.py``, two kinds of users: an author's papers, and a topic whose
phrase is removed from the text): a weaker penalty on the terms than on the embedding (0.003;
0.001 suited author users alone, 0.003 both), 500 sampled papers (as good as 2,000, four times
less work) and no nearest-own-paper term (a weight of 5 gained nothing on author users and cost
topic users ~0.012 nDCG@10; 15 suited the embedding alone); the nearest "not interested" paper
still weighs 5.
"""

from __future__ import annotations

import io
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from dailypapers.ranking.linear import Fitted, fit_logistic
from dailypapers.ranking.sparse import Csr, csr_dot, empty

MIN_POSITIVES = 3  # fewer: cold start (categories and trending), the page says so
# score = logit + NEIGHBOUR_WEIGHT x cosine to the user's nearest own paper - DISLIKE_WEIGHT x
# cosine to their nearest "not interested" one, for the RERANK best logits. The first is off: with
# the tf-idf joined it gained nothing on author users and cost 0.012 nDCG@10 on topic users
# (benchmarks/recommend_quality.py); the second puts a dismissed paper's neighbours down at once.
NEIGHBOUR_WEIGHT = 0.0
DISLIKE_WEIGHT = 5.0
RERANK = 500
FORMAT = 3  # of to_bytes; another number is an old model, retrained (2: embeddings only)


@lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """BLAS on one thread: these products are small, and on a busy machine BLAS's threads
    waiting for each other made a 2,500-row fit take 1.5-3 s instead of 85 ms (0.1 ms to set)."""
    limit: AbstractContextManager[Any] = _blas().limit(limits=1, user_api="blas")
    return limit


@dataclass(frozen=True, slots=True)
class Params:
    l2: float = 0.01
    background: int = 500
    more_weight: float = 2.0
    less_weight: float = 3.0
    term_l2: float = 0.003  # of the tf-idf weights (the embedding's: l2)
    background_weight: float = 1.0  # the sampled papers' total weight, in units of the positives'


DEFAULT = Params()


@dataclass(frozen=True, slots=True)
class Signals:
    """The training rows of one user: ids and unit vectors (float32, one row each)."""

    positive_ids: np.ndarray  # int64
    positives: np.ndarray
    positive_weights: np.ndarray  # float32: 1, or more_weight for "more like this"
    negatives: np.ndarray  # "not interested"
    background: np.ndarray  # sampled papers the user has not touched
    # tf-idf rows of the same papers, in the same order (None: a model of embeddings alone)
    positive_terms: Csr | None = None
    negative_terms: Csr | None = None
    background_terms: Csr | None = None


@dataclass(frozen=True, slots=True)
class UserModel:
    embedding_model: str
    weights: np.ndarray  # float32 (dim,)
    bias: float
    positive_ids: np.ndarray  # int64: the papers behind the reasons
    positive_vectors: np.ndarray  # (n, dim), unit rows (float16 as stored, float32 as read)
    negative_vectors: np.ndarray  # (m, dim), unit rows: "not interested"
    term_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    vocabulary: str = ""  # digest of the tf-idf vocabulary of term_weights ("": none)

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def scores(
        self,
        vectors: np.ndarray,
        terms: Csr | None = None,
        known: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """One score per row (higher: more likely wanted); ``terms``: the rows' tf-idf (a model
        without term weights ignores it); ``known``: which rows have one — the others get the
        median tf-idf part of those that do (a paper newer than the index is not pushed down).
        ``rows`` (increasing): score only those rows of ``vectors``, ``terms`` and ``known`` — the
        run of rows from the first to the last is read in place (the process's cache: no copy of
        the candidates' vectors), and the scores are those of ``scores(vectors[rows], ...)``."""
        if rows is not None:
            if len(rows) == 0:
                return np.zeros(0, dtype=np.float32)
            start, stop = int(rows[0]), int(rows[-1]) + 1
            at = rows - start
            result: np.ndarray = (vectors[start:stop] @ self.weights)[at] + np.float32(self.bias)
            if terms is not None and self.term_weights.size:
                run = terms.between(start, stop)
                part = csr_dot(run, self.term_weights)[at].astype(np.float32)
                kept = known[rows] if known is not None else None
                result = result + _median_filled(part, kept)
            return result
        if vectors.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        result = vectors @ self.weights + np.float32(self.bias)
        if terms is not None and self.term_weights.size:
            part = csr_dot(terms, self.term_weights).astype(np.float32)
            result = result + _median_filled(part, known)
        return result

    def words(self, terms: Csr, names: list[str], *, per_paper: int = 3) -> list[list[str]]:
        """For each row, the terms that weighed most for it (model weight x tf-idf, positive),
        heaviest first."""
        found: list[list[str]] = []
        if not self.term_weights.size:
            return [[] for _ in range(terms.rows)]
        for row in range(terms.rows):
            start, end = int(terms.indptr[row]), int(terms.indptr[row + 1])
            columns = terms.indices[start:end]
            weighed = terms.data[start:end] * self.term_weights[columns]
            best = np.argsort(-weighed, kind="stable")[:per_paper]
            found.append([names[int(columns[i])] for i in best if weighed[i] > 0])
        return found

    def rank(
        self,
        vectors: np.ndarray,
        terms: Csr | None = None,
        known: np.ndarray | None = None,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row order, best first, and the scores in that order: the logit of every row, then, for
        the :data:`RERANK` best, plus :data:`NEIGHBOUR_WEIGHT` times the cosine to the user's
        nearest own paper (off: 0) and minus :data:`DISLIKE_WEIGHT` times the cosine to the nearest
        "not interested" paper (``benchmarks/recommend_quality.py``). Rows past ``RERANK`` keep the
        logit order after the reranked ones. ``rows``: rank only those rows (see :meth:`scores`); the
        order is then of positions in ``rows``."""
        with one_blas_thread():
            return self._rank(vectors, terms, known, rows)

    def top(
        self,
        vectors: np.ndarray,
        terms: Csr | None = None,
        known: np.ndarray | None = None,
        rows: np.ndarray | None = None,
        *,
        count: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The first ``count`` rows of :meth:`rank`'s order and their scores, the same ones,
        without ordering the rest: only the best ``max(RERANK, count)`` logits (``count`` when
        nothing is reranked) are chosen (a partial selection, ties broken as :meth:`rank`'s stable
        sort breaks them: the earlier row first) and sorted. A page needs its own rows and those
        before it; at 25,000 candidates sorting them all was ~3 ms of a ~35 ms request."""
        with one_blas_thread():
            logits = self.scores(vectors, terms, known, rows)
            best = _best(logits, max(RERANK, count) if any(self._reranks()) else count)
            order, scores = self._rerank(vectors, rows, logits, best)
            return order[:count], scores[:count]

    def _rank(
        self,
        vectors: np.ndarray,
        terms: Csr | None,
        known: np.ndarray | None,
        rows: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        logits = self.scores(vectors, terms, known, rows)
        return self._rerank(vectors, rows, logits, np.argsort(-logits, kind="stable"))

    def _reranks(self) -> tuple[bool, bool]:
        """Whether the best logits are reordered by the nearest own paper, and by the nearest
        "not interested" one (a weight on, and papers for it)."""
        own = NEIGHBOUR_WEIGHT != 0 and self.positive_ids.size > 0
        return own, DISLIKE_WEIGHT != 0 and self.negative_vectors.shape[0] > 0

    def _rerank(
        self, vectors: np.ndarray, rows: np.ndarray | None, logits: np.ndarray, order: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``order`` (the logits' order, best first: all rows, or the first of them) with its
        first :data:`RERANK` rows reordered by the nearest-paper terms, and the scores."""
        own, dismissed = self._reranks()
        if not (own or dismissed):
            return order, logits[order]
        head = order[:RERANK]
        near = vectors[head] if rows is None else vectors[rows[head]]
        combined = logits[head]
        if own:
            nearest = (near @ self.positive_vectors.astype(np.float32, copy=False).T).max(axis=1)
            combined = combined + NEIGHBOUR_WEIGHT * nearest
        if dismissed:
            disliked = (near @ self.negative_vectors.astype(np.float32, copy=False).T).max(axis=1)
            combined = combined - DISLIKE_WEIGHT * np.maximum(disliked, 0.0)
        resorted = np.argsort(-combined, kind="stable")
        scores = np.concatenate([combined[resorted], logits[order[RERANK:]]])
        return np.concatenate([head[resorted], order[RERANK:]]), scores

    def reasons(
        self, vectors: np.ndarray, *, per_paper: int = 2, floor: float = 0.35
    ) -> list[list[tuple[int, float]]]:
        """For each row, the user's papers nearest to it: up to ``per_paper`` (paper id,
        cosine) pairs with cosine at least ``floor``, nearest first."""
        if vectors.shape[0] == 0 or self.positive_ids.size == 0:
            return [[] for _ in range(vectors.shape[0])]
        with one_blas_thread():
            sims = vectors @ self.positive_vectors.astype(np.float32, copy=False).T
        take = min(per_paper, sims.shape[1])
        best = np.argsort(-sims, axis=1)[:, :take]
        found = []
        for row, columns in zip(sims, best, strict=True):
            found.append(
                [(int(self.positive_ids[c]), float(row[c])) for c in columns if row[c] >= floor]
            )
        return found

    def to_bytes(self) -> bytes:
        header = {
            "format": FORMAT,
            "embedding_model": self.embedding_model,
            "bias": self.bias,
            "dim": self.dim,
            "positives": int(self.positive_ids.size),
            "negatives": int(self.negative_vectors.shape[0]),
            "terms": int(self.term_weights.size),
            "vocabulary": self.vocabulary,
        }
        buffer = io.BytesIO()
        head = json.dumps(header).encode("utf-8")
        buffer.write(len(head).to_bytes(4, "little"))
        buffer.write(head)
        buffer.write(self.weights.astype("<f4").tobytes())
        buffer.write(self.positive_ids.astype("<i8").tobytes())
        buffer.write(self.positive_vectors.astype("<f2").tobytes())
        buffer.write(self.negative_vectors.astype("<f2").tobytes())
        buffer.write(self.term_weights.astype("<f4").tobytes())
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> UserModel | None:
        """The model, or None when the bytes are of another format or damaged (retrain)."""
        try:
            size = int.from_bytes(blob[:4], "little")
            header = json.loads(blob[4 : 4 + size])
            if header.get("format") != FORMAT:
                return None
            dim, count = int(header["dim"]), int(header["positives"])
            negatives, width = int(header["negatives"]), int(header["terms"])
            at = 4 + size
            weights = np.frombuffer(blob, "<f4", dim, at)
            at += 4 * dim
            ids = np.frombuffer(blob, "<i8", count, at)
            at += 8 * count
            vectors = np.frombuffer(blob, "<f2", count * dim, at).reshape(count, dim)
            at += 2 * count * dim
            disliked = np.frombuffer(blob, "<f2", negatives * dim, at).reshape(negatives, dim)
            at += 2 * negatives * dim
            term_weights = np.frombuffer(blob, "<f4", width, at)
            if at + 4 * width != len(blob):
                return None
            return cls(  # the vectors as float32 once, not at each ranking
                str(header["embedding_model"]),
                weights,
                float(header["bias"]),
                ids,
                vectors.astype(np.float32),
                disliked.astype(np.float32),
                term_weights,
                str(header["vocabulary"]),
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return None


def train(
    signals: Signals,
    embedding_model: str,
    params: Params = DEFAULT,
    *,
    vocabulary: str = "",
    width: int = 0,
    start: UserModel | None = None,
    precondition: bool = True,
) -> UserModel | None:
    """The user's model, or None below :data:`MIN_POSITIVES` positives (cold start). With the
    signals' tf-idf rows and ``width`` (the vocabulary's size, ``vocabulary`` its digest), one
    logistic regression over the embedding joined with the tf-idf. ``start``: the user's previous
    model, where the fit starts (used when it has the same embedding model, dimension and
    vocabulary; the optimum is the same, fewer steps reach it); ``precondition=False``: the plain
    fit (``linear.py``), for the tests that compare the two."""
    positives = signals.positives
    if positives.shape[0] < MIN_POSITIVES:
        return None
    dim = positives.shape[1]
    negatives = signals.negatives.reshape(-1, dim)
    background = signals.background.reshape(-1, dim)
    weights_pos = signals.positive_weights.astype(np.float64)
    total = float(weights_pos.sum())
    parts = [positives, negatives, background]
    labels = np.concatenate(
        [np.ones(len(positives)), np.zeros(len(negatives)), np.zeros(len(background))]
    )
    sample_weights = np.concatenate(
        [
            weights_pos,
            np.full(len(negatives), params.less_weight),
            np.full(len(background), params.background_weight * total / max(len(background), 1)),
        ]
    )
    blocks = (signals.positive_terms, signals.negative_terms, signals.background_terms)
    sparse = None
    if width and all(b is not None for b in blocks):
        sparse = Csr.stack(b if b is not None else empty() for b in blocks)
    begin = None
    if (
        start is not None
        and start.embedding_model == embedding_model
        and start.dim == dim
        and start.vocabulary == (vocabulary if sparse is not None else "")
    ):
        begin = Fitted(start.weights, start.bias, 0, start.term_weights)
    with one_blas_thread():
        fitted = fit_logistic(
            np.concatenate(parts).astype(np.float32, copy=False),
            labels,
            sample_weights,
            l2=params.l2,
            sparse=sparse,
            sparse_width=width,
            sparse_l2=params.term_l2,
            precondition=precondition,
            start=begin,
        )
    return UserModel(
        embedding_model,
        fitted.weights,
        fitted.bias,
        signals.positive_ids.astype(np.int64),
        _unit(positives).astype(np.float16),
        _unit(negatives).astype(np.float16),
        fitted.sparse_weights,
        vocabulary if sparse is not None else "",
    )


def _best(logits: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` positions of ``np.argsort(-logits, kind="stable")``, in that order,
    by a partial selection: every logit better than the ``count``-th one, then the earliest of
    those equal to it, sorted stably among themselves."""
    if count >= len(logits):
        return np.argsort(-logits, kind="stable")
    if count <= 0:
        return np.zeros(0, np.int64)
    negated = -logits
    kth = np.partition(negated, count - 1)[count - 1]
    better = np.flatnonzero(negated < kth)
    tied = np.flatnonzero(negated == kth)[: count - len(better)]
    chosen = np.sort(np.concatenate([better, tied]))
    if len(chosen) < count:  # a NaN among the logits: no order to keep but the full sort's
        return np.argsort(negated, kind="stable")[:count]
    return chosen[np.argsort(negated[chosen], kind="stable")]


def _median_filled(part: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """The tf-idf part of the scores, the rows without a tf-idf row given the median of the
    others'."""
    if known is not None and not known.all():
        part[~known] = np.median(part[known]) if known.any() else 0.0
    return part


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    result: np.ndarray = matrix / np.maximum(norms, 1e-12)
    return result
