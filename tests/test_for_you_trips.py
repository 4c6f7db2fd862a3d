"""For you in few round trips, with the answers of the statements it replaced (kept here as they
were): the user's signals in one statement (four before) that also tells whether they follow an
author, the followed authors' papers read with the page's; and the candidate ids kept across a
vote (PostgreSQL's ``data_changes.papers``, migration 0016; SQLite's ``paper_set_changes``, 0019:
a vote moves only the whole number).
Round trips cost ~0.3-1 ms each on PostgreSQL (docs/PERFORMANCE.md); the candidate ids ~6 ms at
25,000 papers. benchmarks/recommend_speed.py measures both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Literal

import pytest
from sqlalchemy import Engine, event, select, text, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.id_cache import reads_paper_set_only
from dailypapers.db.models import Collection, CollectionItem, Paper, PaperCategory, User, Vote
from dailypapers.db.ordered_writes import ordered_batches
from dailypapers.db.signals import LibraryEntry, PaperFeedback
from dailypapers.embeddings.recent import KeptModels, RecentVectors
from dailypapers.services.accounts import add_user
from dailypapers.services.collections import add_item, create_collection
from dailypapers.services.feeds import feed_filters
from dailypapers.services.follows import follow_author
from dailypapers.services.for_you import ForYouList, for_you
from dailypapers.services.periods import Period
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.signals import (
    TrainingSignals,
    _signal_rows,
    _signals_from,
    set_feedback,
    training_signals,
)
from dailypapers.services.terms import refresh_term_index
from dailypapers.services.votes import vote
from tests.test_follows import WINDOW, _papers

# --- the statements as they were -----------------------------------------------------------------


def _signals_before(session: Session, user_id: int) -> TrainingSignals:
    positives: dict[int, Literal["plain", "more"]] = {}
    for (pid,) in session.execute(select(Vote.paper_id).where(Vote.user_id == user_id)):
        positives[pid] = "plain"
    saved = (
        select(CollectionItem.paper_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .where(Collection.user_id == user_id)
    )
    for (pid,) in session.execute(saved):
        positives[pid] = "plain"
    library = select(LibraryEntry.paper_id).where(
        LibraryEntry.user_id == user_id, LibraryEntry.paper_id.is_not(None)
    )
    for found in session.scalars(library):
        if found is not None:
            positives[found] = "plain"
    negatives: list[int] = []
    feedback = select(PaperFeedback.paper_id, PaperFeedback.kind).where(
        PaperFeedback.user_id == user_id
    )
    for pid, kind in session.execute(feedback):
        if kind == "more":
            positives[pid] = "more"
        else:
            negatives.append(pid)
    for pid in negatives:
        positives.pop(pid, None)
    return TrainingSignals(positives, sorted(negatives))


# --- helpers -------------------------------------------------------------------------------------


def _statements(engine: Engine, run: Callable[[], Any]) -> tuple[Any, list[str]]:
    sent: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        return run(), sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _shown(result: ForYouList) -> tuple[Any, ...]:
    return (
        [p.id for p in result.papers],
        result.total,
        result.state,
        result.positives,
        {k: [p.id for p in v] for k, v in result.reasons.items()},
        result.all_seen,
        result.stale,
        result.followed,
        result.terms,
    )


def _reader(engine: Engine, settings: Settings, *, follows: bool) -> int:
    """A graph reader with a trained model (three upvotes), following a speech author or not."""
    with Session(engine) as session, session.begin():
        user = add_user(session, "trips@example.org")
        for arxiv_id in ("2506.00100", "2506.00101", "2506.00102"):
            vote(session, user, arxiv_id)
        if follows:
            follow_author(session, user, "Grace Hopper")
        user_id = user.id
    refresh_term_index(engine)
    assert retrain_stale(engine, settings) == 1
    return user_id


def _for_you(
    engine: Engine, user_id: int, cache: RecentVectors | None, **kw: int
) -> tuple[ForYouList, list[str]]:
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        where = feed_filters(session, WINDOW)
        return _statements(engine, lambda: for_you(session, user, where, recent=cache, **kw))


# --- the tests -----------------------------------------------------------------------------------


def test_the_signals_statement_reads_what_the_four_did(engine: Engine) -> None:
    """Upvotes, saved and imported papers, "more" and "not interested" (beating a positive on
    the same paper), and none: the same positives (in the same order) and negatives."""
    _papers(engine)
    with Session(engine) as session, session.begin():
        users = [add_user(session, f"u{i}@example.org") for i in range(3)]
        session.flush()
        heavy, light, _none = users
        for arxiv_id in ("2506.00100", "2506.00101", "2506.00200", "2506.00203"):
            vote(session, heavy, arxiv_id)
        folder = create_collection(session, heavy, "Reading")
        session.flush()
        for arxiv_id in ("2506.00101", "2506.00102", "2506.00201"):
            add_item(session, heavy, folder.id, arxiv_id)
        paper_ids = dict(session.execute(select(Paper.arxiv_id, Paper.id)).all())
        for arxiv_id, found in (("2506.00103", True), ("2506.00100", True), ("9999.99999", False)):
            session.add(
                LibraryEntry(
                    user_id=heavy.id,
                    key=arxiv_id,
                    title="",
                    status="matched" if found else "unmatched",
                    source="ids",
                    paper_id=paper_ids.get(arxiv_id) if found else None,
                    created_at=utcnow(),
                )
            )
        set_feedback(session, heavy, "2506.00200", "less")  # beats its upvote
        set_feedback(session, heavy, "2506.00104", "more")
        set_feedback(session, heavy, "2506.00102", "more")  # saved too: "more" wins
        set_feedback(session, heavy, "2506.00204", "less")
        set_feedback(session, light, "2506.00205", "less")
        user_ids = [u.id for u in users]
        heavy_id, light_id = user_ids[0], user_ids[1]
    with Session(engine) as session:
        for user_id in user_ids:
            new, old = training_signals(session, user_id), _signals_before(session, user_id)
            assert new == old and list(new.positives) == list(old.positives)
            assert not new.follows
            assert training_signals(session, user_id, follows=True) == old  # no follows
        heavy_signals = training_signals(session, heavy_id)
        assert heavy_signals.negatives and "more" in heavy_signals.positives.values()
        # a UNION ALL promises no order: the rows backwards are the same signals
        rows = session.execute(_signal_rows(heavy_id)).all()
        assert _signals_from(reversed(rows)) == heavy_signals
    with Session(engine) as session, session.begin():
        user = session.get(User, light_id)
        assert user is not None
        follow_author(session, user, "Ada Lovelace")
    with Session(engine) as session:
        followed = training_signals(session, light_id, follows=True)
        assert (
            followed.follows and followed.negatives == _signals_before(session, light_id).negatives
        )
        assert not training_signals(session, light_id).follows  # only when asked


@pytest.mark.parametrize("follows", [False, True])
def test_a_warm_for_you_page_is_four_statements(
    engine: Engine, settings: Settings, follows: bool
) -> None:
    """With the process's caches current: the signals (and whether the user follows anyone), the
    model, the caches' marks, and the page's papers with the followed authors' and the reasons'
    papers — 4 round trips (8 before); following someone adds the follows and their papers (3:
    11 before). Every page answers as the uncached path does."""
    _papers(engine)
    user_id = _reader(engine, settings, follows=follows)
    cache = RecentVectors()
    for offset in (0, 3, 8):
        first, _ = _for_you(engine, user_id, cache, limit=4, offset=offset)
        parsed = cache.models.kept
        again, sent = _for_you(engine, user_id, cache, limit=4, offset=offset)
        plain, _ = _for_you(engine, user_id, None, limit=4, offset=offset)
        assert _shown(again) == _shown(first) == _shown(plain)
        assert len(sent) == (7 if follows else 4), sent
        assert cache.models.kept == parsed == 1  # the model's blob read once
    head, _ = _for_you(engine, user_id, cache, limit=30)
    assert head.state == "ready" and head.reasons
    assert bool(head.followed) == follows
    if follows:
        assert head.followed_names == ["Grace Hopper"]
        assert [p.title[:6] for p in head.papers[:6]] == ["Speech"] * 6


def test_after_a_vote_the_candidates_are_not_read_again(engine: Engine, settings: Settings) -> None:
    """A vote (another user's upvote: ``papers.upvotes`` moves) leaves the set of papers'
    number alone (PostgreSQL's ``data_changes.papers``, SQLite's ``paper_set_changes``): the next
    page reads no candidate ids and answers as a fresh cache does. A new paper, a category, a
    deletion move it (tests/test_recommend_pages.py)."""
    _papers(engine)
    user_id = _reader(engine, settings, follows=False)
    cache = RecentVectors()
    before, _ = _for_you(engine, user_id, cache)
    with Session(engine) as session, session.begin():
        other = add_user(session, "voter@example.org")
        vote(session, other, "2506.00204")
        assert session.scalar(select(Paper.upvotes).where(Paper.arxiv_id == "2506.00204")) == 1
    reads = cache.candidates.reads
    after, sent = _for_you(engine, user_id, cache)
    assert cache.candidates.reads == reads and len(sent) == 4, sent
    fresh, _ = _for_you(engine, user_id, RecentVectors())
    assert _shown(after) == _shown(fresh) and [p.id for p in after.papers] == [
        p.id for p in before.papers
    ]


def _votes_then_an_edit(engine: Engine, number: Callable[[], int]) -> tuple[int, int]:
    """Papers (the set-of-papers ``number`` moves), then votes, a user and ``upvotes`` set (it
    stays), then a paper's comment edited: the number before the edit, and the voter's id."""
    _papers(engine)
    start = number()
    assert start > 0
    with Session(engine) as session, session.begin():  # votes, a user: other tables, upvotes
        voter = add_user(session, "voter@example.org")
        vote(session, voter, "2506.00100")
        session.execute(update(Paper).values(upvotes=Paper.upvotes + 1))
        user = voter.id
    assert number() == start
    with engine.begin() as conn:
        conn.execute(update(Paper).where(Paper.id == 1).values(comment="Revised."))
    return start, user


@pytest.mark.only_backend("postgresql")
def test_the_set_of_papers_number_watches_every_column_but_upvotes(engine: Engine) -> None:
    """Migration 0016's trigger names every column of ``papers`` but ``upvotes`` (and the
    generated ``search_vector``): a migration that adds a column must recreate it. An update of
    any of them moves the number; a vote's does not, nor do writes to the other tables; ordered
    batches (which skip the triggers' bumps) bump it after each commit."""
    with engine.connect() as conn:
        watched = set(
            conn.execute(
                text(
                    "SELECT a.attname FROM pg_trigger t JOIN pg_attribute a "
                    "ON a.attrelid = t.tgrelid AND a.attnum = ANY(t.tgattr) "
                    "WHERE t.tgname = 'papers_column_changes'"
                )
            ).scalars()
        )
        columns = set(
            conn.execute(
                text(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'papers'::regclass "
                    "AND attnum > 0 AND NOT attisdropped AND attgenerated = ''"
                )
            ).scalars()
        )
    assert watched == columns - {"upvotes"} and "title" in watched and "deleted_at" in watched

    def number() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT sum(papers) FROM data_changes")) or 0)

    start, user = _votes_then_an_edit(engine, number)
    assert number() == start + 1
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM paper_categories WHERE paper_id = 1"))
    assert number() == start + 2
    with engine.begin() as conn:  # a vote after another write in one transaction: moved once
        conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": user})
        conn.execute(update(Paper).where(Paper.id == 2).values(title="New"))
    assert number() == start + 3

    def write(conn: Any, batch: int, _ids: object) -> int:  # noqa: ANN401
        conn.execute(update(Paper).where(Paper.id == batch).values(comment=f"batch {batch}"))
        return batch

    assert list(ordered_batches(engine, iter([3, 4]), write, writers=2)) == [3, 4]
    assert number() == start + 5


@pytest.mark.only_backend("sqlite")
def test_sqlites_set_of_papers_number_watches_every_column_but_upvotes(engine: Engine) -> None:
    """Migration 0019's update trigger names every column of ``papers`` but ``upvotes``: a
    migration that adds a column must recreate it. Inserts, deletes, an update of any of them and
    any change of ``paper_categories`` move the number; a vote's update, and writes to other
    tables, do not."""
    with engine.connect() as conn:
        sql = conn.scalar(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": "papers_set_update"},
        )
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(papers)"))}
    assert sql is not None
    named = sql.split(" OF ", 1)[1].split(" ON papers", 1)[0]
    watched = {c.strip() for c in named.split(",")}
    assert watched == columns - {"upvotes"} and "title" in watched and "deleted_at" in watched

    def number() -> int:
        with engine.connect() as conn:
            return int(conn.scalar(text("SELECT number FROM paper_set_changes")) or 0)

    start, user = _votes_then_an_edit(engine, number)
    assert number() > start
    for change in (
        "DELETE FROM paper_categories WHERE paper_id = 1",
        "INSERT INTO paper_categories (paper_id, category) VALUES (1, 'cs.XX')",
        "UPDATE paper_categories SET category = 'cs.YY' WHERE category = 'cs.XX'",
        "DELETE FROM papers WHERE id = 3",
        f"DELETE FROM users WHERE id = {user}",  # (not watched: moved by the paper's update)
    ):
        before = number()
        with engine.begin() as conn:
            conn.execute(text(change))
            if change.startswith("DELETE FROM users"):
                conn.execute(update(Paper).where(Paper.id == 2).values(title="New"))
        assert number() > before, change


def test_the_feeds_statements_read_the_set_of_papers_only(engine: Engine) -> None:
    """The For-you candidates (a feed's clauses: dates, deleted, submitted ids, a category) are
    kept under the set of papers' number; a statement that reads ``upvotes``, another table or
    SQL text is kept under the whole number."""
    with Session(engine) as session:
        week = Period("day", date(2025, 6, 14), date(2025, 6, 20))
        for where in (
            feed_filters(session, week),
            feed_filters(session, week, "cs.LG"),
            [*feed_filters(session, week), Paper.id.not_in([1, 2])],
        ):
            assert reads_paper_set_only(select(Paper.id).where(*where))
        for other in (
            select(Paper.id).where(Paper.upvotes > 0),
            select(Paper.id).order_by(Paper.upvotes),
            select(Paper.id).join(Vote, Vote.paper_id == Paper.id),
            select(Paper.id).where(text("papers.upvotes > 0")),
            select(PaperCategory.paper_id).where(PaperCategory.paper_id.in_(select(Vote.paper_id))),
        ):
            assert not reads_paper_set_only(other)


def test_a_kept_model_is_read_again_once_retrained(engine: Engine, settings: Settings) -> None:
    """The process keeps the user's parsed model under its version (``user_models.model_version``,
    migration 0016): a warm page's row comes without the blob; a retrain stores a new model, and
    the next page's row brings it (the same statement) and ranks as a fresh process does."""
    _papers(engine)
    user_id = _reader(engine, settings, follows=False)
    cache = RecentVectors()
    _for_you(engine, user_id, cache)
    assert cache.models.kept == 1
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        assert user is not None
        for arxiv_id in ("2506.00200", "2506.00201", "2506.00202", "2506.00203"):  # speech too
            vote(session, user, arxiv_id)

    def reads(sent: list[str]) -> int:  # but the candidate ids (SQLite reads them after a write)
        return len([s for s in sent if "json_group_array" not in s and "array_agg" not in s])

    stale, sent = _for_you(engine, user_id, cache)
    assert stale.stale and reads(sent) == 4 and cache.models.kept == 1  # kept until the retrain
    assert retrain_stale(engine, settings) == 1
    retrained, sent = _for_you(engine, user_id, cache)
    assert reads(sent) == 4 and cache.models.kept == 2
    assert not retrained.stale and retrained.positives == 7
    again, sent = _for_you(engine, user_id, cache)
    fresh, _ = _for_you(engine, user_id, RecentVectors())
    assert len(sent) == 4 and cache.models.kept == 2
    assert _shown(again) == _shown(retrained) == _shown(fresh)
    assert _shown(retrained) != _shown(stale)


def test_kept_models_stay_within_their_bytes(engine: Engine) -> None:
    kept = KeptModels(budget=10)
    with Session(engine) as session:
        kept.keep(session, 1, (1, None), None, 6)
        kept.keep(session, 2, (1, None), None, 6)  # over the budget: user 1's goes
        assert kept.get(session, 1, (1, None)) is None
        assert kept.get(session, 2, (1, None)) == (None,)
        assert kept.get(session, 2, (2, None)) is None  # another version
        kept.keep(session, 2, (2, None), None, 20)  # alone, even over the budget
        assert kept.get(session, 2, (2, None)) == (None,)
