"""'For you': signals, the per-user model trained in the background, the ranking, its reasons and
its bad inputs (no signals, deleted papers, everything seen, a model of another embedding model)."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import Paper, User
from dailypapers.db.signals import PaperFeedback, UserModel
from dailypapers.embeddings.store import embed_pending, vectors_of
from dailypapers.ranking import recommend as recommend_module
from dailypapers.ranking.recommend import MIN_POSITIVES, Params, Signals, train
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.feeds import feed_filters
from dailypapers.services.periods import Period
from dailypapers.services.recommend import recommend
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.signals import remove_signal, set_feedback
from dailypapers.services.votes import vote
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, count, post, record, sign_in_as

GRAPH = "graph neural network message passing over nodes and edges of molecules"
SPEECH = "speech recognition of audio waveforms spoken language acoustic model"


def _papers(engine: Engine, n: int = 8) -> None:
    """``n`` graph papers (2506.001xx) and ``n`` speech papers (2506.002xx) on 2025-06-16..20."""
    records = []
    for i in range(n):
        day = f"2025-06-{16 + i % 5}"
        records.append(
            record(f"2506.{100 + i:05d}", day, title=f"Graphs {i}", abstract=f"{GRAPH} {i}")
        )
        records.append(
            record(f"2506.{200 + i:05d}", day, title=f"Speech {i}", abstract=f"{SPEECH} {i}")
        )
    add_papers(engine, *records)
    embed_pending(engine, fake_embedder())


def _user(engine: Engine, email: str = "reader@example.org") -> int:
    with Session(engine) as session, session.begin():
        return add_user(session, email).id


def _vote(engine: Engine, user_id: int, *ids: str) -> None:
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for arxiv_id in ids:
            vote(session, user, arxiv_id)


def _ranked(engine: Engine, user_id: int, limit: int = 30):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        where = feed_filters(session, Period("day", *_window()))
        result = recommend(session, user, where, limit=limit)
        return result, [p.arxiv_id for p in result.papers]


def _window():  # type: ignore[no-untyped-def]
    from datetime import date

    return date(2025, 6, 14), date(2025, 6, 20)


# --- the model ------------------------------------------------------------------------------


def _topic(rng: np.random.Generator, centre: np.ndarray, n: int) -> np.ndarray:
    rows = centre + 0.3 * rng.standard_normal((n, centre.size)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_the_model_ranks_the_users_topic_first_and_round_trips_as_bytes() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    positives = _topic(rng, a, 5)
    background = np.concatenate([_topic(rng, a, 5), _topic(rng, b, 50)])
    signals = Signals(
        np.arange(5), positives, np.ones(5, np.float32), np.zeros((0, 16)), background
    )
    model = train(signals, "m")
    assert model is not None
    candidates = np.concatenate([_topic(rng, a, 10), _topic(rng, b, 10)])
    order, _ = model.rank(candidates)
    assert set(order[:10].tolist()) == set(range(10))
    again = Model.from_bytes(model.to_bytes())
    assert again is not None and again.embedding_model == "m"
    assert np.array_equal(again.rank(candidates)[0], order)
    reasons = model.reasons(candidates[:2])
    assert all(0 < len(r) <= 2 and r[0][0] in range(5) for r in reasons)


def test_the_rank_is_the_logit_order_less_the_nearest_dismissed_paper() -> None:
    """No nearest-own-paper term (benchmarks/recommend_quality.py: it cost topic users); a
    "not interested" paper's nearest candidates go down at once, by DISLIKE_WEIGHT x cosine."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    dismissed = _topic(rng, a, 1)
    signals = Signals(
        np.arange(5),
        _topic(rng, a, 5),
        np.ones(5, np.float32),
        np.zeros((0, 16), np.float32),
        _topic(rng, b, 40),
    )
    plain = train(signals, "m")
    assert plain is not None
    candidates = np.concatenate([_topic(rng, a, 10), _topic(rng, b, 10)])
    logits = plain.scores(candidates)
    order, scores = plain.rank(candidates)
    assert np.array_equal(order, np.argsort(-logits, kind="stable"))
    assert np.array_equal(scores, logits[order])
    model = Model(
        **{**{f: getattr(plain, f) for f in plain.__slots__}, "negative_vectors": dismissed}
    )
    order, scores = model.rank(candidates)
    expected = logits - recommend_module.DISLIKE_WEIGHT * np.maximum(candidates @ dismissed[0], 0)
    assert np.allclose(scores, expected[order], atol=1e-5)
    assert np.array_equal(order, np.argsort(-expected, kind="stable"))
    assert order.tolist() != np.argsort(-logits, kind="stable").tolist()  # it did move


