"""'For you' fast paths against their plain paths: scoring the cache's rows in place (no gather of
the candidates' vectors or tf-idf rows), the cache's tf-idf rows lined up once, candidate ids read
through the driver, the preconditioned fit and the fit started from the previous model. Each
must give the ranking the plain path gives (both backends where a database is involved)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.dialect import id_array
from dailypapers.db.models import Paper, User
from dailypapers.db.signals import UserModel
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.embeddings.store import embed_pending, vectors_of
from dailypapers.enrich import terms as terms_module
from dailypapers.enrich.terms import fit_vocabulary
from dailypapers.ranking.linear import fit_logistic
from dailypapers.ranking.recommend import Signals, train
from dailypapers.ranking.sparse import Csr
from dailypapers.services.accounts import add_user
from dailypapers.services.feeds import feed_filters
from dailypapers.services.periods import Period
from dailypapers.services.recommend import recommend
from dailypapers.services.retrain import retrain, retrain_stale
from dailypapers.services.terms import load_terms, refresh_term_index
from dailypapers.services.votes import vote
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, record

TOPICS = [
    "protein folding structure prediction residues",
    "quantum error correction qubits surface codes",
    "galaxy cluster lensing dark matter halos",
    "traffic forecasting road sensors congestion",
]
SHARED = "deep networks training data evaluation benchmark"


@pytest.fixture(autouse=True)
def small_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms_module, "MIN_DF", 2)
    monkeypatch.setattr(terms_module, "MAX_DF", 0.6)


def _corpus(n: int = 80, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Texts on four topics (a mixed pair of words each) and noisy embeddings that know the
    topic a little."""
    rng = np.random.default_rng(seed)
    texts, vectors = [], []
    centres = rng.standard_normal((4, 16)).astype(np.float32)
    for i in range(n):
        topic = i % 4
        words = TOPICS[topic].split()
        picked = " ".join(rng.choice(words, 3, replace=False))
        other = " ".join(rng.choice(TOPICS[(topic + 1) % 4].split(), 1))
        texts.append(f"{picked} {other} {SHARED} n{i}")
        vectors.append(0.4 * centres[topic] + rng.standard_normal(16).astype(np.float32))
    matrix = np.array(vectors, np.float32)
    return texts, matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def _signals(x: Csr, vectors: np.ndarray, positives: np.ndarray, background: np.ndarray) -> Signals:
    none = np.zeros(0, np.int64)
    return Signals(
        positives,
        vectors[positives],
        np.ones(len(positives), np.float32),
        vectors[none],
        vectors[background],
        x.take(positives),
        x.take(none),
        x.take(background),
    )


# --- the model: rows in place, the preconditioned fit, the warm start --------------------------


def test_scoring_rows_in_place_is_scoring_the_gathered_rows() -> None:
    texts, vectors = _corpus()
    vocabulary = fit_vocabulary(texts)
    x = vocabulary.transform(texts)
    positives, background = np.arange(0, 40, 4), np.array([i for i in range(40) if i % 4])
    signals = _signals(x, vectors, positives, background)
    model = train(signals, "m", vocabulary=vocabulary.digest, width=len(vocabulary.terms))
    assert model is not None
    known = np.ones(len(texts), bool)
    known[[41, 50, 77]] = False  # newer than the index: the median word score
    for rows in (np.arange(40, 80), np.arange(40, 80, 3), np.array([45]), np.zeros(0, np.int64)):
        gathered = model.scores(vectors[rows], x.take(rows), known[rows])
        in_place = model.scores(vectors, x, known, rows)
        assert np.allclose(in_place, gathered, atol=1e-6)
        order, scores = model.rank(vectors, x, known, rows)
        plain_order, plain_scores = model.rank(vectors[rows], x.take(rows), known[rows])
        assert np.array_equal(order, plain_order)
        assert np.allclose(scores, plain_scores, atol=1e-6)


