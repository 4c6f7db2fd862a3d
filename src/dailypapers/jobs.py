"""Background jobs with Huey: the scheduled daily ingest (SQLite queue by default, Redis to scale).

`dailypapers serve` runs a consumer in-process (unless ``DAILYPAPERS_JOBS_IN_WEB=false``);
`dailypapers worker` runs one on its own. Tasks are registered on a Huey instance built from the
settings (nothing is created at import). Several consumers may run: the arXiv lease in the
database makes sure only one of them harvests at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.services.harvest import HarvestError, daily_ingest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    ingest: Any  # huey TaskWrapper: call it to queue an ingest now


def make_jobs(settings: Settings) -> Jobs:
    """The queue for these settings, with the ingest task and its daily schedule registered."""
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
        return summary.line()

    task = huey.task(name="ingest")(ingest)
    huey.periodic_task(crontab(hour=hour, minute=minute), name="daily_ingest")(ingest)
    return Jobs(huey, task)


class InProcessConsumer(Consumer):  # type: ignore[misc]
    """A consumer that runs beside the web server: leaves the server's signal handlers alone."""

    def _set_signal_handlers(self) -> None:
        return None


def start_in_process(huey: Huey) -> InProcessConsumer:
    consumer = InProcessConsumer(huey, workers=1, periodic=True)
    consumer.start()
    return consumer
