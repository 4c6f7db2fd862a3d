"""'For you' pages without the whole order: ``UserModel.top`` (a partial selection of the page and
the reranked head instead of sorting every candidate) against ``UserModel.rank``, and the service's
pages against the plain ranking of every candidate — the same papers in the same order on the
first page and on later ones, ties included, papers without a vector after the ranked ones, papers
the user touched never listed (both backends)."""

from __future__ import annotations

import gc
import weakref
from datetime import date

import numpy as np
import pytest
from sqlalchemy import Engine, event, func, insert, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import id_array
from dailypapers.db.id_cache import IdCache
from dailypapers.db.models import Paper, PaperCategory, PaperEmbedding, User
from dailypapers.db.signals import TermIndex, UserModel
from dailypapers.embeddings.recent import RecentVectors
from dailypapers.embeddings.store import embed_pending, vectors_of
from dailypapers.enrich import terms as terms_module
from dailypapers.enrich.terms import fit_vocabulary
from dailypapers.ranking import recommend as ranking
from dailypapers.ranking.recommend import Signals, _best, train
from dailypapers.ranking.recommend import UserModel as Model
from dailypapers.services.accounts import add_user
from dailypapers.services.feeds import feed_filters
from dailypapers.services.harvest import mark_deleted
from dailypapers.services.periods import Period
from dailypapers.services.recommend import recommend
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.signals import set_feedback, training_signals
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


@pytest.fixture(autouse=True)
def small_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terms_module, "MIN_DF", 2)
    monkeypatch.setattr(terms_module, "MAX_DF", 0.6)


