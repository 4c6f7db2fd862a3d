"""Thumbnails: page 1 of each paper's PDF, fetched through the polite arXiv client (the ``arxiv``
lease and its pacing, like everything else that talks to arXiv), rendered to a small WebP in
``data_dir/thumbnails/`` (named by arXiv id and version, so a new version gets a new file and a
cached one never goes stale). The PDF itself is never written anywhere.

Every outcome is recorded per paper (``paper_thumbnails``), so nothing is asked twice in vain:
a PDF that is too big, not a PDF (an HTML page), password-protected or broken is ``failed`` with
its reason and never fetched again for that version; arXiv not answering is ``retry``, tried again
by a later run at most :data:`MAX_ATTEMPTS` times in all. A run commits after each paper (the job
owns its transactions), so an interrupted run keeps what it did.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, delete, or_, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.extras import PaperThumbnail
from dailypapers.db.models import Paper
from dailypapers.enrich.thumbnail import NotRenderable, render_first_page
from dailypapers.services.arxiv_client import HarvestError, arxiv_session
from dailypapers.sources.arxiv.http import ArxivUnavailable, PoliteClient, TooLarge

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # arXiv not answering: tried again by later runs, this many times in all
RETRY_AFTER = timedelta(hours=1)
OK, FAILED, RETRY = "ok", "failed", "retry"


@dataclass
class ThumbnailRun:
    made: int = 0
    failed: int = 0
    deferred: int = 0
    stopped: str = ""  # why the run ended early (arXiv down, lease taken)

    def line(self) -> str:
        text = f"{self.made} thumbnails made, {self.failed} skipped, {self.deferred} to retry"
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


def thumbnail_dir(settings: Settings) -> Path:
    return settings.data_dir / "thumbnails"


def file_name(arxiv_id: str, version: int | None) -> str:
    """``2506/2506.21551v2.webp``; old-style ids keep their archive: ``hep-th/hep-th_9901001v1``."""
    safe = arxiv_id.replace("/", "_")
    folder = arxiv_id.split("/", 1)[0] if "/" in arxiv_id else arxiv_id[:4]
    return f"{folder}/{safe}v{version or 1}.webp"


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*/[A-Za-z0-9][A-Za-z0-9._-]*v\d+\.webp$")


def pending(session: Session, limit: int) -> list[tuple[int, str, int]]:
    """(paper id, arXiv id, version) of papers to do, newest first: no thumbnail yet, a newer
    version than the one tried, or a retry whose pause is over."""
    version = Paper.version.is_(None) | (Paper.version != PaperThumbnail.version)
    due = and_(
        PaperThumbnail.status == RETRY,
        PaperThumbnail.attempts < MAX_ATTEMPTS,
        PaperThumbnail.updated_at < utcnow() - RETRY_AFTER,
    )
    rows = session.execute(
        select(Paper.id, Paper.arxiv_id, Paper.version)
        .outerjoin(PaperThumbnail, PaperThumbnail.paper_id == Paper.id)
        .where(
            Paper.deleted_at.is_(None),
            or_(PaperThumbnail.paper_id.is_(None), and_(Paper.version.is_not(None), version), due),
        )
        .order_by(Paper.announced_on.desc(), Paper.arxiv_id.desc())
        .limit(limit)
    ).all()
    return [(paper_id, arxiv_id, version or 1) for paper_id, arxiv_id, version in rows]


def _record(
    engine: Engine,
    paper_id: int,
    version: int,
    status: str,
    *,
    file: str | None = None,
    reason: str | None = None,
) -> str | None:
    """Store a paper's outcome; the file name of the thumbnail it had before, if any."""
    with Session(engine) as session, session.begin():  # one paper, one commit: the job's own
        old = session.get(PaperThumbnail, paper_id)
        attempts = (old.attempts if old is not None and old.version == version else 0) + 1
        if status == RETRY and attempts >= MAX_ATTEMPTS:
            status, reason = FAILED, f"{reason}; gave up after {attempts} tries"
        session.execute(delete(PaperThumbnail).where(PaperThumbnail.paper_id == paper_id))
        session.add(
            PaperThumbnail(
                paper_id=paper_id,
                version=version,
                status=status,
                file=file,
                attempts=attempts,
                reason=reason,
                updated_at=utcnow(),
            )
        )
        return old.file if old is not None else None


def _save(folder: Path, name: str, data: bytes) -> None:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)  # readers never see half a file


def thumbnail_one(
    engine: Engine, settings: Settings, client: PoliteClient, paper: tuple[int, str, int]
) -> str:
    """Fetch, render and record one paper's thumbnail; the status it got."""
    paper_id, arxiv_id, version = paper
    url = f"{settings.arxiv_pdf_url.rstrip('/')}/{arxiv_id}v{version}"
    limit = int(settings.thumbnail_max_mb * 1_000_000)
    try:
        answer = client.download(url, max_bytes=limit)
        if answer.status >= 400:
            raise NotRenderable(f"arXiv answered HTTP {answer.status} for the PDF")
        image, _width, _height = render_first_page(answer.body)
    except TooLarge as exc:
        return _failed(engine, paper, f"the PDF is too large ({exc})")
    except NotRenderable as exc:
        return _failed(engine, paper, str(exc))
    except ArxivUnavailable as exc:
        log.warning("thumbnail of %s: arXiv did not answer (%s); will retry", arxiv_id, exc)
        _record(engine, paper_id, version, RETRY, reason=str(exc))
        raise
    name = file_name(arxiv_id, version)
    _save(thumbnail_dir(settings), name, image)
    previous = _record(engine, paper_id, version, OK, file=name)
    if previous and previous != name and FILE_NAME.match(previous):
        (thumbnail_dir(settings) / previous).unlink(missing_ok=True)  # an older version's
    return OK


def _failed(engine: Engine, paper: tuple[int, str, int], reason: str) -> str:
    log.warning("thumbnail of %sv%s skipped for good: %s", paper[1], paper[2], reason)
    _record(engine, paper[0], paper[2], FAILED, reason=reason)
    return FAILED


def make_thumbnails(
    engine: Engine,
    settings: Settings,
    *,
    limit: int = 100,
    transport: object = None,
    progress: Callable[[int], None] | None = None,
) -> ThumbnailRun:
    """Thumbnails for up to ``limit`` papers, newest first, under the arXiv lease (raises
    ``LockHeld`` when another process holds it). Stops early, keeping what it did, when arXiv
    stops answering or the lease is lost."""
    run = ThumbnailRun()
    with Session(engine) as session:
        todo = pending(session, limit)
    if not todo:
        return run
    with arxiv_session(engine, settings, transport=transport) as client:
        for paper in todo:
            try:
                status = thumbnail_one(engine, settings, client, paper)
            except ArxivUnavailable as exc:
                run.deferred += 1
                run.stopped = str(exc)
                break
            except HarvestError as exc:
                run.stopped = str(exc)
                break
            run.made += status == OK
            run.failed += status == FAILED
            if progress is not None:
                progress(1)
    return run


def thumbnail_files(session: Session, paper_ids: list[int]) -> dict[int, str]:
    """paper id -> thumbnail file name (relative to the thumbnails folder), for those that have one."""
    if not paper_ids:
        return {}
    rows = session.execute(
        select(PaperThumbnail.paper_id, PaperThumbnail.file).where(
            PaperThumbnail.paper_id.in_(paper_ids), PaperThumbnail.status == OK
        )
    )
    return {paper_id: name for paper_id, name in rows if name}
