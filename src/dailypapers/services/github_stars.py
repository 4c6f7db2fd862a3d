"""GitHub stars of the repositories papers link to, refreshed daily through GitHub's REST API.

A run (the daily job, ``dailypapers stars``) first adds a row for every GitHub repository a paper
links to that has none, then asks GitHub about the repositories that are due, oldest first:

- 200: stars, GitHub's current name (a renamed repository's redirect is followed and the new name
  kept) and the ETag; next due in a day. 304 (unchanged, sent for our ETag): next due in a day.
- 404 / 410 / 451: ``gone``, never asked again.
- a malformed answer, a 5xx, no answer: ``error``, asked again after 2, 4, 8 ... days (at most
  :data:`MAX_ERROR_PAUSE_DAYS`), so a broken repository never costs a request a day.
- the rate limit used up (``X-RateLimit-Remaining: 0``, a 403/429, a ``Retry-After``): the run
  stops and records a pause until the reset (``service_pauses``); every run before then returns
  at once, and the next one after it carries on with the repositories still due.

Each answer is committed at once (the job owns its transactions), so nothing done is lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.dialect import insert_ignore
from dailypapers.db.extras import GithubRepo, ServicePause
from dailypapers.db.models import Paper
from dailypapers.sources.github import GithubClient, RepoAnswer, repo_name

log = logging.getLogger(__name__)
PAUSE = "github"
REFRESH = timedelta(hours=20)  # "daily", with room for the daily run's own drift
MAX_ERROR_PAUSE_DAYS = 32


@dataclass
class StarsRun:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0
    errors: int = 0
    paused_until: datetime | None = None

    def line(self) -> str:
        text = (
            f"{self.added} repositories added; {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.gone} gone, {self.errors} failed"
        )
        if self.paused_until is not None:
            text += f"; GitHub's rate limit: paused until {self.paused_until:%Y-%m-%d %H:%M} UTC"
        return text


def add_linked_repos(session: Session, now: datetime | None = None) -> int:
    """A row (due now) for each GitHub repository a paper links to and that has none yet; callers
    commit."""
    now = now or utcnow()
    known = set(session.scalars(select(GithubRepo.name)))
    links = session.scalars(
        select(Paper.code_url).where(func.lower(Paper.code_url).like("%github.com/%")).distinct()
    )
    added = 0
    for name in {repo_name(url) for url in links} - known - {None}:
        assert name is not None
        added += insert_ignore(
            session, GithubRepo, name=name, full_name=name, status="new", errors=0, due_at=now
        )
    return added


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _epoch(moment: datetime) -> float:
    return moment.replace(tzinfo=UTC).timestamp()


def paused_until(session: Session, now: datetime | None = None) -> datetime | None:
    pause = session.get(ServicePause, PAUSE)
    now = now or utcnow()
    return pause.until if pause is not None and pause.until > now else None


def _pause(session: Session, until: datetime, reason: str) -> None:
    pause = session.get(ServicePause, PAUSE)
    if pause is None:
        session.add(ServicePause(name=PAUSE, until=until, reason=reason))
    else:
        pause.until, pause.reason = until, reason


def apply_answer(repo: GithubRepo, answer: RepoAnswer, now: datetime) -> str:
    """Update one repository's row from GitHub's answer; the outcome's name."""
    repo.checked_at = now
    if answer.kind == "ok":
        assert answer.full_name is not None
        if answer.full_name.lower() != repo.full_name.lower():
            log.info("GitHub repository %s is now %s", repo.full_name, answer.full_name)
        repo.full_name, repo.stars, repo.etag = answer.full_name, answer.stars, answer.etag
        repo.status, repo.errors, repo.error, repo.due_at = "ok", 0, None, now + REFRESH
        return "updated"
    if answer.kind == "unchanged":
        repo.status, repo.errors, repo.error, repo.due_at = "ok", 0, None, now + REFRESH
        repo.etag = answer.etag or repo.etag
        return "unchanged"
    if answer.kind == "gone":
        log.info("GitHub repository %s: %s; not asked again", repo.full_name, answer.message)
        repo.status, repo.error, repo.stars = "gone", answer.message, None
        return "gone"
    repo.errors += 1
    days = min(2**repo.errors, MAX_ERROR_PAUSE_DAYS)
    log.warning(
        "GitHub repository %s: %s; asking again in %d days", repo.full_name, answer.message, days
    )
    repo.status, repo.error, repo.due_at = "error", answer.message, now + timedelta(days=days)
    return "errors"


def refresh_stars(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    client: GithubClient | None = None,
    now: datetime | None = None,
) -> StarsRun:
    """Add newly linked repositories, then refresh the due ones (at most ``limit``)."""
    run = StarsRun()
    now = now or utcnow()
    with Session(engine) as session, session.begin():
        run.added = add_linked_repos(session, now)
        run.paused_until = paused_until(session, now)
    if run.paused_until is not None:
        return run
    with Session(engine) as session:
        due = list(
            session.scalars(
                select(GithubRepo.name)
                .where(GithubRepo.status != "gone", GithubRepo.due_at <= now)
                .order_by(GithubRepo.due_at, GithubRepo.name)
                .limit(limit)
            )
        )
    own = client is None
    client = client or GithubClient(
        settings.github_api_url, token=settings.github_token, user_agent=settings.user_agent
    )
    try:
        for name in due:
            if _ask(engine, client, name, run, now):
                break
    finally:
        if own:
            client.close()
    return run


def _ask(engine: Engine, client: GithubClient, name: str, run: StarsRun, now: datetime) -> bool:
    """Ask about one repository and commit what came back; True when the run must stop."""
    with Session(engine) as session, session.begin():
        repo = session.get(GithubRepo, name)
        if repo is None:
            return False
        answer = client.repo(repo.full_name, repo.etag)
        if answer.kind == "limited":
            until = _utc(answer.reset_at or _epoch(now) + 3600)
            until = max(until, now + timedelta(seconds=1))
            _pause(session, until, answer.message)
            log.warning("GitHub: %s; stopping until %s UTC", answer.message, f"{until:%H:%M}")
            run.paused_until = until
            return True
        outcome = apply_answer(repo, answer, now)
        setattr(run, outcome, getattr(run, outcome) + 1)
        if answer.remaining == 0 and answer.reset_at is not None:  # that was the last one
            until = _utc(answer.reset_at)
            _pause(session, until, "rate limit used up")
            run.paused_until = until
            return True
    return False


def stars_for(session: Session, code_urls: dict[int, str | None]) -> dict[int, tuple[int, str]]:
    """paper id -> (stars, GitHub's current ``owner/repo``) for the papers whose code link is a
    GitHub repository with a known star count."""
    names = {paper_id: repo_name(url) for paper_id, url in code_urls.items()}
    wanted = {name for name in names.values() if name}
    if not wanted:
        return {}
    rows = session.execute(
        select(GithubRepo.name, GithubRepo.stars, GithubRepo.full_name).where(
            GithubRepo.name.in_(wanted), GithubRepo.status == "ok", GithubRepo.stars.is_not(None)
        )
    )
    found = {name: (int(stars or 0), full) for name, stars, full in rows}
    return {pid: found[name] for pid, name in names.items() if name in found}