# --- the partial selection ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_the_partial_selection_is_the_stable_sorts_head(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    logits = rng.integers(-5, 5, n).astype(np.float32)  # many ties
    logits[rng.random(n) < 0.1] = 0.0
    logits[rng.random(n) < 0.05] = -0.0  # equal to 0.0 for both sorts
    full = np.argsort(-logits, kind="stable")
    for count in {0, 1, 2, n // 3, n // 2, n - 1, n, n + 3}:
        assert np.array_equal(_best(logits, count), full[: max(count, 0)]), count
    spread = rng.standard_normal(n).astype(np.float32)
    assert np.array_equal(_best(spread, 7), np.argsort(-spread, kind="stable")[:7])


def _model_and_rows(seed: int, n: int = 240) -> tuple[Model, np.ndarray, object, np.ndarray]:
    """A model with term weights and "not interested" papers, and ``n`` candidates whose vectors
    and tf-idf rows repeat (equal scores), some without a tf-idf row."""
    rng = np.random.default_rng(seed)
    texts = [f"{TOPICS[i % 4]} n{i % 60}" for i in range(n)]
    vocabulary = fit_vocabulary(texts)
    x = vocabulary.transform(texts)
    base = rng.standard_normal((60, 16)).astype(np.float32)
    vectors = base[np.arange(n) % 60]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    positives, negatives, background = np.arange(0, 40, 4), np.array([1, 5]), np.arange(2, 60, 4)
    signals = Signals(
        positives,
        vectors[positives],
        np.ones(len(positives), np.float32),
        vectors[negatives],
        vectors[background],
        x.take(positives),
        x.take(negatives),
        x.take(background),
    )
    model = train(signals, "m", vocabulary=vocabulary.digest, width=len(vocabulary.terms))
    assert model is not None and model.negative_vectors.shape[0] == 2
    known = np.ones(n, bool)
    known[rng.choice(n, 9, replace=False)] = False  # newer than the index: the median word score
    return model, vectors, x, known


@pytest.mark.parametrize(("rerank", "neighbour"), [(500, 0.0), (17, 0.0), (17, 5.0), (500, 5.0)])
def test_top_is_the_head_of_rank(
    monkeypatch: pytest.MonkeyPatch, rerank: int, neighbour: float
) -> None:
    """``top(count)`` against ``rank()[:count]``: before, at and past the reranked head (by the
    "not interested" papers, and by the user's own papers when that weight is on), for every row
    and for rows here and there, and for a model without signals' papers (no rerank)."""
    monkeypatch.setattr(ranking, "RERANK", rerank)
    monkeypatch.setattr(ranking, "NEIGHBOUR_WEIGHT", neighbour)
    model, vectors, x, known = _model_and_rows(0)
    n = vectors.shape[0]
    bare = Model("m", model.weights, model.bias, np.zeros(0, np.int64), vectors[:0], vectors[:0])
    for chosen in (model, bare):
        for rows in (None, np.arange(10, n, 3), np.array([7])):
            order, scores = chosen.rank(vectors, x, known, rows)  # type: ignore[arg-type]
            assert len(scores) == 1 or len(set(scores.tolist())) < len(scores)  # ties
            for count in (1, 5, 16, 17, 18, 30, 100, len(order) - 1, len(order), len(order) + 9):
                head, head_scores = chosen.top(vectors, x, known, rows, count=count)  # type: ignore[arg-type]
                assert np.array_equal(head, order[:count]), (count, rows is None)
                assert np.array_equal(head_scores, scores[:count])


# --- the service: pages against the plain ranking of every candidate ---------------------------


def _papers(engine: Engine) -> None:
    """32 papers on four topics over five days, and four pairs of twins (the same title and
    abstract: the same vector and tf-idf row, so equal scores)."""
    rows = []
    for i in range(32):
        text = f"{TOPICS[i % 4]} {TOPICS[(i + 1) % 4].split()[i % 5]} deep networks n{i}"
        rows.append(record(f"2506.{i:05d}", f"2025-06-{16 + i % 5}", title=f"T{i}", abstract=text))
    for i in range(4):
        for twin in ("a", "b"):
            number = 100 + 2 * i + (twin == "b")
            rows.append(
                record(f"2506.{number:05d}", "2025-06-19", title=f"Twin {i}", abstract=TOPICS[i])
            )
    add_papers(engine, *rows)
    embed_pending(engine, fake_embedder())


def _plain(session: Session, user: User, where: list) -> list[int]:  # type: ignore[type-arg]
    """The whole ranking the plain way: every untouched candidate's vector and tf-idf row from
    the database, ``UserModel.rank``'s full order, then those without a vector by upvotes."""
    row = session.get(UserModel, user.id)
    assert row is not None and row.model is not None
    model = Model.from_bytes(row.model)
    assert model is not None
    touched = training_signals(session, user.id).touched
    candidates = [p for p in session.scalars(select(Paper.id).where(*where)) if p not in touched]
    ids, vectors = vectors_of(session, model.embedding_model, sorted(candidates))
    terms = load_terms(session)
    assert terms is not None and terms.vocabulary.digest == model.vocabulary
    rows, known = terms.rows(ids)
    ranked = ids[model.rank(vectors, rows, known)[0]].tolist()
    rest = session.scalars(
        select(Paper.id)
        .where(*where, Paper.id.not_in(ranked))
        .order_by(Paper.upvotes.desc(), Paper.announced_on.desc(), Paper.arxiv_id.desc())
    )
    return ranked + [p for p in rest if p not in touched]


def _pages(session: Session, user: User, where: list, size: int, recent: RecentVectors | None):  # type: ignore[no-untyped-def,type-arg]
    found: list[int] = []
    totals = set()
    for offset in range(0, 60, size):
        page = recommend(session, user, where, limit=size, offset=offset, recent=recent)
        assert page.state == "ready"
        found += [p.id for p in page.papers]
        totals.add(page.total)
    return found, totals


def test_every_page_is_the_plain_rankings(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranking, "RERANK", 6)  # pages before, across and past the reranked head
    _papers(engine)
    refresh_term_index(engine)
    with Session(engine) as session, session.begin():
        user = add_user(session, "pages@example.org")
        for arxiv_id in ("2506.00000", "2506.00004", "2506.00008", "2506.00012", "2506.00101"):
            vote(session, user, arxiv_id)
        set_feedback(session, user, "2506.00003", "less")
        user_id = user.id
    assert retrain_stale(engine, settings) == 1
    # two papers without a vector yet (just ingested): ranked after the others, by upvotes
    add_papers(
        engine,
        record("2506.00900", "2025-06-20", title="New one", abstract=TOPICS[0]),
        record("2506.00901", "2025-06-20", title="New two", abstract=TOPICS[1]),
    )
    cache = RecentVectors()
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        where = feed_filters(session, Period("day", date(2025, 6, 14), date(2025, 6, 20)))
        plain = _plain(session, user, where)
        touched = {
            session.scalar(select(Paper.id).where(Paper.arxiv_id == a))
            for a in ("2506.00000", "2506.00003", "2506.00101")
        }
        assert len(plain) == 40 + 2 - 6 and not touched & set(plain)
        new = set(session.scalars(select(Paper.id).where(Paper.arxiv_id.like("2506.009%"))))
        assert set(plain[-2:]) == new
        for recent in (None, cache):
            for size in (1, 4, 7, 30, 100):
                found, totals = _pages(session, user, where, size, recent)
                assert found == plain, (size, recent is not None)
                assert totals == {len(plain)}
        # a few candidates: fewer than a page, and none at all
        few = [*where, Paper.id.in_(plain[5:8])]
        page = recommend(session, user, few, limit=30, recent=cache)
        assert [p.id for p in page.papers] == _plain(session, user, few) and page.total == 3
        none = [*where, Paper.id.in_(sorted(touched))]  # every candidate already touched
        page = recommend(session, user, none, limit=30, recent=cache)
        assert page.papers == [] and page.total == 0 and page.all_seen


# --- the candidates kept per data version, and lookup's answers for them -----------------------


def test_the_candidates_follow_every_write(settings: Settings, engine: Engine) -> None:
    """Ids from the cache while nothing changed; a new paper, a deleted one, another category
    and another window are seen at once (the set of papers' number: PostgreSQL's
    ``data_changes.papers``, migration 0016; SQLite's ``paper_set_changes``, 0019); a session that
    wrote reads its own. A vote (``upvotes``) does not move that number: the ids are not read
    again. A statement that reads more than the set of papers is kept under the whole number
    (SQLite's ``data_version``): after the vote it is read again, and the same array answered."""
    _papers(engine)
    cache = IdCache()
    week = Period("day", date(2025, 6, 14), date(2025, 6, 20))

    def both(session: Session, *extra: object) -> tuple[list[int], list[int]]:
        statement = select(Paper.id).where(*feed_filters(session, week), *extra)
        return cache.ids(session, statement).tolist(), id_array(
            session.connection(), statement
        ).tolist()

    with Session(engine) as session:
        first, plain = both(session)
        assert first == plain and len(first) == 40 and cache.reads == 1
        assert both(session) == (plain, plain) and cache.reads == 1  # kept
        one_day = both(session, Paper.announced_on == date(2025, 6, 16))
        assert one_day[0] == one_day[1] and len(one_day[0]) == 7 and cache.reads == 2
        kept = cache.ids(session, select(Paper.id).where(*feed_filters(session, week)))
        assert not kept.flags.writeable
        voted = select(Paper.id).where(*feed_filters(session, week), Paper.upvotes >= 0)
        kept_voted = cache.ids(session, voted)  # reads upvotes: under the whole number
        assert kept_voted.tolist() == plain and cache.reads == 3
    with engine.begin() as conn:  # a commit that changes no candidate (a vote's)
        conn.execute(update(Paper).where(Paper.id == plain[0]).values(upvotes=Paper.upvotes + 1))
    reads = 3
    with Session(engine) as session:
        statement = select(Paper.id).where(*feed_filters(session, week))
        assert cache.ids(session, statement) is kept and cache.reads == reads  # kept
        voted = select(Paper.id).where(*feed_filters(session, week), Paper.upvotes >= 0)
        assert cache.ids(session, voted) is kept_voted and cache.reads == reads + 1  # read
    reads += 1
    with engine.begin() as conn:  # any other column of papers moves it: read, the same array
        conn.execute(update(Paper).where(Paper.id == plain[0]).values(comment="Revised."))
    with Session(engine) as session:
        statement = select(Paper.id).where(*feed_filters(session, week))
        assert cache.ids(session, statement) is kept and cache.reads == reads + 1
    reads += 1
    add_papers(engine, record("2506.00950", "2025-06-18", title="Later", abstract=TOPICS[2]))
    with Session(engine) as session:
        after, plain = both(session)
        assert after == plain and len(after) == 41 and cache.reads == reads + 1
    with engine.begin() as conn:
        assert mark_deleted(conn, ["2506.00001"]) == 1
    with Session(engine) as session:
        after, plain = both(session)
        assert after == plain and len(after) == 40 and cache.reads == reads + 2
        assert both(session) == (plain, plain) and cache.reads == reads + 2
    with Session(engine) as session:  # a category's feed: a new category row is seen at once
        statement = select(Paper.id).where(*feed_filters(session, week, "math.XX"))
        assert cache.ids(session, statement).tolist() == [] and cache.reads == reads + 3
    with engine.begin() as conn:
        conn.execute(insert(PaperCategory).values(paper_id=plain[0], category="math.XX"))
    with Session(engine) as session:
        assert cache.ids(session, statement).tolist() == [plain[0]]
        assert cache.reads == reads + 4
    with Session(engine) as session, session.begin():  # its own write: not from the cache
        session.execute(update(Paper).where(Paper.id == plain[0]).values(deleted_at=utcnow()))
        mine, own = both(session)
        assert mine == own == plain[1:] and cache.reads == reads + 5
        session.rollback()
    with Session(engine) as session:
        assert both(session) == (plain, plain)  # the rolled-back write was never kept
    cache.close()


def test_lookup_keeps_its_answer_for_the_kept_candidates(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    recent = RecentVectors()
    model = settings.embedding_model
    with Session(engine) as session:
        terms = load_terms(session)
        statement = select(Paper.id).where(Paper.announced_on >= date(2025, 6, 17))
        candidates = recent.candidates.ids(session, statement)
        first = recent.lookup(session, model, candidates, lambda: date(2025, 6, 17), terms)
        again = recent.lookup(session, model, candidates, lambda: date(2025, 6, 17), terms)
        assert first is not None and again is first  # no sort or search the second time
        copy = np.array(candidates)  # a caller's own array: looked up each time
        other = recent.lookup(session, model, copy, lambda: date(2025, 6, 17), terms)
        assert other is not first and other is not None
        assert np.array_equal(other.ids, first.ids) and np.array_equal(other.rows, first.rows)
    # a paper without a vector: absent; then its vector comes (the cache reloads): looked up again
    add_papers(engine, record("2506.00960", "2025-06-19", title="Fresh", abstract=TOPICS[3]))
    with Session(engine) as session:
        candidates = recent.candidates.ids(session, statement)
        found = recent.lookup(session, model, candidates, lambda: date(2025, 6, 17), terms)
        assert found is not None and found.absent is not None and len(found.absent) == 1
        embed_pending(engine, fake_embedder())
        again = recent.lookup(session, model, candidates, lambda: date(2025, 6, 17), terms)
        assert again is not found and again is not None and again.absent is not None
        assert len(again.absent) == 0 and int(found.absent[0]) in again.ids.tolist()
        # the answers for the old vectors are let go (they held the old cache's arrays)
        old_vectors = weakref.ref(found.vectors)
        del first, other, found
        gc.collect()
        assert old_vectors() is None


def test_a_deleted_or_new_paper_shows_at_once_with_the_kept_candidates(
    settings: Settings, engine: Engine
) -> None:
    _papers(engine)
    refresh_term_index(engine)
    with Session(engine) as session, session.begin():
        user = add_user(session, "kept@example.org")
        for arxiv_id in ("2506.00000", "2506.00004", "2506.00008", "2506.00012"):
            vote(session, user, arxiv_id)
        user_id = user.id
    assert retrain_stale(engine, settings) == 1
    cache = RecentVectors()

    def listed() -> list[int]:
        with Session(engine) as session:
            user = session.get(User, user_id)
            assert user is not None
            where = feed_filters(session, Period("day", date(2025, 6, 14), date(2025, 6, 20)))
            found = recommend(session, user, where, limit=100, recent=cache)
            assert found.total == len(found.papers)
            assert [p.id for p in found.papers] == _plain(session, user, where)
            return [p.id for p in found.papers]

    before = listed()
    assert listed() == before and cache.candidates.reads == 1
    with engine.begin() as conn:
        arxiv_id = conn.scalar(select(Paper.arxiv_id).where(Paper.id == before[0]))
        assert mark_deleted(conn, [str(arxiv_id)]) == 1
    assert listed() == before[1:]
    add_papers(engine, record("2506.00970", "2025-06-20", title="Fresh", abstract=TOPICS[1]))
    embed_pending(engine, fake_embedder())
    after = listed()
    assert len(after) == len(before) and set(after) - set(before)


def test_a_warm_ranking_is_four_statements(settings: Settings, engine: Engine) -> None:
    """With the process's caches current, a page costs the user's signals (one statement of
    four parts), their model, the caches' marks (one statement: the newest day, vector and tf-idf
    index, PostgreSQL's change numbers) and the page's papers with its reasons' papers: 4 round
    trips (7 with the signals' parts apart; 11 before that: the ids, three maxima, the reasons'
    papers apart)."""
    _papers(engine)
    refresh_term_index(engine)
    with Session(engine) as session, session.begin():
        user = add_user(session, "trips@example.org")
        for arxiv_id in ("2506.00000", "2506.00004", "2506.00008"):
            vote(session, user, arxiv_id)
        user_id = user.id
    assert retrain_stale(engine, settings) == 1
    cache = RecentVectors()
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        where = feed_filters(session, Period("day", date(2025, 6, 14), date(2025, 6, 20)))
        first = recommend(session, user, where, limit=10, recent=cache)
        assert first.reasons and first.terms
        marks = cache.marks(session)
        assert marks.newest == session.scalar(select(func.max(Paper.announced_on)))
        assert marks.vectors == session.scalar(select(func.max(PaperEmbedding.id)))
        assert marks.term_index == session.scalar(select(func.max(TermIndex.id)))
        event.listen(engine, "before_cursor_execute", note)
        try:
            again = recommend(session, user, where, limit=10, recent=cache)
        finally:
            event.remove(engine, "before_cursor_execute", note)
        assert [p.id for p in again.papers] == [p.id for p in first.papers]
        assert len(sent) == 4, sent
