"""Redis down: the site keeps serving, requests that queue a job still succeed (one warning line,
the periodic task does the job later), /readyz says what is down, and consumers reconnect and
run jobs once Redis is back. A real redis-server, stopped and restarted by the test."""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app as cli
from dailypapers.config import Settings
from dailypapers.db.models import Submission
from dailypapers.jobs import make_jobs, start_in_process
from dailypapers.web.app import create_app
from tests.arxiv_script import recorded_api
from tests.fake_arxiv import FakeArxiv
from tests.helpers import (
    add_community_papers,
    dailypapers_server,
    free_port,
    post,
    sign_in_as,
)
from tests.redis_server import RedisServer
from tests.workers import eventually, hold_the_scheduler_elsewhere, worker_env

TOKEN = "metrics-secret"


@pytest.fixture
def on_redis(settings: Settings, redis: RedisServer, fake: FakeArxiv) -> Settings:
    return settings.model_copy(
        update={
            "queue_url": redis.url,
            "metrics_token": TOKEN,
            "arxiv_api_url": fake.url + "/api/query",
            "arxiv_delay_s": 0.0,
        }
    )


@pytest.fixture
def site(on_redis: Settings, engine: Engine) -> Iterator[TestClient]:
    add_community_papers(engine)
    with TestClient(create_app(on_redis)) as client:
        yield client


def _status(engine: Engine, arxiv_id: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(Submission.status).where(Submission.arxiv_id == arxiv_id))


def test_the_site_works_while_redis_is_down_and_jobs_run_when_it_returns(
    on_redis: Settings,
    site: TestClient,
    engine: Engine,
    redis: RedisServer,
    fake: FakeArxiv,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert site.get("/readyz").json()["queue"] == "ok"
    redis.stop()

    for page in ("/", "/papers/2506.00001", "/api/daily_papers", "/search?q=attention"):
        assert site.get(page).status_code == 200, page
    sign_in_as(site, engine, "ada@example.org")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        done = post(site, "/submit", {"arxiv": "1707.08567"})
    assert done.status_code == 303  # submitted: pending, not a 500
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "fetching a submitted paper not queued (job queue unreachable: Error 111 connecting to "
        f"127.0.0.1:{redis.port}. Connection refused); the periodic job fetches it within 10 "
        "minutes"
    ]
    assert _status(engine, "1707.08567") == "pending"

    ready = site.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["database"] == "ok" and ready.json()["queue"].startswith("down: ")
    scraped = site.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200 and "dailypapers_queue_up 0.0" in scraped.text

    # A consumer started meanwhile waits; once Redis is back it takes jobs again.
    hold_the_scheduler_elsewhere(engine)
    consumer = start_in_process(make_jobs(on_redis).huey, on_redis, workers=1)
    try:
        eventually(lambda: "; retrying" in caplog.text, what="the consumer's note")
        redis.start()
        status, body = recorded_api("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
        fake.add("/api/query", body, status=status)
        make_jobs(on_redis).resolve_submissions()  # what resolve_often does every 10 minutes
        eventually(lambda: _status(engine, "1707.08567") == "ready", timeout=60, what="the fetch")
    finally:
        consumer.stop(graceful=True)
    assert "job queue reachable again" in caplog.text
    # one line per outage from the worker and from the scheduler, never a traceback
    assert caplog.text.count("job queue unreachable (") <= 2
    assert "Traceback" not in caplog.text
    assert site.get("/readyz").status_code == 200


def test_an_import_while_redis_is_down_succeeds_with_one_note(
    on_redis: Settings, redis: RedisServer, tmp_path: Path
) -> None:
    redis.stop()
    listing = tmp_path / "2025-06-20.jsonl.gz"
    line = {
        "id": "2506.00010",
        "title": "T",
        "authors": ["A"],
        "categories": ["cs.CL"],
        "summary": "S",
    }
    listing.write_bytes(gzip.compress((json.dumps(line) + "\n").encode()))
    env = on_redis.as_environment()
    result = CliRunner().invoke(cli, ["import", "listing", str(listing)], env=env)
    assert result.exit_code == 0, result.output
    notes = [line for line in result.output.splitlines() if "not queued" in line]
    assert len(notes) == 1 and re.search(r"job queue unreachable: .*Connection refused", notes[0])
    assert "Traceback" not in result.output


def test_serve_starts_and_serves_while_redis_is_down(
    on_redis: Settings, engine: Engine, redis: RedisServer, tmp_path: Path
) -> None:
    """``serve`` with its in-process consumer on a Redis that is down: it starts, serves pages,
    says the queue is down in /readyz (503) and in one line of its log."""
    add_community_papers(engine)
    redis.stop()
    port = free_port()
    env = worker_env(on_redis)
    log = tmp_path / "serve.log"
    with dailypapers_server(
        ["serve"], port=port, env=env, log=log, module="tests.worker_main"
    ) as url:
        assert httpx.get(url + "/papers/2506.00001").status_code == 200
        ready = httpx.get(url + "/readyz")
        assert ready.status_code == 503 and ready.json()["queue"].startswith("down: ")
        assert httpx.get(url + "/healthz").status_code == 200
    output = log.read_text()
    assert "embedding not queued (job queue unreachable:" in output
    assert "Traceback" not in output, output[-3000:]
