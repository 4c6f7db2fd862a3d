"""Fixed-window rate limits stored in the database."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.models import RateEvent
from dailypapers.services.errors import RateLimited
from dailypapers.services.ratelimit import LIMITS, Limit, check, rate_key

T0 = 1_750_000_000.0


def _fill(session: Session, name: str, subject: str, now: float) -> None:
    for _ in range(LIMITS[name].count):
        check(session, name, subject, now=now)


def test_the_documented_limits() -> None:
    assert LIMITS == {
        "login_ip": Limit(10, 3600),
        "login_email": Limit(5, 3600),
        "subscribe_ip": Limit(10, 3600),
        "subscribe_email": Limit(5, 3600),
        "submit_user": Limit(30, 3600),
        "vote_user": Limit(300, 60),
        "comment_user": Limit(10, 600),
        "write_ip": Limit(600, 60),
    }


def test_over_the_limit_is_refused_until_the_window_ends(engine: Engine) -> None:
    start = 1_750_000_200.0
    window_end = (start // 600 + 1) * 600
    with Session(engine) as session:
        _fill(session, "comment_user", "7", start)
        with pytest.raises(RateLimited) as refused:
            check(session, "comment_user", "7", now=start + 10.5)
        assert refused.value.retry_after == int(window_end - start - 10.5) + 1
        assert "try again in" in refused.value.message
        check(session, "comment_user", "8", now=start)  # another user has their own budget
        check(session, "login_email", "7", now=start)  # and another limit too
        check(session, "comment_user", "7", now=window_end)  # a new window
        session.commit()


def test_counts_are_shared_through_the_database(engine: Engine) -> None:
    for _ in range(LIMITS["login_email"].count):
        with Session(engine) as session:  # every request its own session, as in the web app
            check(session, "login_email", "ada@example.org", now=T0)
            session.commit()
    with Session(engine) as session, pytest.raises(RateLimited):
        check(session, "login_email", "ada@example.org", now=T0 + 1)


def test_uncommitted_counts_roll_back_with_the_request(engine: Engine) -> None:
    with Session(engine) as session:
        _fill(session, "login_email", "bob@example.org", T0)
        session.rollback()
    with Session(engine) as session:
        check(session, "login_email", "bob@example.org", now=T0)


def test_expired_windows_are_deleted(engine: Engine) -> None:
    with Session(engine) as session:
        check(session, "vote_user", "1", now=T0)
        check(session, "login_ip", "10.0.0.1", now=T0)
        session.commit()
        check(session, "vote_user", "1", now=T0 + 120)  # new window: the old one goes
        check(session, "vote_user", "2", now=T0 + 7300)  # two hours on: everything old goes
        session.commit()
        keys = session.scalars(select(RateEvent.key).order_by(RateEvent.key)).all()
        assert keys == ["vote_user:2"]


def test_long_subjects_are_hashed_into_the_key(engine: Engine) -> None:
    subject = "x" * 300 + "@example.org"
    assert len(rate_key("login_email", subject)) <= 200
    assert rate_key("login_email", subject) != rate_key("login_email", subject + "m")
    with Session(engine) as session:
        _fill(session, "login_email", subject, T0)
        with pytest.raises(RateLimited):
            check(session, "login_email", subject, now=T0)
        assert session.scalar(select(func.count()).select_from(RateEvent)) == 1


def test_unknown_limit_is_a_programming_error(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(KeyError):
        check(session, "nonsense", "x", now=T0)


def test_concurrent_requests_lose_no_count(engine: Engine) -> None:
    """Eight threads, each a request with its own connection, count 5 events each at once
    (INSERT ... ON CONFLICT DO UPDATE ... RETURNING in one statement): none is lost, and exactly
    the events past the limit are refused."""
    start = threading.Barrier(8)

    def requests(_worker: int) -> int:
        refused = 0
        start.wait()
        for _ in range(5):
            with Session(engine) as session:
                try:
                    check(session, "comment_user", "7", now=T0)
                except RateLimited:
                    refused += 1
                session.commit()  # the refused ones too: every event is counted
        return refused

    with ThreadPoolExecutor(8) as pool:
        refused = sum(pool.map(requests, range(8)))
    with Session(engine) as session:
        stored = session.scalar(
            select(RateEvent.count).where(RateEvent.key == rate_key("comment_user", "7"))
        )
    assert stored == 40 and refused == 40 - LIMITS["comment_user"].count
