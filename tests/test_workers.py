"""``dailypapers worker`` on Redis: its command line (and what bad input looks like), and periodic
tasks enqueued once per instance however many consumers run (the ``scheduler`` lease)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.jobs import make_jobs, start_in_process
from dailypapers.jobs.consumer import SCHEDULER_LEASE, SCHEDULER_LEASE_S, LeasedScheduler
from tests.helpers import free_port
from tests.redis_server import RedisServer

runner = CliRunner()


def _env(settings: Settings, **more: str) -> dict[str, str]:
    return {**settings.as_environment(), **more}


def test_worker_concurrency_is_documented_and_checked(settings: Settings) -> None:
    assert "--concurrency" in runner.invoke(app, ["worker", "--help"]).output
    for bad in ("0", "-1", "65", "many"):
        result = runner.invoke(app, ["worker", "--concurrency", bad], env=_env(settings))
        assert result.exit_code == 2 and "--concurrency" in result.output, result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://localhost:6379", "not a Redis URL"),
        ("redis://localhost:port/0", "the port is not a number"),
        ("redis:///0", "no host"),
        ("redis://localhost:6379/zero", "the database must be a number"),
        ("localhost:6379", "not a Redis URL"),
    ],
)
def test_a_malformed_queue_url_is_one_line(settings: Settings, url: str, why: str) -> None:
    for command in (["worker"], ["serve"], ["init"]):
        result = runner.invoke(app, command, env=_env(settings, DAILYPAPERS_QUEUE_URL=url))
        assert result.exit_code == 2, result.output
        assert "queue_url" in result.output and why in result.output, result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3


def test_a_worker_whose_redis_refuses_connections_stops_with_one_line(settings: Settings) -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"  # nothing listens there
    result = runner.invoke(app, ["worker"], env=_env(settings, DAILYPAPERS_QUEUE_URL=url))
    assert result.exit_code == 2, result.output
    assert "cannot reach the job queue at redis://127.0.0.1:" in result.output, result.output
    assert "secret" not in result.output  # the password stays out of the message
    assert "Traceback" not in result.output


# --- one scheduler per instance -----------------------------------------------------------------


def _scheduler(settings: Settings, holder: str) -> LeasedScheduler:
    huey = make_jobs(settings).huey
    return LeasedScheduler(huey, None, 1, True, settings=settings, holder=holder)


def _queued(settings: Settings) -> list[str]:
    """Names of the jobs waiting in the queue (taken out of it), sorted."""
    huey = make_jobs(settings).huey
    names = []
    while (task := huey.dequeue()) is not None:
        names.append(task.name)
    return sorted(names)


def at(hhmm: str, seconds: int = 0) -> dt.datetime:
    hour, minute = map(int, hhmm.split(":"))
    return dt.datetime(2025, 6, 17, hour, minute, seconds)


DUE_AT_0130 = [
    "daily_ingest",
    "embed_often",
    "recover_often",
    "resolve_often",
    "retrain_often",
    "thumbnails_often",
]


@pytest.fixture
def on_redis(settings: Settings, redis: RedisServer) -> Settings:
    return settings.model_copy(update={"queue_url": redis.url, "ingest_time_utc": "01:30"})


def test_two_schedulers_enqueue_each_periodic_task_once(on_redis: Settings, engine: object) -> None:
    first, second = _scheduler(on_redis, "host-a:1"), _scheduler(on_redis, "host-b:2")
    for minute in ("01:29", "01:30", "01:31"):
        first.enqueue_periodic_tasks(at(minute, 5))
        second.enqueue_periodic_tasks(at(minute, 7))
    assert _queued(on_redis) == DUE_AT_0130
    assert first.leading and not second.leading


def test_a_dead_schedulers_due_tasks_are_enqueued_by_the_one_taking_over(
    on_redis: Settings, engine: object
) -> None:
    """A's scheduler checks at 01:29 and dies; B is refused until A's lease lapses (01:31:35),
    then takes over and enqueues what fell due meanwhile: the 01:30 ingest, once."""
    first, second = _scheduler(on_redis, "host-a:1"), _scheduler(on_redis, "host-b:2")
    first.enqueue_periodic_tasks(at("01:29", 5))
    assert _queued(on_redis) == []
    second.enqueue_periodic_tasks(at("01:30", 7))  # A's lease still runs: B enqueues nothing
    second.enqueue_periodic_tasks(at("01:31", 7))
    assert _queued(on_redis) == [] and not second.leading
    lapse = at("01:29", 5) + dt.timedelta(seconds=SCHEDULER_LEASE_S + 1)
    second.enqueue_periodic_tasks(lapse)
    assert second.leading
    assert _queued(on_redis) == DUE_AT_0130
    second.enqueue_periodic_tasks(lapse + dt.timedelta(minutes=1))  # 01:32: nothing due
    assert _queued(on_redis) == []


def test_periodic_tasks_wait_for_redis_to_come_back(
    on_redis: Settings, redis: RedisServer, engine: object, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = _scheduler(on_redis, "host-a:1")
    redis.stop()
    scheduler.enqueue_periodic_tasks(at("01:30", 5))
    assert f"{', '.join(DUE_AT_0130)} not queued" in caplog.text
    assert len(caplog.records) == 1 and "Traceback" not in caplog.text
    redis.start()
    scheduler.enqueue_periodic_tasks(at("01:31", 5))
    assert _queued(on_redis) == DUE_AT_0130


def test_a_scheduler_that_stops_hands_the_lease_over_at_once(
    on_redis: Settings, engine: Engine
) -> None:
    scheduler = _scheduler(on_redis, "host-a:1")
    scheduler.enqueue_periodic_tasks(at("01:29", 5))
    scheduler.shutdown()
    assert locks.info(engine, SCHEDULER_LEASE).holder is None


def test_serves_in_process_consumer_uses_the_leased_scheduler(
    settings: Settings, tmp_path: Path
) -> None:
    consumer = start_in_process(make_jobs(settings).huey, settings)
    try:
        assert isinstance(consumer._create_scheduler(), LeasedScheduler)  # noqa: SLF001
    finally:
        consumer.stop(graceful=True)
