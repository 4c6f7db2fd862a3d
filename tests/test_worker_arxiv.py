"""arXiv's "one connection for all your machines" across hosts: two real ``dailypapers worker``
processes on one Redis, asked at the same moment to harvest (the daily ingest) and to look papers
up (pending submissions), against the fake arXiv serving recorded-shape responses slowly. The
``arxiv`` lease lets one of them talk to arXiv; the other reports who holds it. No two requests
are ever in flight together, and each starts at least ``DAILYPAPERS_ARXIV_DELAY_S`` after the one
before (the pacing lives in the lease row, shared by every host)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import IngestState
from dailypapers.jobs import make_jobs
from dailypapers.services.accounts import add_user
from dailypapers.services.submissions import submit
from tests.arxiv_script import (
    HARVESTED,
    TOKENS,
    arxiv_ids,
    recorded_api,
    serve_pages,
    serve_rss,
)
from tests.fake_arxiv import FakeArxiv
from tests.redis_server import RedisServer
from tests.workers import eventually, hold_the_scheduler_elsewhere, workers

OUTCOME = re.compile(
    r"scheduled ingest|ingest: already running|pending submissions wait|submissions: \d+ resolved"
)
DELAY_S = 0.3  # DAILYPAPERS_ARXIV_DELAY_S for the test
ANSWER_S = 0.5  # each fake answer takes this long: longer than the delay, so two clients overlap


def harvest_settings(settings: Settings, fake: FakeArxiv, redis: RedisServer) -> Settings:
    return settings.model_copy(
        update={
            "queue_url": redis.url,
            "arxiv_oai_url": fake.url + "/oai",
            "arxiv_rss_url": fake.url + "/rss",
            "arxiv_api_url": fake.url + "/api/query",
            "categories": "cs.LG cs.CL",
            "arxiv_delay_s": DELAY_S,
            "arxiv_max_retries": 0,
        }
    )


def start_from_the_recorded_window(engine: Engine) -> None:
    """The harvest's checkpoint: the last run ended on 2025-06-17 (the fake's first page)."""
    with engine.begin() as conn:
        conn.execute(
            insert(IngestState).values(source="oai:cs", last_datestamp=dt.date(2025, 6, 17))
        )


def test_two_workers_never_talk_to_arxiv_at_once(
    settings: Settings, engine: Engine, fake: FakeArxiv, redis: RedisServer, tmp_path: Path
) -> None:
    configured = harvest_settings(settings, fake, redis)
    serve_rss(fake, delay_s=ANSWER_S)
    serve_pages(fake, delay_s=ANSWER_S)
    status, body = recorded_api("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    fake.add("/api/query", body, status=status, delay_s=ANSWER_S)
    start_from_the_recorded_window(engine)
    with Session(engine) as session, session.begin():
        submit(session, add_user(session, "reader@example.org"), "1707.08567")

    hold_the_scheduler_elsewhere(engine)  # the workers run only the jobs asked below
    with workers(configured, tmp_path, 2, args=("--concurrency", "1")) as (first, second):
        jobs = make_jobs(configured)
        jobs.ingest()  # each idle worker waits on the queue: one job each, at the same moment
        jobs.resolve_submissions()
        jobs.ingest()  # and a second ingest, taken by whichever is free first

        def logs() -> str:
            return first.output() + second.output()

        eventually(lambda: len(OUTCOME.findall(logs())) >= 3, what="each job's outcome")
        if "scheduled ingest: " not in logs():
            # The lookup won the race and both ingests found the lease taken: they wait for the
            # recover task (every 5 minutes), asked for now.
            jobs.recover()
        eventually(lambda: "scheduled ingest: " in logs(), what="a finished ingest")

    assert fake.most_in_flight == 1, "two requests to arXiv were in flight at once"
    assert HARVESTED <= set(arxiv_ids(engine))
    # whoever came second was told who holds the lease, and did not talk to arXiv meanwhile
    told = re.findall(r"another process \(\w+:(\d+):\w+, since", logs())
    assert told and set(map(int, told)) <= {first.pid, second.pid}, logs()
    starts = [seen.started for seen in fake.requests]
    gaps = [later - earlier for earlier, later in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= DELAY_S - 0.01, gaps
    oai = [
        seen.query.get("resumptionToken", "start") for seen in fake.requests if seen.path == "/oai"
    ]
    assert sorted(oai) == sorted(["start", *TOKENS.values()])  # one harvest: each page asked once
