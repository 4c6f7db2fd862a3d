"""Upvotes: one per user and paper, the cached count exact even under concurrent clicks."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import Paper, User, Vote
from dailypapers.services.accounts import add_user
from dailypapers.services.errors import NotFound
from dailypapers.services.votes import toggle, unvote, vote, voted_ids
from tests.helpers import add_papers, record


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
