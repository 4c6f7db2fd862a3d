"""The curated daily feed (DAILYPAPERS_DAILY_FEED=curated): the day's page and /api/daily_papers
list only featured and submitted papers; the page's Curated / All new / For you switch; the
curators' "Feature on today's page"; the curator role from the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app as cli
from dailypapers.config import Settings
from dailypapers.db.models import Submission, User
from dailypapers.services.accounts import add_user
from dailypapers.services.submissions import submit
from dailypapers.web.app import create_app
from tests.helpers import add_papers, count, post, record, sign_in_as

DAY = "2025-06-20"


@pytest.fixture
def curated(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """An instance with the curated feed: three papers of the day, one of them submitted, and
    one of the day before."""
    add_papers(
        engine,
        record("2506.00001", DAY, title="Submitted by the community"),
        record("2506.00002", DAY, title="Announced only"),
        record("2506.00003", DAY, title="Also announced only"),
        record("2506.00004", "2025-06-19", title="Yesterday's paper"),
    )
    with Session(engine) as session, session.begin():
        submit(session, add_user(session, "reader@example.org"), "2506.00001")
    chosen = settings.model_copy(update={"daily_feed": "curated"})
    with TestClient(create_app(chosen)) as client:
        yield client


def _titles(page: str) -> list[str]:
    return [t for t in ("Submitted by the community", "Announced only", "Yesterday") if t in page]


def test_the_curated_day_lists_submissions_and_the_switch_shows_all_new(
    curated: TestClient, engine: Engine
) -> None:
    for url in ("/", f"/papers/date/{DAY}", f"/papers/date/{DAY}?view=curated"):
        page = curated.get(url)
        assert page.status_code == 200
        assert _titles(page.text) == ["Submitted by the community"], url
        assert '<strong aria-current="page">Curated</strong>' in page.text
        assert ">All new</a>" in page.text and ">For you</a>" not in page.text  # signed out
    chips = re.findall(r"cs\.LG <small>(\d+)</small>", curated.get("/").text)
    assert chips == ["1"]  # the chips count the curated papers
    every = curated.get(f"/papers/date/{DAY}?view=all")
    assert re.findall(r"cs\.LG <small>(\d+)</small>", every.text) == ["3"]
    assert _titles(every.text) == ["Submitted by the community", "Announced only"]
    assert '<strong aria-current="page">All new</strong>' in every.text
    assert "3 papers" in every.text
    empty = curated.get("/papers/date/2025-06-19")
    assert "Nothing featured or submitted for this day yet" in empty.text
    assert "view=all" in empty.text
    assert curated.get(f"/papers/date/{DAY}?view=bogus").status_code == 400
    weekly = curated.get("/papers/week/2025-W25")  # weeks and months are not curated
    assert "Announced only" in weekly.text and "feed-switch" not in weekly.text
    sign_in_as(curated, engine, "me@example.org")
    page = curated.get(f"/papers/date/{DAY}")
    assert ">For you</a>" in page.text and "sort=for_you" in page.text
    mine = curated.get(f"/papers/date/{DAY}?sort=for_you")
    assert '<strong aria-current="page">For you</strong>' in mine.text
    assert "Announced only" in mine.text  # For you ranks every new paper of the day


def test_an_instance_with_all_shows_every_paper_and_no_switch(
    client: TestClient, engine: Engine
) -> None:
    add_papers(engine, record("2506.00002", DAY, title="Announced only"))
    page = client.get("/")
    assert "Announced only" in page.text and "feed-switch" not in page.text
    assert "Announced only" not in client.get(f"/papers/date/{DAY}?view=curated").text
    assert [e["paper"]["id"] for e in client.get("/api/daily_papers").json()] == ["2506.00002"]
    assert client.get("/api/daily_papers?feed=curated").json() == []


def test_the_api_follows_the_instances_choice(curated: TestClient) -> None:
    ids = [e["paper"]["id"] for e in curated.get(f"/api/daily_papers?date={DAY}").json()]
    assert ids == ["2506.00001"]
    assert [e["paper"]["id"] for e in curated.get("/api/daily_papers").json()] == ["2506.00001"]
    every = curated.get(f"/api/daily_papers?date={DAY}&feed=all").json()
    assert {e["paper"]["id"] for e in every} == {"2506.00001", "2506.00002", "2506.00003"}
    assert curated.get("/api/daily_papers?feed=bogus").status_code == 400
    assert curated.get("/api/daily_papers?date=2025-06-19").json() == []


def test_curators_feature_a_paper_on_todays_page_and_others_may_not(
    curated: TestClient, engine: Engine
) -> None:
    assert post(curated, "/papers/2506.00004/feature").status_code in (302, 303, 401)
    user_id = sign_in_as(curated, engine, "someone@example.org")
    page = curated.get("/papers/2506.00004")
    assert "Feature on today" not in page.text  # not shown to others
    answer = post(curated, "/papers/2506.00004/feature")
    assert answer.status_code == 403
    assert count(engine, Submission) == 1
    with Session(engine) as session, session.begin():
        session.execute(update(User).where(User.id == user_id).values(is_curator=True))
    assert "Feature on today" in curated.get("/papers/2506.00004").text
    no_token = curated.post("/papers/2506.00004/feature", follow_redirects=False)
    assert no_token.status_code == 403 and count(engine, Submission) == 1
    answer = post(curated, "/papers/2506.00004/feature")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/papers/date/{DAY}?view=curated"
    assert post(curated, "/papers/2506.00004v2/feature").status_code == 303  # twice: one feature
    assert count(engine, Submission) == 2
    titles = _titles(curated.get("/").text)
    assert titles == ["Submitted by the community", "Yesterday"]
    api = [e["paper"]["id"] for e in curated.get("/api/daily_papers").json()]
    assert sorted(api) == ["2506.00001", "2506.00004"]
    assert post(curated, "/papers/2506.99999/feature").status_code == 404  # not here
    assert post(curated, "/papers/not-an-id/feature").status_code == 404
    # an admin may too
    sign_in_as(curated, engine, "root@example.org", admin=True)
    assert post(curated, "/papers/2506.00003/feature").status_code == 303
    assert "Also announced only" in curated.get("/").text


def test_the_curator_role_from_the_cli(tmp_path: Path, settings: Settings) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(settings.data_dir)]
    done = runner.invoke(cli, ["users", "add", "Cur@Example.org", "--curator", *data])
    assert done.exit_code == 0 and "cur@example.org: curator" in done.stdout
    done = runner.invoke(cli, ["users", "add", "cur@example.org", "--name", "Cur", *data])
    assert done.exit_code == 0 and ": curator," in done.stdout  # keeps the role without the flag
    done = runner.invoke(cli, ["users", "curator", "cur@example.org", "--remove", *data])
    assert done.exit_code == 0 and done.stdout.strip() == "cur@example.org: user"
    done = runner.invoke(cli, ["users", "curator", "cur@example.org", *data])
    assert done.exit_code == 0 and done.stdout.strip() == "cur@example.org: curator"
    listed = runner.invoke(cli, ["users", "list", *data])
    assert "curator" in listed.stdout
    missing = runner.invoke(cli, ["users", "curator", "nobody@example.org", *data])
    assert missing.exit_code == 2 and "no account" in missing.stderr
    bad = runner.invoke(cli, ["users", "curator", "not an email", *data])
    assert bad.exit_code == 2
