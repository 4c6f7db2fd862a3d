"""'For you' with tf-idf: the tokenizer and vocabulary, sparse rows, the index the background job
keeps, the model over [embedding | tf-idf], the words it names (card, API), its equivalence with
the plain paths, and old models (another format or vocabulary) retrained, never an error."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import User
from dailypapers.db.signals import TermIndex, UserModel
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.embeddings.store import embed_pending
from dailypapers.enrich import terms as terms_module
from dailypapers.enrich.terms import PaperTerms, Vocabulary, fit_vocabulary, tokens
from dailypapers.ranking import recommend as model_module
from dailypapers.ranking.recommend import Signals, train
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.ranking.sparse import Csr, csr_dot, empty
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.feeds import feed_filters
from dailypapers.services.periods import Period
from dailypapers.services.recommend import recommend
from dailypapers.services.retrain import features_key, retrain_stale
from dailypapers.services.signals import set_feedback
from dailypapers.services.terms import load_terms, refresh_term_index, term_rows
from dailypapers.services.votes import vote
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, record, sign_in_as

TOPICS = {
    1: "protein folding structure prediction residues",
    2: "quantum error correction qubits surface codes",
    3: "galaxy cluster lensing dark matter halos",
    4: "traffic forecasting road sensors congestion",
}
SHARED = "deep networks training data evaluation benchmark"


@pytest.fixture(autouse=True)
def small_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test corpus of a few dozen papers: terms in 2+ papers and up to 60% of them."""
    monkeypatch.setattr(terms_module, "MIN_DF", 2)
    monkeypatch.setattr(terms_module, "MAX_DF", 0.6)


def _papers(engine: Engine, per_topic: int = 6) -> None:
    """``per_topic`` papers on each of four topics (2506.0TNNN), 2025-06-16..20; all share
    the same generic words, so the embedding (a bag of words) sees them close."""
    records = []
    for topic, words in TOPICS.items():
        for i in range(per_topic):
            arxiv_id = f"2506.{topic * 1000 + i:05d}"
            abstract = f"{SHARED} {words} variant{i}"
            records.append(
                record(arxiv_id, f"2025-06-{16 + i % 5}", title=f"T{topic} {i}", abstract=abstract)
            )
    add_papers(engine, *records)
    embed_pending(engine, fake_embedder())


def _user(engine: Engine, *votes: str, email: str = "t@example.org") -> int:
    with Session(engine) as session, session.begin():
        user = add_user(session, email)
        for arxiv_id in votes:
            vote(session, user, arxiv_id)
        return user.id


def _on_topic_1(term: str) -> bool:
    return any(word in TOPICS[1].split() for word in term.split())


def _where(session: Session) -> list:  # type: ignore[type-arg]
    return feed_filters(session, Period("day", date(2025, 6, 14), date(2025, 6, 20)))


# --- the pieces ------------------------------------------------------------------------------


def test_tokens_are_words_and_pairs_without_stop_words_or_accents() -> None:
    assert tokens("The Schrödinger bridge, for x2 models!") == [
        "schrodinger",
        "bridge",
        "x2",
        "models",
        "schrodinger bridge",
        "bridge x2",
        "x2 models",
    ]
    assert tokens("") == [] and tokens("a 1 2") == []