def test_a_run_of_sparse_rows_is_a_view_of_them() -> None:
    texts, _ = _corpus(20)
    x = fit_vocabulary(texts).transform(texts)
    run = x.between(5, 12)
    taken = x.take(np.arange(5, 12))
    assert np.array_equal(run.indptr, taken.indptr)
    assert np.array_equal(run.indices, taken.indices) and np.array_equal(run.data, taken.data)
    assert np.shares_memory(run.data, x.data)


def test_the_preconditioned_fit_and_the_warm_start_rank_as_the_plain_fit() -> None:
    texts, vectors = _corpus(200, seed=1)
    vocabulary = fit_vocabulary(texts)
    x = vocabulary.transform(texts)
    positives = np.arange(0, 120, 4)
    background = np.array([i for i in range(120) if i % 4])
    signals = _signals(x, vectors, positives, background)
    width = len(vocabulary.terms)
    plain = train(signals, "m", vocabulary="v", width=width, precondition=False)
    fast = train(signals, "m", vocabulary="v", width=width)
    # the previous model: the same signals less three positives; the fit starts from it
    fewer = _signals(x, vectors, positives[3:], background)
    previous = train(fewer, "m", vocabulary="v", width=width)
    warm = train(signals, "m", vocabulary="v", width=width, start=previous)
    other = train(signals, "m", vocabulary="other", width=width, start=previous)  # not used
    assert plain and fast and previous and warm and other
    candidates = np.arange(120, 200)
    ranked = {
        name: candidates[model.rank(vectors[candidates], x.take(candidates))[0]]
        for name, model in (("plain", plain), ("fast", fast), ("warm", warm), ("other", other))
    }
    # one optimum, reached within the fit's tolerance: every score within 1 % of their spread
    # (so the order may differ only between papers that close: two swapped at term L2 0.003)
    scores = {
        name: model.scores(vectors[candidates], x.take(candidates))
        for name, model in (("plain", plain), ("fast", fast), ("warm", warm))
    }
    spread = float(np.ptp(scores["plain"]))
    for name in ("fast", "warm"):
        assert float(np.abs(scores[name] - scores["plain"]).max()) <= 0.01 * spread, name
        assert set(ranked[name][:20].tolist()) == set(ranked["plain"][:20].tolist()), name
    assert np.array_equal(ranked["other"], ranked["fast"])  # another vocabulary: from zero
    assert sum(c % 4 == 0 for c in ranked["fast"][:10]) >= 8  # and it learnt the topic


