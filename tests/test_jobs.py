"""The background jobs: the daily ingest is scheduled at the configured time and really ingests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.models import Submission
from dailypapers.jobs import make_jobs, start_in_process
from dailypapers.services.subscriptions import confirm, subscribe
from tests.arxiv_script import HARVESTED, arxiv_ids, recorded_api, serve_pages, serve_rss
from tests.fake_arxiv import FakeArxiv
from tests.helpers import add_papers, record
from tests.smtp_server import smtp_server


def test_daily_ingest_is_scheduled_at_the_configured_time(settings: Settings) -> None:
    jobs = make_jobs(settings.model_copy(update={"ingest_time_utc": "02:05"}))
    periodic = {task.__name__: task for task in jobs.huey._registry._periodic_tasks}  # noqa: SLF001
    assert set(periodic) == {
        "daily_ingest",
        "resolve_often",
        "digests",
        "embed_often",
        "retrain_often",
        "recover_often",
        "thumbnails_often",
        "stars_hourly",
    }
    assert periodic["retrain_often"]().validate_datetime(dt.datetime(2025, 6, 17, 14, 5))
    assert periodic["thumbnails_often"]().validate_datetime(dt.datetime(2025, 6, 17, 3, 40))
    assert not periodic["thumbnails_often"]().validate_datetime(dt.datetime(2025, 6, 17, 3, 41))
    assert periodic["stars_hourly"]().validate_datetime(dt.datetime(2025, 6, 17, 3, 45))
    validate = periodic["daily_ingest"]().validate_datetime
    assert validate(dt.datetime(2025, 6, 17, 2, 5))
    assert not validate(dt.datetime(2025, 6, 17, 2, 6))
    assert not validate(dt.datetime(2025, 6, 17, 14, 5))


def test_the_retrain_task_trains_stale_models(settings: Settings, engine: Engine) -> None:
    from sqlalchemy.orm import Session

    from dailypapers.db.signals import UserModel
    from dailypapers.services.accounts import add_user
    from dailypapers.services.model_state import signals_changed

    with Session(engine) as session, session.begin():
        signals_changed(session, add_user(session, "r@example.org").id)
    jobs = make_jobs(settings)
    jobs.huey.immediate = True
    assert jobs.retrain().get() == "no papers: no term index; 1 models retrained"
    with Session(engine) as session:
        row = session.scalars(select(UserModel)).one()
        assert row.trained_version == row.signals_version and row.model is None  # cold start


def test_the_ingest_task_harvests(settings: Settings, engine: Engine, fake: FakeArxiv) -> None:
    configured = settings.model_copy(
        update={
            "arxiv_oai_url": fake.url + "/oai",
            "arxiv_rss_url": fake.url + "/rss",
            "categories": "cs.LG cs.CL",
            "arxiv_delay_s": 0.0,
        }
    )
    serve_rss(fake)
    serve_pages(fake)
    fake.add("/oai", b"", status=404)  # anything else: not found
    jobs = make_jobs(configured)
    jobs.huey.immediate = True  # run the task in this thread, as a worker would
    with pytest.MonkeyPatch.context() as patch:
        # the first run harvests "the last week"; pin it to the fixtures' window
        patch.setattr(
            "dailypapers.services.harvest.FIRST_RUN_DAYS",
            (dt.date.today() - dt.date(2025, 6, 17)).days,
        )
        result = jobs.ingest()
    assert "new" in result.get()
    assert HARVESTED <= set(arxiv_ids(engine))


def test_in_process_consumer_starts_and_stops(settings: Settings) -> None:
    consumer = start_in_process(make_jobs(settings).huey, settings)
    consumer.stop(graceful=True)
    assert consumer.stop_flag.is_set()


def test_pending_submissions_are_fetched_by_the_job(
    settings: Settings, engine: Engine, fake: FakeArxiv
) -> None:
    from dailypapers.services.accounts import add_user
    from dailypapers.services.submissions import submit

    status, body = recorded_api("id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json")
    fake.add("/api/query", body, status=status)
    configured = settings.model_copy(
        update={"arxiv_api_url": fake.url + "/api/query", "arxiv_delay_s": 0.0}
    )
    with Session(engine) as session:
        user = add_user(session, "reader@example.org")
        submit(session, user, "1707.08567")
        submit(session, user, "https://arxiv.org/abs/0808.05394")
        session.commit()
    jobs = make_jobs(configured)
    jobs.huey.immediate = True
    assert jobs.resolve_submissions().get() == "2 submissions resolved"
    assert "1707.08567" in arxiv_ids(engine)
    with Session(engine) as session:
        statuses = {
            a: s for a, s in session.execute(select(Submission.arxiv_id, Submission.status))
        }
    assert statuses == {"1707.08567": "ready", "0808.05394": "missing"}
    assert jobs.resolve_submissions().get() == "0 submissions resolved"  # nothing left: no request
    assert len(fake.requests) == 1


def test_digests_are_scheduled_and_the_task_sends(settings: Settings, engine: Engine) -> None:
    add_papers(engine, record("2506.40001", "2025-06-20"))
    with Session(engine) as session, session.begin():
        confirm(session, subscribe(session, "reader@example.org").subscription)
    with smtp_server() as smtp:
        configured = settings.model_copy(update={"digest_time_utc": "03:15", "smtp_url": smtp.url})
        jobs = make_jobs(configured)
        periodic = {t.__name__: t for t in jobs.huey._registry._periodic_tasks}  # noqa: SLF001
        validate = periodic["digests"]().validate_datetime
        assert validate(dt.datetime(2025, 6, 17, 3, 15))
        assert not validate(dt.datetime(2025, 6, 17, 2, 30))
        jobs.huey.immediate = True
        assert "sent 1," in jobs.send_digests().get()
        assert "sent 0," in jobs.send_digests().get()  # once per period
        assert smtp.recipients() == ["reader@example.org"]