def test_the_vocabulary_keeps_mid_frequency_terms_and_rows_are_unit_length() -> None:
    texts = [f"alpha beta gamma{i % 3} delta{i}" for i in range(10)] + ["omega"] * 2
    vocabulary = fit_vocabulary(texts)
    assert "alpha" not in vocabulary.terms  # in 10 of 12 papers: over MAX_DF
    assert "gamma0" in vocabulary.terms and "delta3" not in vocabulary.terms  # df 4 vs 1
    matrix = vocabulary.transform(texts + ["nothing known here"])
    assert matrix.rows == 13 and matrix.indptr[-1] == matrix.indptr[-2]  # the last: empty
    dense = np.zeros((matrix.rows, len(vocabulary.terms)))
    for r in range(matrix.rows):
        span = slice(matrix.indptr[r], matrix.indptr[r + 1])
        dense[r, matrix.indices[span]] = matrix.data[span]
    norms = np.linalg.norm(dense[:12], axis=1)
    assert np.allclose(norms[norms > 0], 1.0, atol=1e-5)
    w = np.random.default_rng(0).standard_normal(len(vocabulary.terms))
    assert np.allclose(csr_dot(matrix, w), dense @ w, atol=1e-5)
    assert csr_dot(empty(), w).shape == (0,) and not csr_dot(empty(3), w).any()
    picked = matrix.take(np.array([3, 0, 3]))
    assert np.allclose(csr_dot(picked, w), (dense @ w)[[3, 0, 3]], atol=1e-5)
    both = Csr.stack([picked, matrix.take(np.array([12]))])
    assert both.rows == 4 and np.allclose(csr_dot(both, w)[:3], csr_dot(picked, w))


def test_paper_terms_round_trip_and_damaged_bytes_are_none() -> None:
    vocabulary = Vocabulary(["aa bb", "cc"], np.array([1.5, 2.0], np.float32))
    matrix = vocabulary.transform(["xx", "cc", "cc cc"])
    index = PaperTerms(vocabulary, np.array([3, 7, 9], np.int64), matrix)
    again = PaperTerms.from_bytes(index.to_bytes())
    assert again is not None and again.vocabulary.terms == ["aa bb", "cc"]
    assert again.vocabulary.digest == vocabulary.digest
    rows, found = again.rows(np.array([9, 5, 3]))
    assert found.tolist() == [True, False, True] and rows.rows == 3
    assert np.diff(rows.indptr).tolist() == [1, 0, 0]  # 5: none; 3: "xx", no known word
    assert PaperTerms.from_bytes(b"not an npz") is None


def test_the_joint_model_names_the_words_that_weighed_and_old_formats_are_no_model() -> None:
    rng = np.random.default_rng(0)
    texts = [TOPICS[1 + i % 4] + f" {SHARED} n{i}" for i in range(40)]
    vocabulary = fit_vocabulary(texts)
    x = vocabulary.transform(texts)
    vectors = rng.standard_normal((40, 8)).astype(np.float32)  # the embedding knows nothing
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    positives = np.array([0, 4, 8, 12])  # topic 1
    background = np.array([i for i in range(40) if i % 4])
    signals = Signals(
        positives,
        vectors[positives],
        np.ones(4, np.float32),
        vectors[:0],
        vectors[background],
        x.take(positives),
        x.take(np.zeros(0, np.int64)),
        x.take(background),
    )
    model = train(signals, "m", vocabulary=vocabulary.digest, width=len(vocabulary.terms))
    assert model is not None and model.vocabulary == vocabulary.digest
    candidates = np.arange(16, 40)
    order = np.argsort(-model.scores(vectors[candidates], x.take(candidates)))
    assert all(candidates[i] % 4 == 0 for i in order[:6])  # topic 1 first, by its words
    words = model.words(x.take(candidates[order[:1]]), vocabulary.terms)[0]
    assert words and all(w in TOPICS[1] for w in words)
    again = Model.from_bytes(model.to_bytes())
    assert again is not None and np.array_equal(again.term_weights, model.term_weights)
    assert np.array_equal(
        again.rank(vectors[candidates], x.take(candidates))[0],
        model.rank(vectors[candidates], x.take(candidates))[0],
    )
    # a paper newer than the index (no tf-idf row) gets the median word score, not zero
    known = np.ones(len(candidates), bool)
    known[order[0]] = False
    scores = again.scores(vectors[candidates], x.take(candidates), known)
    assert scores[order[0]] < again.scores(vectors[candidates], x.take(candidates))[order[0]]
    blob = bytearray(model.to_bytes())
    blob[4:] = bytes(blob[4:]).replace(b'"format": 3', b'"format": 2')
    assert Model.from_bytes(bytes(blob)) is None  # an old model: retrained, never an error