def test_below_three_positives_there_is_no_model_and_damaged_bytes_are_no_model() -> None:
    rows = np.eye(4, dtype=np.float32)
    signals = Signals(np.arange(2), rows[:2], np.ones(2, np.float32), rows[:0], rows)
    assert MIN_POSITIVES == 3 and train(signals, "m") is None
    assert Model.from_bytes(b"") is None
    assert Model.from_bytes(b"\x05\x00\x00\x00{}xyz") is None


def test_background_weight_scales_the_sampled_papers_pull() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    positives, background = _topic(rng, a, 5), _topic(rng, b, 40)
    signals = Signals(
        np.arange(5), positives, np.ones(5, np.float32), np.zeros((0, 16)), background
    )
    balanced, default = train(signals, "m"), train(signals, "m", Params(background_weight=1.0))
    heavier = train(signals, "m", Params(background_weight=4.0))
    assert balanced is not None and default is not None and heavier is not None
    assert np.array_equal(balanced.weights, default.weights)  # 1: as much as the positives
    # four times the weight on the sampled papers: every score lower, the sampled ones most
    assert heavier.scores(background).mean() < balanced.scores(background).mean() - 0.1
    assert heavier.scores(positives).mean() < balanced.scores(positives).mean()


# --- signals, background training, ranking ---------------------------------------------------


