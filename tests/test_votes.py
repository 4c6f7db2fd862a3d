"""Upvotes: one per user and paper, the cached count exact even under concurrent clicks."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.models import Paper, User, Vote
from dailypapers.services.accounts import add_user
from dailypapers.services.errors import NotFound
from dailypapers.services.votes import toggle, unvote, vote, voted_ids
from tests.helpers import PAPER, add_papers, record


def _upvotes(session: Session, arxiv_id: str) -> int:
    return int(session.scalar(select(Paper.upvotes).where(Paper.arxiv_id == arxiv_id)) or 0)


def _users(engine: Engine, count: int) -> list[User]:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        return [add_user(session, f"user{i}@example.org") for i in range(count)]


def test_vote_twice_counts_once_and_unvote_undoes(engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"))
    with Session(engine) as session:
        ada, bob = (add_user(session, f"{n}@example.org") for n in ("ada", "bob"))
        assert vote(session, ada, "2506.00001") == 1
        assert vote(session, ada, "https://arxiv.org/abs/2506.00001v2") == 1
        assert vote(session, bob, "2506.00001") == 2
        assert unvote(session, ada, "2506.00001") == 1
        assert unvote(session, ada, "2506.00001") == 1
        assert _upvotes(session, "2506.00001") == 1
        assert session.scalar(select(func.count()).select_from(Vote)) == 1


def test_toggle_flips_and_voted_ids_says_which(engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"), record("2506.00002", "2025-06-17"))
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        ids = list(session.scalars(select(Paper.id).order_by(Paper.arxiv_id)))
        assert toggle(session, ada, "2506.00002") == (True, 1)
        assert voted_ids(session, ada, ids) == {ids[1]}
        assert voted_ids(session, None, ids) == set()
        assert voted_ids(session, ada, []) == set()
        assert toggle(session, ada, "2506.00002") == (False, 0)
        assert voted_ids(session, ada, ids) == set()


def test_unknown_or_malformed_paper_is_not_found(engine: Engine) -> None:
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        for bad in ("2506.99999", "not-an-id", "'; DROP TABLE papers; --"):
            with pytest.raises(NotFound):
                vote(session, ada, bad)
            with pytest.raises(NotFound):
                toggle(session, ada, bad)


def test_concurrent_votes_from_threads_are_exact(engine: Engine) -> None:
    """Eight threads, each with its own connection to the file database, racing on two papers."""
    add_papers(engine, record("2506.00001", "2025-06-17"), record("2506.00002", "2025-06-17"))
    users = _users(engine, 24)
    start = threading.Barrier(8)

    def click(worker: int) -> None:
        start.wait()
        with Session(engine) as session:
            for user in users[worker::8]:
                for _ in range(3):  # double clicks must not double count
                    with session.begin():  # one transaction per click, as one request has
                        vote(session, user, "2506.00001")
                with session.begin():
                    vote(session, user, "2506.00002")
                if user.id % 2:
                    with session.begin():
                        unvote(session, user, "2506.00002")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(click, range(8)))
    with Session(engine) as session:
        assert _upvotes(session, "2506.00001") == 24
        kept = sum(1 for u in users if u.id % 2 == 0)
        assert _upvotes(session, "2506.00002") == kept
        rows = session.scalar(select(func.count()).select_from(Vote))
        assert rows == 24 + kept


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "two-processes"])
def test_one_user_racing_on_one_paper_keeps_the_count_and_the_row_in_step(
    engine: Engine, settings: Settings, processes: int
) -> None:
    """Eight threads click the same paper as the same user (toggle, upvote, take back), each on a
    session of its own, one transaction per click as a request has; with two processes, half of
    them on a second engine (its own connections and write lock, as ``serve --workers 2``).
    Meanwhile a reader checks every state it sees: at most one vote row, and the cached count
    equal to the rows. Every answer is what the user then sees: 1 after voting, 0 after not."""
    add_papers(engine, record(PAPER, "2025-06-17"))
    [user] = _users(engine, 1)
    engines = [engine] + [make_engine(settings.resolved_database_url) for _ in range(processes - 1)]
    threads, clicks = 8, 40
    start = threading.Barrier(threads + 1)
    done = threading.Event()
    answers: list[tuple[str, bool, int]] = []
    seen: list[tuple[int, int]] = []  # (papers.upvotes, vote rows), read in one statement
    both = select(
        Paper.upvotes,
        select(func.count()).select_from(Vote).where(Vote.paper_id == Paper.id).scalar_subquery(),
    ).where(Paper.arxiv_id == PAPER)

    def click(worker: int) -> None:
        choose = random.Random(worker).choice
        start.wait()
        for _ in range(clicks):
            with Session(engines[worker % processes]) as session, session.begin():
                action = choose(("toggle", "toggle", "vote", "unvote"))
                if action == "toggle":
                    answers.append((action, *toggle(session, user, PAPER)))
                elif action == "vote":
                    answers.append((action, True, vote(session, user, PAPER)))
                else:
                    answers.append((action, False, unvote(session, user, PAPER)))

    def watch() -> None:
        start.wait()
        with engine.connect() as conn:
            while not done.is_set():
                upvotes, rows = conn.execute(both).one()
                seen.append((upvotes, rows))
                conn.rollback()  # the next read sees the newest commit

    with ThreadPoolExecutor(threads + 1) as pool:
        watcher = pool.submit(watch)
        try:
            list(pool.map(click, range(threads)))
        finally:
            done.set()  # also when a click failed: the watcher stops, the error shows
            for other in engines[1:]:
                other.dispose()
        watcher.result()
    assert len(answers) == threads * clicks
    wrong = [a for a in answers if a[2] != int(a[1])]
    assert not wrong, wrong[:5]  # voted: the button shows 1; not voted: 0
    assert seen and all(upvotes == rows <= 1 for upvotes, rows in seen), set(seen)
    with Session(engine) as session:
        upvotes, rows = session.execute(both).one()
        assert upvotes == rows <= 1
        assert voted_ids(session, user, [session.scalar(select(Paper.id))]) == (
            {session.scalar(select(Paper.id))} if rows else set()
        )
