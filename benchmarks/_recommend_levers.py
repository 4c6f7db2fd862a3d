"""The levers ``recommend_quality.py --levers`` tries (tune on ``--split tune``, report on
``report``): the embedding's and the terms' regularisation (scaling the tf-idf block against the
embedding is the same lever: a feature scaled by s under penalty l2 is that feature under
l2 / s^2), the number of sampled negatives, and rank blends (reciprocal-rank fusion, k = 60) of
a tf-idf-only model, the embedding-only model, the joint (shipped) model and arxiv-sanity-lite's
SVM.

``--beat 1`` / ``--beat 2`` (:func:`beat_levers`, :func:`beat_levers_2`): the levers tried to beat
arxiv-sanity-lite — (a) the cosine to the nearest library paper in tf-idf space added to the
score, (b) other vocabularies (a wider window, 50k terms, min_df 2, scikit-learn's stop words,
arxiv-sanity-lite's own), (c) the cosine to the library's tf-idf centroid (Rocchio) added to the
reranked scores or folded into the term weights, (d) negatives (every paper of the 4 weeks, the
sampled papers' total weight, papers sampled from the library's time span); then (e) positives
weighed by recency, (f) the title counted twice, (g) the nearest-paper term over every candidate,
(h) hard negatives (half of the sampled papers the recent ones nearest to the library).
Each is computed from one fit per user and variant (:class:`Beat`), ranked as ``UserModel.rank``
does; "shipped (components)" is the shipped model rebuilt from those parts (equal to "shipped").
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


def memoiser() -> Callable[[str, Ranker], Ranker]:
    """``memo(name, rank)``: ``rank`` run once per user and week, its answer shared by every
    blend that asks for it under ``name``."""
    seen: dict[tuple[str, str, int], np.ndarray] = {}

    def memo(name: str, rank: Ranker) -> Ranker:
        def ranked(u: Any, c: np.ndarray) -> np.ndarray:
            key = (name, u.name, u.week)
            if key not in seen:
                seen[key] = rank(u, c)
            return seen[key]

        return ranked

    return memo


def levers(methods: Any, with_weight: Callable[..., np.ndarray], svm: bool) -> dict[str, Ranker]:
    """The rankers of the grid, by name."""
    found: dict[str, Ranker] = {}
    memo = memoiser()
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


# --- The levers tried to beat arxiv-sanity-lite (``--beat``): (a) the nearest library paper in
# tf-idf space, (b) the vocabulary, (c) the library's tf-idf centroid (Rocchio), (d) negatives.

BEAT_WEIGHTS = (5.0, 10.0, 20.0, 40.0)

# name -> (vocabulary days, max terms, min df, max df, stop words: "product" | "sklearn")
VOCABULARIES: dict[str, tuple[int, int, int, float, str]] = {
    "all up to W": (100_000, 20_000, 5, 0.1, "product"),
    "50k terms": (90, 50_000, 5, 0.1, "product"),
    "50k, min_df 2": (90, 50_000, 2, 0.1, "product"),
    "sklearn stop words": (90, 20_000, 5, 0.1, "sklearn"),
    "asl's (all, sklearn stop)": (100_000, 20_000, 5, 0.1, "sklearn"),
    "title counted twice": (90, 20_000, 5, 0.1, "title x2"),
}


def _scipy(matrix: Any, width: int) -> Any:
    from scipy.sparse import csr_matrix

    return csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.rows, width))


class Beat:
    """Per-user components of the shipped model (memoised) and the variants' fits."""

    def __init__(self, methods: Any) -> None:
        self.methods = methods
        self.parts: dict[tuple[str, int], dict[str, np.ndarray]] = {}
        self.vocab: dict[tuple[str, int], tuple[Any, Any]] = {}
        self.token_lists: dict[str, list[list[str]]] = {}

    # the tf-idf of another vocabulary
    def terms(self, name: str, week: int) -> tuple[Any, Any]:
        import hashlib as _h
        import re
        import unicodedata

        from embed_cache import CACHE

        from dailypapers.enrich import terms as tm
        from dailypapers.enrich.terms import PaperTerms

        key = (name, week)
        if key in self.vocab:
            return self.vocab[key]
        days, max_terms, min_df, max_df, stop = VOCABULARIES[name]
        corpus = self.methods.corpus
        end = self.methods.weeks[week][1]
        tag = _h.sha1(repr(VOCABULARIES[name]).encode()).hexdigest()[:8]
        path = CACHE / f"recommend-terms-beat-{len(corpus.ids)}-{end}-{tag}.npz"
        if path.is_file():
            stored = PaperTerms.from_bytes(path.read_bytes())
            if stored is not None:
                self.vocab[key] = (stored.vocabulary, stored.matrix)
                return self.vocab[key]
        if stop not in self.token_lists:
            if stop == "product":
                self.token_lists[stop] = [tm.tokens(t) for t in corpus.text]
            elif stop == "title x2":  # the title's words twice (its pairs once more too)
                self.token_lists[stop] = [
                    tm.tokens(t) + tm.tokens(t.split(". ", 1)[0]) for t in corpus.text
                ]
            else:
                from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

                word = re.compile(r"\b[a-z_][a-z0-9_]+\b")

                def split(text: str) -> list[str]:
                    plain = unicodedata.normalize("NFKD", text.lower())
                    plain = "".join(c for c in plain if not unicodedata.combining(c))
                    words = [w for w in word.findall(plain) if w not in ENGLISH_STOP_WORDS]
                    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]

                self.token_lists[stop] = [split(t) for t in corpus.text]
        documents = self.token_lists[stop]
        rows = np.flatnonzero((corpus.day <= end) & (corpus.day > end - days))
        saved = (tm.MAX_TERMS, tm.MIN_DF, tm.MAX_DF)
        tm.MAX_TERMS, tm.MIN_DF, tm.MAX_DF = max_terms, min_df, max_df
        try:
            vocabulary = tm.fit_vocabulary_tokens(documents[i] for i in rows)
        finally:
            tm.MAX_TERMS, tm.MIN_DF, tm.MAX_DF = saved
        matrix = vocabulary.transform_tokens(documents)
        ids = np.arange(len(corpus.ids), dtype=np.int64)
        path.write_bytes(PaperTerms(vocabulary, ids, matrix).to_bytes())
        self.vocab[key] = (vocabulary, matrix)
        return self.vocab[key]

    def fit(
        self,
        user: Any,
        cand: np.ndarray,
        params: Params = DEFAULT,
        vocabulary: str = "",
        pool: str = "4 weeks",
        decay: str = "",
    ) -> dict[str, np.ndarray]:
        """The joint model's logits over ``cand``, the nearest own paper's cosine (embedding and
        tf-idf) and the cosine to the library's tf-idf centroid."""
        import hashlib as _h

        m = self.methods
        key = (f"{params}|{vocabulary}|{pool}|{decay}|{user.name}", user.week)
        if key in self.parts:
            return self.parts[key]
        v = m.corpus.vectors
        seed = int.from_bytes(_h.sha1(user.name.encode()).digest()[:4], "little")
        if pool == "4 weeks":
            background = m.background(user, params.background, seed)
        elif pool.startswith("hard"):  # half at random, half the 4 weeks' nearest to the library
            start = m.weeks[user.week][0]
            recent = np.flatnonzero((m.corpus.day < start) & (m.corpus.day >= start - 28))
            recent = np.setdiff1d(recent, user.positives)
            near = (v[recent] @ v[user.positives].T).max(axis=1)
            hard = recent[np.argsort(-near, kind="stable")[: params.background // 2]]
            rest = np.setdiff1d(recent, hard)
            rng = np.random.default_rng(seed)
            background = np.concatenate(
                [hard, rng.choice(rest, min(params.background - len(hard), len(rest)), False)]
            )
        else:  # every paper before W (the library's time span too), as arxiv-sanity-lite
            start = m.weeks[user.week][0]
            everything = np.setdiff1d(np.flatnonzero(m.corpus.day < start), user.positives)
            rng = np.random.default_rng(seed)
            background = rng.choice(everything, min(params.background, len(everything)), False)
        if vocabulary:
            vocab, x = self.terms(vocabulary, user.week)
        else:
            vocab, x = m.product_terms(user.week)
        width = len(vocab.terms)
        none = np.zeros(0, np.int64)
        weights = np.ones(len(user.positives))
        if decay == "zotero":  # 1 / (1 + log10(rank + 1)), the newest paper first
            weights = 1 / (1 + np.log10(np.arange(len(weights))[::-1] + 1))
        elif decay.startswith("half-life"):  # 0.5 ** (age in days / half-life) at W's start
            age = m.weeks[user.week][0] - m.corpus.day[user.positives]
            weights = 0.5 ** (age / float(decay.split()[1]))
        weights = weights * len(weights) / weights.sum()  # as many positives in all
        signals = Signals(
            user.positives.astype(np.int64),
            v[user.positives],
            weights.astype(np.float32),
            v[none].reshape(-1, v.shape[1]),
            v[background],
            x.take(user.positives),
            x.take(none),
            x.take(background),
        )
        model = train(signals, "bench", params, vocabulary="v", width=width)
        assert model is not None
        cand_terms = x.take(cand)
        logits = model.scores(v[cand], cand_terms)
        emb_near = (v[cand] @ v[user.positives].T).max(axis=1)
        c = _scipy(cand_terms, width)
        lib = _scipy(x.take(user.positives), width)
        tf_near = np.asarray((c @ lib.T).max(axis=1).todense()).ravel()
        centroid = np.asarray(lib.mean(axis=0)).ravel()
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        tf_cent = np.asarray(c @ centroid).ravel()
        self.parts[key] = {
            "logits": np.asarray(logits, np.float64),
            "emb_near": emb_near.astype(np.float64),
            "tf_near": tf_near,
            "tf_cent": tf_cent,
        }
        return self.parts[key]

    @staticmethod
    def order(
        cand: np.ndarray,
        parts: dict[str, np.ndarray],
        extra: np.ndarray | None = None,
        folded: np.ndarray | None = None,
        rerank: int | None = None,
    ) -> np.ndarray:
        """As ``UserModel.rank``: the best RERANK logits re-sorted by logit + 5 x nearest own
        paper (+ ``extra``), the rest in logit order; ``folded``: added to the logits first (a
        linear term in tf-idf space is a change of the model's term weights)."""
        from dailypapers.ranking import recommend

        logits = parts["logits"] if folded is None else parts["logits"] + folded
        order = np.argsort(-logits, kind="stable")
        top = recommend.RERANK if rerank is None else rerank
        head = order[:top]
        combined = logits[head] + recommend.NEIGHBOUR_WEIGHT * parts["emb_near"][head]
        if extra is not None:
            combined = combined + extra[head]
        resorted = np.argsort(-combined, kind="stable")
        result: np.ndarray = cand[np.concatenate([head[resorted], order[top:]])]
        return result


def beat_levers(methods: Any) -> dict[str, Ranker]:
    """The rankers of ``--beat``, by name ("shipped" is the product's own ranking)."""
    beat = Beat(methods)
    found: dict[str, Ranker] = {}
    found["shipped (components)"] = lambda u, c: Beat.order(c, beat.fit(u, c))
    for w in BEAT_WEIGHTS:
        found[f"(a) + {w:g} x tf-idf nearest"] = lambda u, c, w=w: Beat.order(
            c, beat.fit(u, c), w * beat.fit(u, c)["tf_near"]
        )
    for w in BEAT_WEIGHTS:
        found[f"(c) + {w:g} x tf-idf centroid"] = lambda u, c, w=w: Beat.order(
            c, beat.fit(u, c), w * beat.fit(u, c)["tf_cent"]
        )
    for w in BEAT_WEIGHTS:
        found[f"(c) folded: + {w:g} x centroid"] = lambda u, c, w=w: Beat.order(
            c, beat.fit(u, c), folded=w * beat.fit(u, c)["tf_cent"]
        )
    for w in (10.0, 20.0):
        found[f"(a+c) + {w:g} x (nearest + centroid)"] = lambda u, c, w=w: Beat.order(
            c, beat.fit(u, c), w * (beat.fit(u, c)["tf_near"] + beat.fit(u, c)["tf_cent"])
        )
    for name in VOCABULARIES:
        found[f"(b) vocabulary {name}"] = lambda u, c, name=name: Beat.order(
            c, beat.fit(u, c, vocabulary=name)
        )
    for size in (100_000,):
        p = replace(DEFAULT, background=size)
        found[f"(d) background {size} (4 weeks)"] = lambda u, c, p=p: Beat.order(
            c, beat.fit(u, c, p)
        )
    for weight in (0.5, 2.0, 4.0):
        p = replace(DEFAULT, background_weight=weight)
        found[f"(d) background weight {weight:g}"] = lambda u, c, p=p: Beat.order(
            c, beat.fit(u, c, p)
        )
    for size in (500, 2000):
        p = replace(DEFAULT, background=size)
        found[f"(d) background {size} before W"] = lambda u, c, p=p: Beat.order(
            c, beat.fit(u, c, p, pool="before W")
        )
    return found


def beat_levers_2(methods: Any) -> dict[str, Ranker]:
    """The second round: recency-weighted positives, the title counted twice, every candidate
    reranked with the nearest-paper term, hard negatives (half of the sampled papers the recent
    ones nearest to the library)."""
    beat = Beat(methods)
    found: dict[str, Ranker] = {}
    found["shipped (components)"] = lambda u, c: Beat.order(c, beat.fit(u, c))
    for decay in ("zotero", "half-life 30", "half-life 60"):
        found[f"(e) positives weighed by recency, {decay}"] = lambda u, c, d=decay: Beat.order(
            c, beat.fit(u, c, decay=d)
        )
    found["(f) vocabulary title counted twice"] = lambda u, c: Beat.order(
        c, beat.fit(u, c, vocabulary="title counted twice")
    )
    for size in (500, 1000):
        p = replace(DEFAULT, background=size)
        found[f"(h) {size} sampled, half the nearest to the library"] = lambda u, c, p=p: (
            Beat.order(c, beat.fit(u, c, p, pool="hard"))
        )
    found["(g) nearest-paper term over every candidate"] = lambda u, c: Beat.order(
        c, beat.fit(u, c), rerank=len(c)
    )
    return found