def test_signals_mark_the_model_stale_and_the_job_trains_it(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    user_id = _user(engine)
    assert retrain_stale(engine, settings) == 0  # nobody has signals: no work
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00102")
    with Session(engine) as session:
        row = session.get(UserModel, user_id)
        assert row is not None and row.signals_version > row.trained_version
    result, _ = _ranked(engine, user_id)
    assert result.state == "training" and result.stale  # never trained in the request path
    assert retrain_stale(engine, settings) == 1
    assert retrain_stale(engine, settings) == 0  # fresh now
    result, ids = _ranked(engine, user_id)
    assert result.state == "ready" and not result.stale
    assert not {"2506.00100", "2506.00101", "2506.00102"} & set(ids)  # already seen: left out
    assert all(i.startswith("2506.001") for i in ids[:5]), ids  # the graph papers first
    first = result.papers[0]
    assert {p.arxiv_id for p in result.reasons[first.id]} <= {
        "2506.00100",
        "2506.00101",
        "2506.00102",
    }
    assert result.reasons[first.id]


def test_not_interested_pushes_a_topic_down(settings: Settings, engine: Engine) -> None:
    _papers(engine, 12)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00200", "2506.00201")
    retrain_stale(engine, settings)
    _, before = _ranked(engine, user_id)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for i in range(2, 7):
            set_feedback(session, user, f"2506.{200 + i:05d}", "less")
    retrain_stale(engine, settings)
    _, after = _ranked(engine, user_id)
    rest = [f"2506.{200 + i:05d}" for i in range(7, 12)]  # speech papers without feedback
    assert np.mean([after.index(i) for i in rest]) > np.mean([before.index(i) for i in rest])
    assert all(i.startswith("2506.001") for i in after[:10])


def test_no_signals_is_a_cold_start_in_the_users_categories(engine: Engine) -> None:
    _papers(engine)
    user_id = _user(engine)
    result, ids = _ranked(engine, user_id)
    assert result.state == "cold" and result.positives == 0 and len(ids) == 16


def test_signals_only_on_deleted_papers_are_kept_but_do_not_train(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00102")
    with Session(engine) as session, session.begin():
        session.execute(
            update(Paper).where(Paper.arxiv_id.like("2506.0010%")).values(deleted_at=utcnow())
        )
    assert retrain_stale(engine, settings) == 1
    result, ids = _ranked(engine, user_id)
    assert result.state == "cold" and ids  # no model, a sensible list, no error
    from dailypapers.services.signals import list_signals

    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        assert len(list_signals(session, user)) == 3  # nothing lost


def test_every_recent_paper_already_seen(settings: Settings, engine: Engine) -> None:
    _papers(engine, 2)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00200", "2506.00201")
    retrain_stale(engine, settings)
    result, ids = _ranked(engine, user_id)
    assert ids == [] and result.all_seen


def test_a_model_of_another_embedding_model_is_retrained_and_meanwhile_not_used(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00102")
    retrain_stale(engine, settings)
    old = train(  # a model of 8 dimensions: the current vectors have 32
        Signals(
            np.arange(3),
            np.eye(8, dtype=np.float32)[:3],
            np.ones(3, np.float32),
            np.zeros((0, 8)),
            np.eye(8, dtype=np.float32),
        ),
        settings.embedding_model,
    )
    assert old is not None
    with Session(engine) as session, session.begin():
        session.execute(update(UserModel).values(model=old.to_bytes(), embedding_model="old/model"))
    result, ids = _ranked(engine, user_id)
    assert result.state != "ready" and len(ids) == 13  # the cold order, no error
    assert retrain_stale(engine, settings) == 1
    assert _ranked(engine, user_id)[0].state == "ready"


def test_vectors_of_reads_many_papers_and_skips_deleted_and_unknown(engine: Engine) -> None:
    _papers(engine, 2)
    with Session(engine) as session:
        ids = list(session.scalars(select(Paper.id)))
        found, matrix = vectors_of(session, "test/fake-bag-of-words", ids + [999_999])
        assert sorted(found.tolist()) == sorted(ids) and matrix.shape == (4, 32)
        none, empty = vectors_of(session, "no/such-model", ids)
        assert none.size == 0 and empty.shape == (0, 0)


# --- the web: buttons, the tab, sort=for_you, the signals page, the API ------------------------


def test_feedback_buttons_and_the_for_you_tab(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    _papers(engine)
    assert client.get("/papers/for-you", follow_redirects=False).status_code in (302, 303)
    user_id = sign_in_as(client, engine, "web@example.org")
    page = client.get("/papers/for-you")
    assert page.status_code == 200 and "Getting to know you" in page.text
    assert "More like this" in page.text and 'href="/papers/for-you"' in page.text
    answer = post(client, "/papers/2506.00100/feedback?kind=more", headers={"HX-Request": "true"})
    assert answer.status_code == 200 and 'aria-pressed="true"' in answer.text
    assert post(client, "/papers/2506.00100/feedback?kind=wrong").status_code == 400
    assert post(client, "/papers/9999.99999/feedback?kind=more").status_code == 404
    for arxiv_id in ("2506.00101", "2506.00102"):
        assert post(client, f"/papers/{arxiv_id}/feedback?kind=more").status_code == 303
    assert count(engine, PaperFeedback, PaperFeedback.user_id == user_id) == 3
    assert "being prepared" in client.get("/papers/for-you").text
    retrain_stale(engine, settings)
    page = client.get("/papers/for-you")
    assert "Near your paper" in page.text and "Getting to know you" not in page.text
    daily = client.get("/papers/date/2025-06-20?sort=for_you")
    assert daily.status_code == 200 and "<strong>for you</strong>" in daily.text


def test_the_signals_page_lists_and_removes(client: TestClient, engine: Engine) -> None:
    _papers(engine, 2)
    sign_in_as(client, engine, "list@example.org")
    post(client, "/papers/2506.00100/upvote")
    post(client, "/papers/2506.00200/feedback?kind=less")
    page = client.get("/settings/signals")
    assert "Upvoted" in page.text and "Not interested" in page.text and "2 signals" in page.text
    answer = post(client, "/settings/signals/remove", {"kind": "upvote", "arxiv_id": "2506.00100"})
    assert answer.status_code == 303
    assert "1 signal" in client.get("/settings/signals").text
    assert (
        post(
            client, "/settings/signals/remove", {"kind": "nonsense", "arxiv_id": "2506.00200"}
        ).status_code
        == 400
    )


def test_the_api_needs_a_token_and_gives_reasons(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    _papers(engine)
    assert client.get("/api/recommendations").status_code == 401
    assert client.get("/api/daily_papers?sort=for_you").status_code == 401
    with Session(engine) as session, session.begin():
        user = add_user(session, "api@example.org")
        _, raw = create_api_token(session, user, "t")
        for arxiv_id in ("2506.00100", "2506.00101", "2506.00102"):
            vote(session, user, arxiv_id)
    auth = {"Authorization": f"Bearer {raw}"}
    cold = client.get("/api/recommendations?days=7&limit=5", headers=auth).json()
    assert len(cold) == 5 and "being trained" in cold[0]["reason"]["text"]
    retrain_stale(engine, settings)
    entries = client.get("/api/recommendations?days=7&limit=5", headers=auth).json()
    assert entries[0]["paper"]["id"].startswith("2506.001")
    assert entries[0]["reason"]["papers"] and entries[0]["reason"]["text"].startswith("Near your")
    from dailypapers.web.api_models import FeedEntry

    for entry in entries:
        FeedEntry.model_validate(entry, strict=False)
    daily = client.get("/api/daily_papers?date=2025-06-20&sort=for_you", headers=auth).json()
    assert daily and all("reason" in e for e in daily)
    assert client.get("/api/recommendations?days=99", headers=auth).status_code == 400
    plain = client.get("/api/daily_papers?date=2025-06-20").json()
    assert plain and all("reason" not in e for e in plain)


def test_removing_a_signal_through_the_service_marks_the_model_stale(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine, 2)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100")
    retrain_stale(engine, settings)
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        remove_signal(session, user, "upvote", "2506.00100")
    with Session(engine) as session:
        row = session.get(UserModel, user_id)
        assert row is not None and row.signals_version != row.trained_version
    with pytest.raises(Exception):  # noqa: B017 - a ServiceError
        with Session(engine) as session, session.begin():
            user = session.get(User, user_id)
            remove_signal(session, user, "bogus", "2506.00100")  # type: ignore[arg-type]


def test_the_recent_vectors_cache_ranks_as_the_database_and_follows_new_vectors(
    settings: Settings, engine: Engine
) -> None:
    from dailypapers.embeddings.recent import RecentVectors

    _papers(engine)
    user_id = _user(engine)
    _vote(engine, user_id, "2506.00100", "2506.00101", "2506.00102")
    retrain_stale(engine, settings)
    cache = RecentVectors()
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        where = feed_filters(session, Period("day", *_window()))
        plain = recommend(session, user, where)
        cached = recommend(session, user, where, recent=cache)
        assert [p.id for p in cached.papers] == [p.id for p in plain.papers]
        assert cached.reasons.keys() == plain.reasons.keys()
        kept = cache.get(session, settings.embedding_model)[0]
        assert cache.get(session, settings.embedding_model)[0] is kept  # not read again
    add_papers(engine, record("2506.00150", "2025-06-20", title="Graphs new", abstract=GRAPH))
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        before = recommend(session, user, where, recent=cache)  # no vector yet: ranked last
        assert [p.arxiv_id for p in before.papers][-1] == "2506.00150"
    embed_pending(engine, fake_embedder())
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        after = recommend(session, user, where, recent=cache)
        assert [p.arxiv_id for p in after.papers].index("2506.00150") < 8  # a graph paper now
