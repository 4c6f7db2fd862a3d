"""Background jobs with Huey: the scheduled daily ingest and digests (SQLite queue by default,
Redis to scale).

`dailypapers serve` runs a consumer in-process (unless ``DAILYPAPERS_JOBS_IN_WEB=false``);
`dailypapers worker` runs one on its own. Besides the daily ingest, every few minutes it fetches
papers that were submitted but are not in the database yet, embeds new papers for search by
meaning after each ingest (and every ``EMBED_EVERY_MINUTES``, which also carries a model switch
through), retrains every minute the "For you" models whose signals changed (never in a request),
and at ``DAILYPAPERS_DIGEST_TIME_UTC`` it sends the daily digests (and on Saturdays the
weekly ones); the delivery ledger makes a second consumer or a re-run harmless. Tasks are registered on a Huey
instance built from the settings (nothing is created at import). Several consumers may run: the arXiv lease in the
database makes sure only one of them harvests at a time.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.digest.send import send_digests
from dailypapers.runtime import Runtime
from dailypapers.services.arxiv_client import HarvestError, arxiv_session
from dailypapers.services.embedding import embed_job
from dailypapers.services.harvest import daily_ingest
from dailypapers.services.library import pending_library_ids, resolve_library
from dailypapers.services.recommend import retrain_stale
from dailypapers.services.submissions import pending, resolve_pending
from dailypapers.services.subscriptions import Frequency

log = logging.getLogger(__name__)
RESOLVE_EVERY_MINUTES = 10  # submitted papers the database lacks are fetched within this long
WEEKLY_DIGEST_WEEKDAY = 6  # Saturday (ISO): the week's last announcement day is Friday
EMBED_EVERY_MINUTES = 15  # papers added by other processes are embedded within this long
RETRAIN_EVERY_MINUTES = 1  # "For you" models whose signals changed are retrained within this long


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    ingest: Any  # huey TaskWrapper: call it to queue an ingest now
    resolve_submissions: Any  # fetch pending submissions from arXiv now
    send_digests: Any  # send the daily digests now (call with "weekly" for the weekly ones)
    embed: Any  # embed papers that have no vector under the configured model yet
    retrain: Any  # retrain the "For you" models whose signals changed


def make_jobs(settings: Settings, runtime: Runtime | None = None) -> Jobs:
    """The queue for these settings, with the tasks and their schedules registered.

    ``runtime``: what the tasks keep in memory (the embedding model, the vector index); pass the
    web app's when the consumer runs in the web process, so both use one copy.
    """
    runtime = runtime or Runtime()
    if settings.queue_url.startswith("redis://"):
        huey: Huey = RedisHuey("dailypapers", url=settings.queue_url)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey("dailypapers", filename=str(settings.data_dir / "queue.db"))
    hour, minute = (str(int(part)) for part in settings.ingest_time_utc.split(":"))

    def ingest() -> str:
        engine = make_engine(settings.resolved_database_url)
        try:
            summary = daily_ingest(engine, settings)
        except HarvestError as exc:
            log.warning("scheduled ingest did not run: %s", exc)
            return f"failed: {exc}"
        finally:
            engine.dispose()
        log.info("scheduled ingest: %s", summary.line())
        embed_task()
        return summary.line()

    def resolve_submissions() -> str:
        engine = make_engine(settings.resolved_database_url)
        try:
            resolved = fill_pending_submissions(engine, settings)
            if resolved:
                embed_task()
            return f"{resolved} submissions resolved"
        except HarvestError as exc:
            log.warning("pending submissions not resolved yet: %s", exc)
            return f"failed: {exc}"
        finally:
            engine.dispose()

    def digests(frequency: Frequency = "daily") -> str:
        engine = make_engine(settings.resolved_database_url)
        try:
            report = send_digests(engine, settings, frequency=frequency)
        finally:
            engine.dispose()
        log.info("%s digests: %s", frequency, report.line())
        return report.line()

    def daily_and_weekly_digests() -> str:
        lines = [digests("daily")]
        if dt.datetime.now(dt.UTC).isoweekday() == WEEKLY_DIGEST_WEEKDAY:
            lines.append(digests("weekly"))
        return "; ".join(lines)

    d_hour, d_minute = (str(int(part)) for part in settings.digest_time_utc.split(":"))
    digest_task = huey.task(name="send_digests")(digests)
    huey.periodic_task(crontab(hour=d_hour, minute=d_minute), name="digests")(
        daily_and_weekly_digests
    )

    def embed() -> str:
        return embed_job(settings, runtime)

    embed_task = huey.task(name="embed")(embed)
    huey.periodic_task(crontab(minute=f"*/{EMBED_EVERY_MINUTES}"), name="embed_often")(embed)
    task = huey.task(name="ingest")(ingest)
    huey.periodic_task(crontab(hour=hour, minute=minute), name="daily_ingest")(ingest)
    resolve = huey.task(name="resolve_submissions")(resolve_submissions)
    huey.periodic_task(crontab(minute=f"*/{RESOLVE_EVERY_MINUTES}"), name="resolve_often")(
        resolve_submissions
    )

    def retrain_models() -> str:
        engine = make_engine(settings.resolved_database_url)
        try:
            return f"{retrain_stale(engine, settings)} models retrained"
        finally:
            engine.dispose()

    retrain_task = huey.task(name="retrain_models")(retrain_models)
    huey.periodic_task(crontab(minute=f"*/{RETRAIN_EVERY_MINUTES}"), name="retrain_often")(
        retrain_models
    )
    return Jobs(huey, task, resolve, digest_task, embed_task, retrain_task)


def fill_pending_submissions(engine: Engine, settings: Settings) -> int:
    """Fetch submitted papers, and papers of imported libraries, the database lacks (a no-op,
    without touching arXiv, if none)."""
    with Session(engine) as session:
        submitted, imported = bool(pending(session)), bool(pending_library_ids(session))
    if not (submitted or imported):
        return 0
    with arxiv_session(engine, settings) as client:
        resolved = resolve_pending(engine, settings, client) if submitted else 0
        return resolved + (resolve_library(engine, settings, client) if imported else 0)


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """A consumer that runs beside the web server: leaves the server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        return None


def start_in_process(huey: Huey) -> InProcessConsumer:
    consumer = InProcessConsumer(huey, workers=1, periodic=True)
    consumer.start()
    return consumer
