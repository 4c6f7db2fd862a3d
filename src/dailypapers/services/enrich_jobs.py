"""The background jobs for what papers get beyond arXiv: each opens its own engine, logs one line
and never raises (a job that fails is tried again at its next run)."""

from __future__ import annotations

import datetime as dt
import logging

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.services.arxiv_client import HarvestError
from dailypapers.services.github_stars import refresh_stars
from dailypapers.services.paper_map import update_map
from dailypapers.services.summaries import summarize_pending
from dailypapers.services.thumbnails import make_thumbnails

log = logging.getLogger(__name__)
THUMBNAILS_PER_RUN = 60  # ~3 minutes of the arXiv lease at 3 s a request
QUIET_BEFORE_INGEST = dt.timedelta(minutes=20)


def near_ingest(settings: Settings, now: dt.datetime) -> bool:
    """True in the ``QUIET_BEFORE_INGEST`` before the daily ingest (it needs the arXiv lease)."""
    hour, minute = (int(part) for part in settings.ingest_time_utc.split(":"))
    ingest = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if ingest < now:
        ingest += dt.timedelta(days=1)
    return ingest - now < QUIET_BEFORE_INGEST


def thumbnails_job(settings: Settings, limit: int = THUMBNAILS_PER_RUN) -> str:
    if not settings.thumbnails:
        return "thumbnails are off (DAILYPAPERS_THUMBNAILS=false)"
    engine = make_engine(settings.resolved_database_url)
    try:
        run = make_thumbnails(engine, settings, limit=limit)
    except HarvestError as exc:  # another process holds the arXiv lease: next time
        log.info("thumbnails: %s", exc)
        return f"skipped: {exc}"
    finally:
        engine.dispose()
    if run.made or run.failed or run.stopped:
        log.info("thumbnails: %s", run.line())
    return run.line()


def summaries_job(settings: Settings) -> str:
    engine = make_engine(settings.resolved_database_url)
    try:
        run = summarize_pending(engine)
    finally:
        engine.dispose()
    if run.done:
        log.info("key phrases: %s", run.line())
    return run.line()


def map_job(settings: Settings) -> str:
    engine = make_engine(settings.resolved_database_url)
    try:
        run = update_map(engine, settings)
    except (ValueError, RuntimeError, MemoryError) as exc:  # a layout that cannot be fitted
        log.error("map: %s", exc)
        return f"failed: {exc}"
    finally:
        engine.dispose()
    if run.placed or run.fitted:
        log.info("%s", run.line())
    return run.line()


def stars_job(settings: Settings) -> str:
    engine = make_engine(settings.resolved_database_url)
    try:
        run = refresh_stars(engine, settings)
    finally:
        engine.dispose()
    if run.updated or run.gone or run.errors or run.added:
        log.info("GitHub stars: %s", run.line())
    return run.line()
