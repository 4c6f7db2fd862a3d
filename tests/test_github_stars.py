"""GitHub stars against a fake GitHub on loopback: daily refresh with ETags, a renamed repository
followed, a gone one never asked again, the rate limit honoured (stop, resume after the reset),
malformed answers backed off; stars on cards, in the API and, when turned on, in trending."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.extras import GithubRepo
from dailypapers.ranking.trending import star_votes, trending_score
from dailypapers.services.github_stars import refresh_stars
from dailypapers.sources.github import read_answer, repo_name
from dailypapers.web.app import create_app
from tests.fake_github import FakeGithub, fake_github
from tests.helpers import add_papers, record

NOW = datetime(2025, 6, 20, 12, 0)


@pytest.fixture
def github() -> Iterator[FakeGithub]:
    with fake_github() as fake:
        yield fake


@pytest.fixture
def gh_settings(settings: Settings, github: FakeGithub) -> Settings:
    return settings.model_copy(update={"github_api_url": github.url})


def _papers(engine: Engine, *links: str) -> None:
    add_papers(
        engine,
        *(
            record(f"2506.{n:05d}", "2025-06-17", code_url=link)
            for n, link in enumerate(links, start=1)
        ),
    )


def _repos(engine: Engine) -> dict[str, GithubRepo]:
    with Session(engine) as session:
        rows = list(session.scalars(select(GithubRepo)))
        session.expunge_all()
    return {r.name: r for r in rows}


def test_repo_names_come_only_from_repository_links() -> None:
    assert repo_name("https://github.com/Ada/Engine") == "ada/engine"
    assert repo_name("https://github.com/ada/engine.git") == "ada/engine"
    assert repo_name("http://www.github.com/ada/engine/tree/main/src") == "ada/engine"
    for other in (
        "https://gitlab.com/ada/engine",
        "https://github.com/ada",
        None,
        "",
        "https://github.com/orgs/ada",
        "https://github.com.evil.example/ada/x",
    ):
        assert repo_name(other) is None


def test_stars_are_fetched_then_refreshed_with_etags(
    engine: Engine, gh_settings: Settings, github: FakeGithub
) -> None:
    github.repos = {"Ada/Engine": 1234, "bob/tool": 7}
    _papers(engine, "https://github.com/ada/engine", "https://github.com/bob/tool/tree/main")
    run = refresh_stars(engine, gh_settings, now=NOW)
    assert (run.added, run.updated) == (2, 2)
    repos = _repos(engine)
    assert repos["ada/engine"].stars == 1234 and repos["ada/engine"].full_name == "Ada/Engine"

    assert refresh_stars(engine, gh_settings, now=NOW + timedelta(hours=2)).updated == 0  # not due
    github.repos["bob/tool"] = 9
    again = refresh_stars(engine, gh_settings, now=NOW + timedelta(days=1))
    assert (again.updated, again.unchanged) == (1, 1)  # ada/engine: 304 for its ETag
    assert github.requests[-2:][0][1] is not None  # If-None-Match sent
    assert _repos(engine)["bob/tool"].stars == 9


def test_a_renamed_repository_is_followed_and_its_new_name_kept(
    engine: Engine, gh_settings: Settings, github: FakeGithub
) -> None:
    github.repos = {"ada/analytical-engine": 50}
    github.renamed = {"ada/engine": "ada/analytical-engine"}
    _papers(engine, "https://github.com/ada/engine")
    refresh_stars(engine, gh_settings, now=NOW)
    repo = _repos(engine)["ada/engine"]
    assert (repo.full_name, repo.stars, repo.status) == ("ada/analytical-engine", 50, "ok")
    refresh_stars(engine, gh_settings, now=NOW + timedelta(days=1))
    assert github.requests[-1][0] == "/repos/ada/analytical-engine"  # asks by the new name


def test_a_gone_repository_is_marked_and_not_asked_again(
    engine: Engine, gh_settings: Settings, github: FakeGithub, caplog: pytest.LogCaptureFixture
) -> None:
    github.gone = {"ada/deleted"}
    _papers(engine, "https://github.com/ada/deleted")
    with caplog.at_level(logging.INFO):
        assert refresh_stars(engine, gh_settings, now=NOW).gone == 1
    assert (
        "GitHub repository ada/deleted: the repository is gone (HTTP 404); not asked again"
        in caplog.text
    )
    for days in range(1, 4):
        refresh_stars(engine, gh_settings, now=NOW + timedelta(days=days))
    assert len(github.requests) == 1 and _repos(engine)["ada/deleted"].status == "gone"


def test_the_rate_limit_stops_the_run_and_it_resumes_after_the_reset(
    engine: Engine, gh_settings: Settings, github: FakeGithub
) -> None:
    github.repos = {f"o/r{n}": n for n in range(5)}
    github.remaining = 2
    _papers(engine, *(f"https://github.com/o/r{n}" for n in range(5)))
    first = refresh_stars(engine, gh_settings, now=NOW)
    assert first.updated == 2 and first.paused_until is not None  # the last request said 0 left
    asked = len(github.requests)
    paused = refresh_stars(engine, gh_settings, now=NOW + timedelta(minutes=1))
    assert paused.paused_until is not None and len(github.requests) == asked  # nothing sent
    github.remaining = 100
    later = first.paused_until + timedelta(seconds=1)
    resumed = refresh_stars(engine, gh_settings, now=later)
    assert resumed.updated == 3 and resumed.paused_until is None
    assert all(r.stars is not None for r in _repos(engine).values())


def test_a_403_with_no_requests_left_pauses_without_losing_anything(
    engine: Engine, gh_settings: Settings, github: FakeGithub
) -> None:
    github.repos = {"a/b": 1}
    github.remaining = 0
    _papers(engine, "https://github.com/a/b")
    run = refresh_stars(engine, gh_settings, now=NOW)
    assert run.paused_until is not None and run.errors == 0
    assert _repos(engine)["a/b"].status == "new"  # still due once the pause is over


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"full_name": "a/b"}',
        b'{"full_name": 3, "stargazers_count": 1}',
        b'{"full_name": "a/b", "stargazers_count": -4}',
        b'{"full_name": "a/b", "stargazers_count": true}',
    ],
)
def test_a_malformed_answer_backs_off_instead_of_retrying_daily(
    engine: Engine, gh_settings: Settings, github: FakeGithub, body: bytes
) -> None:
    github.broken = {"a/b": body}
    _papers(engine, "https://github.com/a/b")
    assert refresh_stars(engine, gh_settings, now=NOW).errors == 1
    repo = _repos(engine)["a/b"]
    assert repo.status == "error" and repo.stars is None and repo.due_at == NOW + timedelta(days=2)
    refresh_stars(engine, gh_settings, now=NOW + timedelta(days=1))
    assert len(github.requests) == 1  # not asked the next day
    refresh_stars(engine, gh_settings, now=NOW + timedelta(days=2))
    assert _repos(engine)["a/b"].due_at == NOW + timedelta(days=2 + 4)


def test_secondary_rate_limits_and_server_errors_are_read() -> None:
    retry = httpx.Response(403, headers={"Retry-After": "60"})
    assert read_answer(retry, now=1000.0).kind == "limited"
    assert read_answer(retry, now=1000.0).reset_at == 1060.0
    assert read_answer(httpx.Response(502)).kind == "error"
    assert read_answer(httpx.Response(403, headers={"X-RateLimit-Remaining": "12"})).kind == "error"


def test_stars_show_on_cards_in_the_api_and_for_huggingface_hub(
    engine: Engine, gh_settings: Settings, github: FakeGithub, client: TestClient
) -> None:
    github.repos = {"ada/engine": 1234}
    _papers(engine, "https://github.com/ada/engine", "https://gitlab.com/x/y")
    refresh_stars(engine, gh_settings)
    assert "★ 1.2k" in client.get("/papers/date/2025-06-17").text
    paper = client.get("/api/papers/2506.00001").json()
    assert (
        paper["githubStars"] == 1234
        and "githubStars" not in client.get("/api/papers/2506.00002").json()
    )
    assert PaperInfo(**paper).github_stars == 1234


def test_trending_counts_stars_only_when_turned_on(
    engine: Engine, gh_settings: Settings, github: FakeGithub
) -> None:
    github.repos = {"ada/engine": 1023}
    add_papers(
        engine,
        record("2506.00001", "2025-06-17", code_url="https://github.com/ada/engine"),
        record("2506.00002", "2025-06-17"),
        record("2506.00003", "2025-06-16"),
    )
    refresh_stars(engine, gh_settings)
    # the formula: log2(1 + 1023) = 10 upvotes' worth
    assert star_votes(1023) == 10.0
    assert trending_score(0, date(2025, 6, 17), date(2025, 6, 17), 1023) == 10 / 2**1.5
    for on, first in ((False, "2506.00002"), (True, "2506.00001")):
        app = create_app(gh_settings.model_copy(update={"trending_stars": on}))
        with TestClient(app) as client:
            listing = client.get(
                "/api/daily_papers", params={"date": "2025-06-17", "sort": "trending"}
            )
            assert listing.json()[0]["paper"]["id"] == first, on
