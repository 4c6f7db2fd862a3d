"""A worker killed (SIGKILL) mid-job: during an OAI-PMH page, an embedding batch, a digest send.

Huey hands a job to one worker and forgets it, so the job dies with the worker. What brings it
back is its run lease (``jobs/runs.py``): the dead worker's lease lapses (2 minutes after its last
heartbeat; here the test lets it lapse at once, as it lets the dead process's arXiv and embedding
leases lapse), and the ``recover`` task (every 5 minutes; here asked for at once) runs the job
again on another worker. Each job resumes instead of repeating: the harvest from its checkpoint,
embedding from the papers without a vector, the digests through the ledger. Nothing is lost,
nothing is done twice."""

from __future__ import annotations

import secrets
import signal
from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, IngestState, PaperEmbedding, Subscription
from dailypapers.embeddings.store import CHUNK
from dailypapers.jobs import make_jobs
from tests.arxiv_script import HARVESTED, TOKENS, arxiv_ids, serve_pages, serve_rss
from tests.fake_arxiv import FakeArxiv
from tests.helpers import add_papers, record
from tests.redis_server import RedisServer
from tests.smtp_server import ScriptedSmtp, smtp_server
from tests.test_worker_arxiv import harvest_settings, start_from_the_recorded_window
from tests.workers import (
    Worker,
    eventually,
    hold_the_scheduler_elsewhere,
    lapse_leases_of,
    workers,
)


def _killed(worker: Worker) -> None:
    eventually(lambda: worker.process.poll() is not None, what="the worker's death")
    assert worker.process.returncode == -signal.SIGKILL, worker.output()[-2000:]


def _recover(settings: Settings, tmp_path: Path, engine: Engine, dead: Worker, done: str) -> str:
    """Let the dead worker's leases lapse, start another worker, ask for ``recover`` (the
    periodic task would within 5 minutes) and wait for ``done`` in its log."""
    lapsed = lapse_leases_of(engine, dead.pid)
    assert any(name.startswith("job:") for name in lapsed), lapsed
    with workers(settings, tmp_path) as (survivor,):
        make_jobs(settings).recover()
        survivor.wait_for(done)
        return survivor.output()


def test_an_ingest_killed_during_an_oai_page_resumes_from_its_checkpoint(
    settings: Settings, engine: Engine, fake: FakeArxiv, redis: RedisServer, tmp_path: Path
) -> None:
    configured = harvest_settings(settings, fake, redis)
    victim: list[Worker] = []
    serve_rss(fake)
    serve_pages(fake, skip=3)
    page3 = {"verb": "ListRecords", "resumptionToken": TOKENS[3]}
    fake.add("/oai", b"", params=page3, times=1, before=lambda: victim[0].process.kill())
    serve_pages(fake)  # the pages again, for the resumed run (page 3 now answers)
    start_from_the_recorded_window(engine)
    hold_the_scheduler_elsewhere(engine)

    with workers(configured, tmp_path) as (first,):
        victim.append(first)
        make_jobs(configured).ingest()
        _killed(first)
    with engine.connect() as conn:
        token = conn.scalar(
            select(IngestState.resumption_token).where(IngestState.source == "oai:cs")
        )
    assert token == TOKENS[3]  # pages 1 and 2 committed with their checkpoint, page 3 not
    saved = set(arxiv_ids(engine))

    log = _recover(configured, tmp_path, engine, first, "scheduled ingest: ")
    assert "ingest: its run did not finish; running it again" in log
    assert "resuming from checkpoint" in log
    assert HARVESTED <= set(arxiv_ids(engine)) and saved <= set(arxiv_ids(engine))
    asked = Counter(
        s.query.get("resumptionToken", "start") for s in fake.requests if s.path == "/oai"
    )
    assert asked == {"start": 1, TOKENS[2]: 1, TOKENS[3]: 2, TOKENS[4]: 1}  # only page 3 again


def test_embedding_killed_mid_batch_embeds_the_rest_once(
    settings: Settings, engine: Engine, redis: RedisServer, tmp_path: Path
) -> None:
    configured = settings.model_copy(update={"queue_url": redis.url})
    papers = CHUNK + 150
    add_papers(engine, *(record(f"2506.{n:05d}", "2025-06-20") for n in range(1, papers + 1)))
    hold_the_scheduler_elsewhere(engine)
    crash = {"DAILYPAPERS_TEST_CRASH_AT": "embedding-batch:2"}  # 2nd batch computed, not saved

    with workers(configured, tmp_path, env=crash) as (first,):
        make_jobs(configured).embed()
        _killed(first)
    with engine.connect() as conn:
        kept = dict(conn.execute(select(PaperEmbedding.paper_id, PaperEmbedding.id)).all())
    assert len(kept) == CHUNK  # the first batch was committed before the kill

    log = _recover(configured, tmp_path, engine, first, "embedding job: ")
    assert "embed: its run did not finish; running it again" in log
    assert f"{papers - CHUNK} embedded" in log
    with engine.connect() as conn:
        rows = conn.execute(select(PaperEmbedding.paper_id, PaperEmbedding.id)).all()
    assert len(rows) == papers and len({paper for paper, _ in rows}) == papers
    assert {paper: row for paper, row in rows if paper in kept} == kept  # none embedded twice


def _subscribers(engine: Engine, count: int) -> None:
    rows = [
        {
            "email": f"reader{n:04d}@example.org",
            "key": secrets.token_urlsafe(24),
            "status": "active",
            "frequency": "daily",
            "trending": True,
            "categories": "",
            "created_at": datetime(2025, 6, 1),
            "confirmed_at": datetime(2025, 6, 1),
        }
        for n in range(count)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Subscription), rows)


def test_digests_killed_mid_send_are_finished_for_the_same_day_and_none_twice(
    settings: Settings, engine: Engine, redis: RedisServer, tmp_path: Path
) -> None:
    readers, kill_at = 120, 40
    add_papers(engine, record("2506.20001", "2025-06-20", title="Listening tokens"))
    _subscribers(engine, readers)
    hold_the_scheduler_elsewhere(engine)
    with smtp_server(ScriptedSmtp(kill_at=kill_at)) as smtp:
        configured = settings.model_copy(
            update={"queue_url": redis.url, "smtp_url": smtp.url, "digest_retry_delay_s": 0}
        )
        with workers(configured, tmp_path) as (first,):
            smtp.victim = first.pid
            make_jobs(configured).send_digests()
            _killed(first)
        assert len(smtp.raw) == kill_at
        # the next day is announced before the run is taken up: it still finishes 2025-06-20
        add_papers(engine, record("2506.20002", "2025-06-23", title="A later day"))

        log = _recover(configured, tmp_path, engine, first, "daily digests: ")
    assert "digests:daily:2025-06-20: its run did not finish; running it again" in log
    assert f"sent {readers - kill_at}," in log and "1 interrupted" in log
    per_reader = Counter(smtp.recipients())
    assert len(per_reader) == readers and set(per_reader.values()) == {1}
    with Session(engine) as session:
        ledger = Counter(session.execute(select(DigestDelivery.period_key, DigestDelivery.status)))
        assert session.scalar(select(func.count()).select_from(DigestDelivery)) == readers
    assert ledger == {("day:2025-06-20", "sent"): readers - 1, ("day:2025-06-20", "sending"): 1}
