"""End to end through a real server: `dailypapers demo` in a subprocess, read by HF's own client."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine, make_session_factory
from dailypapers.db.migrate import upgrade
from dailypapers.services.accounts import add_user, create_api_token
from tests.helpers import add_papers, dailypapers_server, free_port, record

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`dailypapers demo` exactly as the README runs it (its --data-dir wins over the setting)."""
    root: Path = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DAILYPAPERS_DATA_DIR": "/nonexistent-should-be-overridden"}
    args = ["demo", "--data-dir", str(root / "data")]
    with dailypapers_server(args, port=free_port(), env=env, log=root / "demo.log") as url:
        yield url


def test_huggingface_hub_client_reads_our_api(demo_server: str) -> None:
    api = HfApi(endpoint=demo_server, token=False)
    daily = list(api.list_daily_papers(date="2025-06-24", limit=100))
    assert len(daily) == 100
    assert all(
        p.submitted_at is not None and p.submitted_at.date().isoformat() == "2025-06-24"
        for p in daily
    )
    first = daily[0]
    assert first.id and first.title and first.summary and first.authors and first.authors[0].name

    week = list(api.list_daily_papers(week="2025-W26", limit=5))
    assert len(week) == 5

    info = api.paper_info(first.id)
    assert (info.id, info.title) == (first.id, first.title)

    found = list(api.list_papers(query="gaussian splatting", limit=5))
    assert found and all("gaussian" in ((p.title or "") + (p.summary or "")).lower() for p in found)

    markdown = api.read_paper(first.id)
    assert markdown.startswith(f"# {first.title}")

    with pytest.raises(HfHubHTTPError) as missing:
        api.paper_info("2506.99999")
    assert missing.value.response is not None and missing.value.response.status_code == 404


def test_demo_serves_html(demo_server: str) -> None:
    home = httpx.get(demo_server + "/")
    assert home.status_code == 200 and "July 4, 2025" in home.text


def test_serve_with_workers_shares_votes_and_csrf(tmp_path: Path) -> None:
    """`serve --workers 2`: each request may land on either process; the settings (data dir,
    secret key) reach both, a vote is counted once and every later read sees it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    add_papers(engine, record("2506.00001", "2025-06-17"), record("2506.00002", "2025-06-17"))
    with make_session_factory(engine)() as session:
        user = add_user(session, "w@example.org", display_name="W")
        _token, raw = create_api_token(session, user, "test")
        session.commit()
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env |= {"DAILYPAPERS_JOBS_IN_WEB": "false"}
    args = ["serve", "--data-dir", str(data_dir), "--workers", "2"]
    with dailypapers_server(args, port=free_port(), env=env, log=tmp_path / "serve.log") as url:
        auth = {"Authorization": f"Bearer {raw}"}
        voted = httpx.post(f"{url}/api/papers/2506.00002/upvote", headers=auth)
        assert voted.json()["upvotes"] == 1
        for _ in range(4):  # a new connection each: both workers answer some
            assert httpx.get(f"{url}/api/papers/2506.00002").json()["upvotes"] == 1
            assert httpx.get(url + "/").status_code == 200
        token = httpx.get(url + "/login").cookies["dp_csrf"]  # a form from one worker...
        for _ in range(3):  # ...posted on new connections, to either
            form = {"email": "x@example.org", "csrf_token": token}
            sent = httpx.post(url + "/login", data=form, cookies={"dp_csrf": token})
            assert sent.status_code in (200, 303), sent.text
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def test_huggingface_hub_pages_through_api_papers_and_reads_the_extras(demo_server: str) -> None:
    from itertools import islice

    from huggingface_hub.utils import paginate

    papers = list(islice(paginate(f"{demo_server}/api/papers", {"limit": 100}, {}), 250))
    assert len(papers) == 250 and len({p["id"] for p in papers}) == 250  # three pages by Link
    api = HfApi(endpoint=demo_server, token=False)
    deadline = time.monotonic() + 90  # the demo extracts key phrases in the background
    info = api.paper_info(papers[0]["id"])
    while info.ai_summary is None and time.monotonic() < deadline:
        time.sleep(1)
        info = api.paper_info(papers[0]["id"])
    assert info.ai_summary and isinstance(info.ai_keywords, list) and info.ai_keywords
    assert " ".join(info.ai_summary.split()) in " ".join((info.summary or "").split())  # extracted
    mine = list(api.list_daily_papers(date="2025-06-17", submitter="nobody"))
    assert mine == []
