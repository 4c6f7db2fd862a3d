"""The jobs: the scheduled daily ingest, pending submissions, digests, embedding, what papers get
beyond arXiv, and recovery.

Tasks are registered on a Huey instance built from the settings (nothing is created at import).
Besides the daily ingest (followed by thumbnails; a bounded batch of them every
``THUMBNAILS_EVERY_MINUTES`` too, never in the 20 minutes before the ingest, which needs the arXiv
lease), GitHub stars hourly (each repository once a day; a run stopped by the rate limit resumes
after the reset), every few minutes a job fetches papers that were submitted but are not in the
database yet, embeds new papers after each ingest (and every ``EMBED_EVERY_MINUTES``, which also
carries a model switch through) followed by key phrases and the map, every 5 minutes it keeps the recent papers' tf-idf
index current and retrains the "For you" models whose signals or features changed (never in a
request), and at
``DAILYPAPERS_DIGEST_TIME_UTC`` it sends the daily digests (and on Saturdays the weekly ones). Any number of consumers may run: periodic tasks are
enqueued once per instance (:mod:`dailypapers.jobs.consumer`), the arXiv lease lets one of them
harvest at a time, and each run of the ingest, embedding and digests holds a run lease, so one
whose worker died is run again by ``recover`` (:mod:`dailypapers.jobs.runs`).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from huey import Huey, crontab
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.digest.send import send_digests
from dailypapers.jobs.queue import enqueue, make_huey
from dailypapers.jobs.runs import RECOVER_EVERY_MINUTES, job_run, recover
from dailypapers.runtime import Runtime
from dailypapers.services.arxiv_client import HarvestError, LockHeld, arxiv_session
from dailypapers.services.embedding import embed_job
from dailypapers.services.enrich_jobs import (
    map_job,
    near_ingest,
    stars_job,
    summaries_job,
    thumbnails_job,
)
from dailypapers.services.feeds import latest_day
from dailypapers.services.harvest import daily_ingest
from dailypapers.services.library import pending_library_ids, resolve_library
from dailypapers.services.retrain import retrain_stale
from dailypapers.services.submissions import pending, resolve_pending
from dailypapers.services.subscriptions import Frequency
from dailypapers.services.terms import refresh_term_index

log = logging.getLogger(__name__)
RESOLVE_EVERY_MINUTES = 10  # submitted papers the database lacks are fetched within this long
WEEKLY_DIGEST_WEEKDAY = 6  # Saturday (ISO): the week's last announcement day is Friday
EMBED_EVERY_MINUTES = 15  # papers added by other processes are embedded within this long
THUMBNAILS_EVERY_MINUTES = 10  # a bounded batch each time, so the arXiv lease is never held long
RETRAIN_EVERY_MINUTES = 5  # "For you" models whose signals changed are retrained within this long


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    ingest: Any  # huey TaskWrapper: call it to queue an ingest now
    resolve_submissions: Any  # fetch pending submissions from arXiv now
    send_digests: Any  # send the daily digests now (call with "weekly" for the weekly ones)
    embed: Any  # embed papers that have no vector under the configured model yet
    thumbnails: Any  # thumbnails of the newest papers that have none
    stars: Any  # refresh the GitHub stars that are due
    recover: Any  # run again the jobs whose worker died
    retrain: Any  # retrain the "For you" models whose signals changed


def make_jobs(settings: Settings, runtime: Runtime | None = None) -> Jobs:
    """The queue for these settings, with the tasks and their schedules registered.

    ``runtime``: what the tasks keep in memory (the embedding model, the vector index); pass the
    web app's when the consumer runs in the web process, so both use one copy.
    """
    runtime = runtime or Runtime()
    huey = make_huey(settings)
    runs = _Runs(settings, runtime)
    hour, minute = (str(int(part)) for part in settings.ingest_time_utc.split(":"))
    d_hour, d_minute = (str(int(part)) for part in settings.digest_time_utc.split(":"))

    def ingest() -> str:
        line = runs.run("ingest")
        enqueue(embed_task, "embedding", later=f"it runs within {EMBED_EVERY_MINUTES} minutes")
        enqueue(thumbnails_task, "thumbnails", later=f"within {THUMBNAILS_EVERY_MINUTES} minutes")
        return line

    def embed() -> str:
        return runs.run("embed")

    def thumbnails() -> str:
        if near_ingest(settings, dt.datetime.now(dt.UTC)):
            return "skipped: the daily ingest is about to take the arXiv lease"
        return thumbnails_job(settings)

    def stars() -> str:
        return stars_job(settings)

    def digests(frequency: Frequency = "daily") -> str:
        return runs.digests(frequency)

    def daily_and_weekly_digests() -> str:
        lines = [runs.digests("daily")]
        if dt.datetime.now(dt.UTC).isoweekday() == WEEKLY_DIGEST_WEEKDAY:
            lines.append(runs.digests("weekly"))
        return "; ".join(lines)

    def resolve_submissions() -> str:
        return runs.resolve_submissions(embed_task)

    def recover_runs() -> str:
        with _engine(settings) as engine:
            return "; ".join(recover(engine, runs.runners())) or "nothing to recover"

    digest_task = huey.task(name="send_digests")(digests)
    huey.periodic_task(crontab(hour=d_hour, minute=d_minute), name="digests")(
        daily_and_weekly_digests
    )
    embed_task = huey.task(name="embed")(embed)
    huey.periodic_task(crontab(minute=f"*/{EMBED_EVERY_MINUTES}"), name="embed_often")(embed)
    thumbnails_task = huey.task(name="thumbnails")(thumbnails)
    huey.periodic_task(crontab(minute=f"*/{THUMBNAILS_EVERY_MINUTES}"), name="thumbnails_often")(
        thumbnails
    )
    stars_task = huey.task(name="stars")(stars)
    # hourly: each repository is due once a day; a run paused by the rate limit resumes here
    huey.periodic_task(crontab(minute="45"), name="stars_hourly")(stars)
    task = huey.task(name="ingest")(ingest)
    huey.periodic_task(crontab(hour=hour, minute=minute), name="daily_ingest")(ingest)
    resolve = huey.task(name="resolve_submissions")(resolve_submissions)
    huey.periodic_task(crontab(minute=f"*/{RESOLVE_EVERY_MINUTES}"), name="resolve_often")(
        resolve_submissions
    )
    recover_task = huey.task(name="recover")(recover_runs)
    huey.periodic_task(crontab(minute=f"*/{RECOVER_EVERY_MINUTES}"), name="recover_often")(
        recover_runs
    )

    def retrain_models() -> str:
        with _engine(settings) as engine:
            terms = refresh_term_index(engine)  # first: a new vocabulary retrains the models
            return f"{terms}; {retrain_stale(engine, settings)} models retrained"

    retrain_task = huey.task(name="retrain_models")(retrain_models)
    huey.periodic_task(crontab(minute=f"*/{RETRAIN_EVERY_MINUTES}"), name="retrain_often")(
        retrain_models
    )
    return Jobs(
        huey,
        task,
        resolve,
        digest_task,
        embed_task,
        thumbnails_task,
        stars_task,
        recover_task,
        retrain_task,
    )


class _engine:
    """An engine for one job run (jobs run in threads of any consumer; nothing is shared)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings.resolved_database_url)

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()