# --- the index job and the service -------------------------------------------------------------


def test_the_index_is_built_kept_current_and_refitted(engine: Engine) -> None:
    assert refresh_term_index(engine) == "no papers: no term index"
    _papers(engine)
    assert refresh_term_index(engine).startswith("term index: 24 papers")
    assert refresh_term_index(engine) == "term index current"
    with Session(engine) as session:
        first = load_terms(session)
        assert first is not None and "protein folding" in first.vocabulary.terms
    add_papers(engine, record("2506.09999", "2025-06-20", title="T1 new", abstract=TOPICS[1]))
    assert refresh_term_index(engine).startswith("term index: 25 papers")
    with Session(engine) as session:
        second = load_terms(session)
        assert second is not None and second.vocabulary.digest == first.vocabulary.digest
        assert session.scalar(select(TermIndex.id).order_by(TermIndex.id)) is not None
        assert len(session.scalars(select(TermIndex.id)).all()) == 1  # the older one deleted
        # a paper older than the index: its row from its text, as the index would have it
        ids = np.array(sorted(second.ids.tolist())[:3], np.int64)
        direct = term_rows(session, second, ids)
        assert np.allclose(
            csr_dot(direct, np.ones(len(second.vocabulary.terms))),
            csr_dot(second.rows(ids)[0], np.ones(len(second.vocabulary.terms))),
        )
    assert refresh_term_index(engine, refit=True).startswith("term index")
    assert refresh_term_index(engine) == "term index current"


