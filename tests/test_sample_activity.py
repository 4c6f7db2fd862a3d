"""The demo's sample votes and comments (``services/sample_activity.py``): added once by
``dailypapers demo``, the same in every demo database, labelled on the site, removed by
``--no-sample-activity``, and never added to a database with accounts or papers of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.db.models import Comment, Paper, User, Vote
from dailypapers.services.accounts import add_user
from dailypapers.services.sample_activity import (
    READERS,
    add_sample_activity,
    has_sample_activity,
    remove_sample_activity,
)
from dailypapers.web.app import create_app
from tests.helpers import add_papers, post, record, sign_in_as

runner = CliRunner()
NOTE = "votes and comments by “Sample reader” accounts are sample data"


def votes_of(engine: Engine) -> set[tuple[str, str]]:
    with Session(engine) as session:
        rows = session.execute(
            select(User.email, Paper.arxiv_id)
            .join(Vote, Vote.user_id == User.id)
            .join(Paper, Paper.id == Vote.paper_id)
        )
        return {(email, arxiv_id) for email, arxiv_id in rows}


def counts(engine: Engine) -> tuple[int, int, int, int]:
    with Session(engine) as session:
        return (
            int(session.scalar(select(func.count(User.id))) or 0),
            int(session.scalar(select(func.count()).select_from(Vote)) or 0),
            int(session.scalar(select(func.count(Comment.id))) or 0),
            int(session.scalar(select(func.sum(Paper.upvotes))) or 0),
        )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo-activity")
    first = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(data_dir)])
    assert first.exit_code == 0, first.output
    assert "added sample activity:" in first.output
    return data_dir


@pytest.fixture
def demo_engine(demo_dir: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{demo_dir / 'dailypapers.db'}")
    yield engine
    engine.dispose()


def test_demo_adds_believable_activity_once(demo_dir: Path, demo_engine: Engine) -> None:
    users, votes, comments, upvotes = counts(demo_engine)
    assert users == READERS and 1_000 <= votes <= 3_000 and 20 <= comments <= 80
    assert upvotes == votes  # the cached counts agree with the vote rows
    with Session(demo_engine) as session:
        per_paper = list(session.scalars(select(Paper.upvotes).order_by(Paper.upvotes.desc())))
        names = set(session.scalars(select(User.display_name)))
    assert per_paper[0] >= 15 and per_paper[len(per_paper) // 2] == 0  # a few many, most none
    assert names == {f"Sample reader {n}" for n in range(1, READERS + 1)}
    before = votes_of(demo_engine)
    again = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(demo_dir)])
    assert again.exit_code == 0 and "keeping sample activity:" in again.output
    assert votes_of(demo_engine) == before and counts(demo_engine)[:3] == (users, votes, comments)


def test_pages_label_the_sample_activity_and_trending_differs(demo_dir: Path) -> None:
    settings = Settings(data_dir=demo_dir, base_url="http://testserver", _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as client:
        trending = client.get("/papers/trending").text
        daily = client.get("/").text
        paper_ids = [text.split('id="paper-')[1:6] for text in (trending, daily)]
        assert NOTE in trending and NOTE in daily
        assert [p.split('"')[0] for p in paper_ids[0]] != [p.split('"')[0] for p in paper_ids[1]]
        refused = post(client, "/login", {"email": "sample-reader-1@sample.invalid"})
        assert refused.status_code == 400  # no one signs in as a sample reader


def test_no_sample_activity_removes_it(demo_dir: Path, demo_engine: Engine) -> None:
    removed = runner.invoke(
        app, ["demo", "--no-serve", "--no-sample-activity", "--data-dir", str(demo_dir)]
    )
    assert removed.exit_code == 0 and "removed the sample activity" in removed.output
    assert counts(demo_engine) == (0, 0, 0, 0)
    settings = Settings(data_dir=demo_dir, _env_file=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings)) as client:
        assert NOTE not in client.get("/").text
    back = runner.invoke(app, ["demo", "--no-serve", "--data-dir", str(demo_dir)])
    assert "added sample activity:" in back.output  # the same again
    assert counts(demo_engine)[0] == READERS


PAPERS = [record(f"2506.{n:05d}", "2025-06-2" + str(3 + n % 5)) for n in range(1, 120)]
IDS = {p.arxiv_id for p in PAPERS}


def test_the_same_activity_in_every_demo_database(tmp_path: Path) -> None:
    made = []
    for name in ("one", "two"):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        upgrade(engine)
        add_papers(engine, *PAPERS)
        with Session(engine) as session, session.begin():
            result = add_sample_activity(session, IDS)
            assert not isinstance(result, str) and result.added
        made.append(votes_of(engine))
        engine.dispose()
    assert made[0] == made[1] and made[0]


def test_never_in_a_database_of_its_own(engine: Engine, client: TestClient) -> None:
    add_papers(engine, *PAPERS)
    with Session(engine) as session, session.begin():
        add_user(session, "ada@example.org")
        assert add_sample_activity(session, IDS) == "this database has accounts of its own"
    add_papers(engine, record("2401.00001", "2024-01-03"))
    with Session(engine) as session, session.begin():
        remove_sample_activity(session)
        session.execute(User.__table__.delete())
        assert add_sample_activity(session, IDS) == (
            "this database has papers besides the bundled sample"
        )
        assert not has_sample_activity(session)
    sign_in_as(client, engine, "bob@example.org")
    assert NOTE not in client.get("/").text