class _Runs:
    """The bodies of the jobs, each under its run lease (``job:NAME``), runnable by name so that
    ``recover`` can run a lapsed one again."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.runtime = runtime

    def runners(self) -> dict[str, Any]:
        return {"ingest": self.run, "embed": self.run, "digests": self.run}

    def run(self, name: str) -> str:
        kind, _, rest = name.partition(":")
        with _engine(self.settings) as engine, job_run(engine, name) as run:
            if run is None:
                log.info("%s: already running in another worker; nothing to do", name)
                return f"{name}: already running elsewhere"
            if kind == "ingest":
                line, finished = self._ingest(engine)
            elif kind == "embed":
                line, finished = embed_job(self.settings, self.runtime)
                summaries_job(self.settings)  # key phrases and TL;DRs of what arrived, then the map
                map_job(self.settings)
            else:
                frequency, _, day = rest.partition(":")
                line, finished = self._digests(engine, frequency, dt.date.fromisoformat(day))
            if not finished:
                run.again()
            return line

    def _ingest(self, engine: Engine) -> tuple[str, bool]:
        try:
            summary = daily_ingest(engine, self.settings)
        except HarvestError as exc:
            log.warning("scheduled ingest did not run: %s", exc)
            return f"failed: {exc}", False
        log.info("scheduled ingest: %s", summary.line())
        return summary.line(), True

    def digests(self, frequency: str) -> str:
        """The digests of the newest announcement day (or its week); the day is fixed in the run's
        name, so a run taken up again after a crash sends the same period."""
        with _engine(self.settings) as engine, Session(engine) as session:
            day = latest_day(session)
        if day is None:
            return "no papers in the database yet: no digests to send"
        return self.run(f"digests:{frequency}:{day.isoformat()}")

    def _digests(self, engine: Engine, frequency: str, day: dt.date) -> tuple[str, bool]:
        freq: Frequency = "weekly" if frequency == "weekly" else "daily"
        report = send_digests(engine, self.settings, frequency=freq, day=day)
        log.info("%s digests: %s", frequency, report.line())
        return report.line(), not report.stopped

    def resolve_submissions(self, embed_task: Any) -> str:
        with _engine(self.settings) as engine:
            try:
                resolved = fill_pending_submissions(engine, self.settings)
            except LockHeld as exc:
                log.info("pending submissions wait: %s", exc)
                return f"not yet: {exc}"
            except HarvestError as exc:
                log.warning("pending submissions not resolved yet: %s", exc)
                return f"failed: {exc}"
        if resolved:
            log.info("pending submissions: %d resolved", resolved)
            enqueue(embed_task, "embedding", later=f"it runs within {EMBED_EVERY_MINUTES} minutes")
        return f"{resolved} submissions resolved"


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
