"""Submissions: ids and URLs into a day's feed, merged per day, pending ones filled from arXiv."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import Submission
from dailypapers.services.accounts import add_user
from dailypapers.services.arxiv_client import arxiv_session
from dailypapers.services.errors import Invalid
from dailypapers.services.feeds import feed, neighbour_days
from dailypapers.services.periods import day_period, parse_week
from dailypapers.services.submissions import (
    _settle,
    pending,
    resolve_pending,
    submit,
)
from tests.fake_arxiv import FakeArxiv
from tests.helpers import FakeClock, add_papers, record

API = Path(__file__).parent / "data" / "arxiv" / "arxiv-api" / "recorded-2026"
DAY = date(2025, 6, 20)
NOW = datetime(2025, 6, 20, 12, 0)


def settle(engine: Engine) -> None:
    """What resolving does once the papers are here (the arXiv half is tested below)."""
    with Session(engine) as session, session.begin():
        _settle(session, set())


def test_submit_a_known_paper_by_url_is_ready(engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"))
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        done = submit(session, ada, " https://arxiv.org/abs/2506.00001v3 ", now=NOW)
        # a paper the instance has is featured on its own announce day, not the submission day
        assert (done.arxiv_id, done.day, done.status) == ("2506.00001", date(2025, 6, 17), "ready")
        assert done.paper_id is not None and done.user_id == ada.id


def test_duplicates_of_a_day_merge_into_the_first(engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"))
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        bob = add_user(session, "bob@example.org")
        first = submit(session, ada, "2506.00001", day=DAY, now=NOW)
        again = submit(session, bob, "arXiv:2506.00001v2", day=DAY, now=NOW)
        assert again.id == first.id and again.user_id == ada.id
        later = submit(session, bob, "2506.00001", day=date(2025, 6, 23), now=NOW)
        assert later.id == first.id  # a known paper has one day: its own
        new = submit(session, ada, "2506.00077", day=DAY, now=NOW)
        other_day = submit(session, bob, "2506.00077", day=date(2025, 6, 23), now=NOW)
        assert other_day.id != new.id  # a new paper: one pick per submission day
        assert session.scalar(select(func.count(Submission.id))) == 3


def test_garbage_is_invalid(engine: Engine) -> None:
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        for bad in ("", "hello", "https://example.org/abs/2506.00001", "2506.1", "<script>"):
            with pytest.raises(Invalid):
                submit(session, ada, bad)
        assert session.scalar(select(func.count(Submission.id))) == 0


def test_submitted_papers_join_the_feed_with_their_submitter(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", "2025-06-20"),
        record("2401.00002", "2024-01-03", categories=["cs.CL"]),
        record("2401.00003", "2024-01-03"),
    )
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org", display_name="Ada L.")
        submit(session, ada, "2401.00002", day=DAY, now=NOW)  # known: stays on 2024-01-03
        submit(session, ada, "2506.00001", day=DAY, now=NOW)  # announced that day anyway
        submit(session, ada, "2506.77777", day=DAY, now=NOW)  # pending: not shown
        submit(session, ada, "2401.00009", day=DAY, now=NOW)  # new here: DAY, once fetched
    add_papers(engine, record("2401.00009", "2024-01-04", categories=["cs.CL"]))
    settle(engine)
    with Session(engine) as session:
        page = feed(session, day_period(DAY))
        assert {p.arxiv_id for p in page.papers} == {"2506.00001", "2401.00009"} and page.total == 2
        by_id = {p.arxiv_id: p.id for p in page.papers}
        assert page.submitted_by == {by_id["2401.00009"]: "Ada L.", by_id["2506.00001"]: "Ada L."}
        assert {p.arxiv_id for p in feed(session, parse_week("2025-W25")).papers} >= {"2401.00009"}
        assert feed(session, day_period(DAY), category="cs.CL").total == 1
        assert feed(session, day_period(DAY), sort="trending").total == 2
        original = feed(session, day_period(date(2024, 1, 3)))
        assert original.total == 2 and set(original.submitted_by.values()) == {"Ada L."}
        own_day = feed(session, day_period(date(2024, 1, 4)))
        assert own_day.total == 1 and own_day.submitted_by == {}  # the pick was for DAY


def test_submission_days_are_reachable_by_navigation(engine: Engine) -> None:
    add_papers(engine, record("2506.00001", "2025-06-17"), record("2506.00002", "2025-06-24"))
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org")
        submit(session, ada, "2506.00001", day=DAY, now=NOW)  # known: no day of its own
        assert neighbour_days(session, date(2025, 6, 17)) == (None, date(2025, 6, 24))
        submit(session, ada, "2312.00005", day=DAY, now=NOW)  # new here: DAY once fetched
    add_papers(engine, record("2312.00005", "2023-12-04"))
    settle(engine)
    with Session(engine) as session:
        assert neighbour_days(session, date(2025, 6, 17)) == (date(2023, 12, 4), DAY)
        assert neighbour_days(session, date(2025, 6, 24)) == (DAY, None)


def test_resolve_fills_pending_from_arxiv(
    engine: Engine, settings: Settings, fake: FakeArxiv
) -> None:
    exchange = json.loads((API / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json").read_text())
    fake.add("/api/query", exchange["body"].encode("latin-1"))
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org")
        submit(session, ada, "1707.08567", day=DAY, now=NOW)
        submit(session, ada, "0808.05394", day=DAY, now=NOW)
        submit(session, ada, "2506.00009", day=DAY, now=NOW)
        assert [s.status for s in pending(session)] == ["pending"] * 3
    add_papers(engine, record("2506.00009", "2025-06-19"))  # arrived by ingest meanwhile
    arxiv = settings.model_copy(update={"arxiv_api_url": fake.url + "/api/query"})
    with arxiv_session(engine, arxiv, clock=FakeClock()) as client:
        assert resolve_pending(engine, arxiv, client) == 3
        assert resolve_pending(engine, arxiv, client) == 0  # nothing left to ask about
    assert [r.query["id_list"] for r in fake.requests] == ["0808.05394,1707.08567"]
    with Session(engine) as session:
        states = dict(session.execute(select(Submission.arxiv_id, Submission.status)).all())
        assert states == {"1707.08567": "ready", "0808.05394": "missing", "2506.00009": "ready"}
        assert pending(session) == []
        assert feed(session, day_period(DAY)).total == 2