def test_a_damaged_index_is_dropped_by_the_job_and_built_again(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    _user(engine, "2506.01000", "2506.01001", "2506.01002")
    with Session(engine) as session, session.begin():
        session.execute(update(TermIndex).values(data=b"junk"))
    with Session(engine) as session:
        assert load_terms(session) is None
        assert RecentVectors().terms.get(session) is None  # the request path: no words
    assert retrain_stale(engine, settings) == 1  # trained on the embeddings, index dropped
    with Session(engine) as session:
        assert session.scalar(select(TermIndex.id)) is None
    assert refresh_term_index(engine).startswith("term index: 24 papers")
    assert retrain_stale(engine, settings) == 1  # now with the words


def test_recommend_uses_the_words_and_the_caches_rank_as_the_database(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    user_id = _user(engine, "2506.01000", "2506.01001", "2506.01002")
    assert retrain_stale(engine, settings) == 1
    with Session(engine) as session:
        row = session.get(UserModel, user_id)
        terms = load_terms(session)
        assert terms is not None and row is not None
        assert row.embedding_model == features_key(
            settings.embedding_model, terms.vocabulary.digest
        )
        user = session.get(User, user_id)
        assert user is not None
        plain = recommend(session, user, _where(session))
        cache = RecentVectors()
        cached = recommend(session, user, _where(session), recent=cache)
        again = recommend(session, user, _where(session), recent=cache)
    assert plain.state == "ready"
    assert [p.arxiv_id for p in plain.papers][:3] == [p.arxiv_id for p in cached.papers][:3]
    assert (
        [p.id for p in cached.papers]
        == [p.id for p in plain.papers]
        == [p.id for p in again.papers]
    )
    assert cached.terms == plain.terms and cached.reasons.keys() == plain.reasons.keys()
    assert all(p.arxiv_id.startswith("2506.010") for p in plain.papers[:3])
    top = plain.papers[0].id
    assert plain.terms[top] and all(_on_topic_1(w) for w in plain.terms[top])


def test_a_new_vocabulary_or_an_old_format_retrains_and_meanwhile_says_training(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    user_id = _user(engine, "2506.01000", "2506.01001", "2506.01002")
    assert retrain_stale(engine, settings) == 1  # no index yet: embeddings alone
    with Session(engine) as session:
        row = session.get(UserModel, user_id)
        assert row is not None and row.embedding_model == features_key(
            settings.embedding_model, None
        )
        model = Model.from_bytes(row.model or b"")
        assert model is not None and model.term_weights.size == 0
    refresh_term_index(engine)
    assert retrain_stale(engine, settings) == 1  # the features changed: retrained
    assert retrain_stale(engine, settings) == 0
    # a model stored by the previous release (format 2, no tf-idf) is not used, then retrained
    with Session(engine) as session, session.begin():
        row = session.get(UserModel, user_id)
        assert row is not None and row.model is not None
        blob = bytearray(row.model)
        size = int.from_bytes(blob[:4], "little")
        head = bytes(blob[4 : 4 + size]).replace(b'"format": 3', b'"format": 2')
        session.execute(
            update(UserModel).values(
                model=len(head).to_bytes(4, "little") + head + bytes(blob[4 + size :]),
                embedding_model=settings.embedding_model,  # as 0010 stored it
            )
        )
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        waiting = recommend(session, user, _where(session))
    assert waiting.state == "training" and len(waiting.papers) == 21
    assert retrain_stale(engine, settings) == 1
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        assert recommend(session, user, _where(session)).state == "ready"


def test_not_interested_pushes_a_topic_down_with_words_too(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine, 8)
    refresh_term_index(engine)
    user_id = _user(engine, "2506.01000", "2506.01001", "2506.02000", "2506.02001")
    retrain_stale(engine, settings)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        before = [p.arxiv_id for p in recommend(session, user, _where(session)).papers]
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for i in range(2, 7):
            set_feedback(session, user, f"2506.{2000 + i:05d}", "less")
    retrain_stale(engine, settings)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        after = [p.arxiv_id for p in recommend(session, user, _where(session)).papers]
    rest = ["2506.02007"]  # the topic's paper without feedback
    assert after.index(rest[0]) > before.index(rest[0])
    assert after.index(rest[0]) > max(after.index(f"2506.{1000 + i:05d}") for i in range(2, 8))


# --- the card and the API ------------------------------------------------------------------------


def test_the_card_and_the_api_name_the_words(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    user_id = sign_in_as(client, engine, "words@example.org")
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for arxiv_id in ("2506.01000", "2506.01001", "2506.01002"):
            vote(session, user, arxiv_id)
        _, raw = create_api_token(session, user, "t")
    retrain_stale(engine, settings)
    page = client.get("/papers/for-you")
    assert page.status_code == 200 and "Your model weighed most:" in page.text
    assert '<span class="term">' in page.text
    entries = client.get(
        "/api/recommendations?days=7&limit=3", headers={"Authorization": f"Bearer {raw}"}
    ).json()
    reason = entries[0]["reason"]
    assert reason["terms"] and all(_on_topic_1(w) for w in reason["terms"])
    assert "Words that weighed most: " in reason["text"] and reason["papers"]
    from dailypapers.web.api_models import FeedEntry

    for entry in entries:
        FeedEntry.model_validate(entry, strict=False)


def test_a_model_without_words_gives_an_empty_terms_list(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    _papers(engine)
    with Session(engine) as session, session.begin():
        user = add_user(session, "plain@example.org")
        for arxiv_id in ("2506.01000", "2506.01001", "2506.01002"):
            vote(session, user, arxiv_id)
        _, raw = create_api_token(session, user, "t")
    retrain_stale(engine, settings)  # no index: embeddings alone
    entries = client.get(
        "/api/recommendations?days=7&limit=3", headers={"Authorization": f"Bearer {raw}"}
    ).json()
    assert entries and all(e["reason"]["terms"] == [] for e in entries)
    assert model_module.FORMAT == 3