def test_the_preconditioned_and_the_warm_fit_reach_the_plain_fits_optimum() -> None:
    """(Fewer steps on the real problem, where the weakly penalised tf-idf block and the
    embedding differ in scale: benchmarks/recommend_speed.py; a warm start saves steps here.)"""
    texts, vectors = _corpus(300, seed=2)
    x = fit_vocabulary(texts).transform(texts)
    labels = (np.arange(300) % 4 == 0).astype(np.float64)
    weights = np.where(labels == 1, 1.0, 1 / 3)
    args = (vectors, labels, weights)
    options = {"l2": 0.01, "sparse": x, "sparse_width": x.indices.max() + 1, "sparse_l2": 0.001}
    plain = fit_logistic(*args, precondition=False, **options)  # type: ignore[arg-type]
    fast = fit_logistic(*args, **options)  # type: ignore[arg-type]
    warm = fit_logistic(*args, start=fast, **options)  # type: ignore[arg-type]
    exact = fit_logistic(*args, tolerance=1e-14, max_iterations=3000, **options)  # type: ignore[arg-type]
    assert warm.iterations < fast.iterations
    for fitted in (plain, fast, warm):
        assert np.allclose(fitted.weights, exact.weights, atol=0.05)
        assert np.allclose(fitted.sparse_weights, exact.sparse_weights, atol=0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_sparse_block_fits_as_the_same_columns_written_out_dense(seed: int) -> None:
    """The fit's sparse products (scipy.sparse, ``linear.py``) against plain dense columns: a
    tf-idf block penalised by ``sparse_l2`` is the dense problem with each column scaled by
    ``sqrt(l2 / sparse_l2)`` (its weight then shrinks by that factor), so both reach one optimum.
    Rows without a term and columns no row uses are in the block."""
    rng = np.random.default_rng(seed)
    rows, dim, width = 90, 6, 40
    vectors = rng.standard_normal((rows, dim)).astype(np.float32)
    lengths = rng.integers(0, 5, rows)
    lengths[rng.choice(rows, 10, replace=False)] = 0  # no term at all
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    indices = np.concatenate(
        [np.sort(rng.choice(width - 5, n, replace=False)) for n in lengths]  # 5 never used
    ).astype(np.int32)
    data = rng.uniform(0.1, 1.0, len(indices)).astype(np.float32)
    labels = (rng.random(rows) < 0.3).astype(np.float64)
    weights = rng.uniform(0.5, 2.0, rows)
    l2, sparse_l2 = 0.05, 0.005
    scale = np.sqrt(l2 / sparse_l2)
    dense = np.zeros((rows, width), np.float32)
    dense[np.repeat(np.arange(rows), lengths), indices] = data * scale
    exact = {"tolerance": 1e-14, "max_iterations": 3000}
    sparse = fit_logistic(
        vectors, labels, weights, l2=l2, sparse=Csr(indptr, indices, data), sparse_width=width,
        sparse_l2=sparse_l2, **exact,  # type: ignore[arg-type]
    )  # fmt: skip
    plain = fit_logistic(np.hstack([vectors, dense]), labels, weights, l2=l2, **exact)  # type: ignore[arg-type]
    assert np.allclose(sparse.weights, plain.weights[:dim], atol=1e-4)
    assert np.allclose(sparse.sparse_weights, plain.weights[dim:] * scale, atol=1e-3)
    assert not sparse.sparse_weights[width - 5 :].any()
    assert sparse.bias == pytest.approx(plain.bias, abs=1e-4)


# --- the service: both backends --------------------------------------------------------------


def _papers(engine: Engine, per_topic: int = 8) -> None:
    texts, _ = _corpus(4 * per_topic)
    add_papers(
        engine,
        *(
            record(f"2506.{i:05d}", f"2025-06-{16 + i % 5}", title=f"T{i}", abstract=text)
            for i, text in enumerate(texts)
        ),
    )
    embed_pending(engine, fake_embedder())


def _user(engine: Engine, *votes: str) -> int:
    with Session(engine) as session, session.begin():
        user = add_user(session, "fast@example.org")
        for arxiv_id in votes:
            vote(session, user, arxiv_id)
        return user.id


def _where(session: Session) -> list:  # type: ignore[type-arg]
    return feed_filters(session, Period("day", date(2025, 6, 14), date(2025, 6, 20)))


def _everything(session: Session, user_id: int, where: list, recent: RecentVectors | None):  # type: ignore[no-untyped-def,type-arg]
    user = session.get(User, user_id)
    assert user is not None
    found = recommend(session, user, where, limit=1000, recent=recent)
    return [p.id for p in found.papers], found.terms, {k: len(v) for k, v in found.reasons.items()}


def test_the_cache_ranks_every_window_as_the_database(settings: Settings, engine: Engine) -> None:
    _papers(engine)
    refresh_term_index(engine)
    user_id = _user(engine, "2506.00000", "2506.00004", "2506.00008", "2506.00012")
    assert retrain_stale(engine, settings) == 1
    # a paper newer than the index (a vector, no tf-idf row yet): the median word score
    add_papers(engine, record("2506.00900", "2025-06-20", title="T new", abstract=TOPICS[0]))
    embed_pending(engine, fake_embedder())
    cache = RecentVectors()
    with Session(engine) as session:
        ids = sorted(session.scalars(select(Paper.id)))
        windows = [
            _where(session),  # one run of the cache's rows
            [*_where(session), Paper.id.in_(ids[::3])],  # rows here and there
            [*_where(session), Paper.id.in_(ids[7:9])],
            [*_where(session), Paper.id.in_(ids[-1:])],
        ]
        for where in windows:
            plain = _everything(session, user_id, where, None)
            cached = _everything(session, user_id, where, cache)
            assert plain[0] and cached == plain
        user = session.get(User, user_id)
        assert user is not None
        first = recommend(session, user, windows[0], limit=5, offset=3, recent=cache)
        assert [p.id for p in first.papers] == _everything(session, user_id, windows[0], None)[0][
            3:8
        ]
        assert set(first.terms) <= {p.id for p in first.papers} and first.terms


def test_the_cache_lines_up_its_tfidf_rows_once(settings: Settings, engine: Engine) -> None:
    _papers(engine)
    refresh_term_index(engine)
    cache = RecentVectors()
    model = settings.embedding_model
    with Session(engine) as session:
        terms = load_terms(session)
        assert terms is not None
        ids = np.array(sorted(session.scalars(select(Paper.id))), np.int64)
        for wanted in (ids, ids[::3], ids[5:9]):
            found = cache.lookup(session, model, wanted[::-1], lambda: date(2025, 6, 16), terms)
            assert found is not None and found.terms is not None and found.known is not None
            direct, expected = vectors_of(session, model, wanted.tolist())
            assert np.array_equal(found.ids, direct)
            assert np.array_equal(found.vectors[found.rows], expected)
            rows, known = terms.rows(found.ids)
            taken = found.terms.take(found.rows)
            assert np.array_equal(taken.indptr, rows.indptr)
            assert np.array_equal(taken.data, rows.data) and np.array_equal(
                known, found.known[found.rows]
            )
        again = cache.lookup(session, model, ids, lambda: date(2025, 6, 16), terms)
        assert again is not None and again.terms is found.terms  # not lined up again
        assert again.terms is terms.matrix  # the same papers: the index's own rows, no copy
    # a paper newer than the index: the cache's rows are lined up, the new one without a row
    add_papers(engine, record("2506.00900", "2025-06-20", title="T new", abstract=TOPICS[0]))
    embed_pending(engine, fake_embedder())
    with Session(engine) as session:
        ids = np.array(sorted(session.scalars(select(Paper.id))), np.int64)
        found = cache.lookup(session, model, ids, lambda: date(2025, 6, 16), terms)
        assert found is not None and found.terms is not None and found.known is not None
        rows, known = terms.rows(found.ids)
        taken = found.terms.take(found.rows)
        assert np.array_equal(taken.indptr, rows.indptr) and np.array_equal(taken.data, rows.data)
        assert np.array_equal(found.known[found.rows], known) and not known[-1] and known[:-1].all()
    with Session(engine) as session:
        # a window older than the cache, with a paper missing from it: the database's turn
        missing = np.append(ids, ids.max() + 1000)
        assert cache.lookup(session, model, missing, lambda: date(2020, 1, 1), terms) is None


def test_a_retrain_from_the_previous_model_ranks_as_one_from_zero(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    user_id = _user(engine, "2506.00000", "2506.00004", "2506.00008")
    retrain_stale(engine, settings)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        vote(session, user, "2506.00012")
    with Session(engine) as session:
        terms = load_terms(session)
    assert retrain(engine, settings, user_id, terms=terms)  # starts from the first model
    with Session(engine) as session:
        warm = _everything(session, user_id, _where(session), None)
    with Session(engine) as session, session.begin():
        session.execute(update(UserModel).where(UserModel.user_id == user_id).values(model=None))
    assert retrain(engine, settings, user_id, terms=terms)  # nothing to start from
    with Session(engine) as session:
        cold = _everything(session, user_id, _where(session), None)
    assert warm[0][:10] == cold[0][:10] and warm[1] == cold[1]


def test_id_array_reads_what_sqlalchemy_reads(engine: Engine) -> None:
    _papers(engine, per_topic=3)
    with Session(engine) as session:
        conn = session.connection()
        for statement in (
            select(Paper.id).where(Paper.announced_on >= date(2025, 6, 18)),
            select(Paper.id).where(Paper.id < 0),
        ):
            expected = list(conn.execute(statement).scalars())
            found = id_array(conn, statement)
            assert found.dtype == np.int64 and found.tolist() == expected
