"""A user's imported library (BibTeX, CSL-JSON, a list of arXiv ids): positives for "For you".

:func:`import_library` parses the upload (``sources/library.py``) and stores one
``library_entries`` row per entry, once per user (importing the same file again adds nothing):
``matched`` (the paper is here: a positive at once), ``pending`` (an arXiv id this instance lacks:
fetched in the background like a submission, :func:`resolve_library`), ``unmatched`` (no arXiv
id: kept and listed, never used) and later ``missing`` (arXiv does not know the id). Callers
commit, except :func:`resolve_library` (a job: its own transactions around the arXiv lookup).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.db.models import Paper, User
from dailypapers.db.signals import LibraryEntry
from dailypapers.services.errors import Invalid
from dailypapers.services.harvest import lookup_ids
from dailypapers.services.model_state import signals_changed
from dailypapers.sources.arxiv.http import PoliteClient
from dailypapers.sources.library import LibraryError, LibraryItem, parse_library

MATCHED, PENDING, UNMATCHED, MISSING = "matched", "pending", "unmatched", "missing"
CHUNK = 900  # ids per IN (...) list


@dataclass
class ImportReport:
    format: str
    added: Counter[str] = field(default_factory=Counter)  # status -> new entries
    already: int = 0  # entries the library had before
    skipped: int = 0  # entries that could not be read
    truncated: bool = False
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [f"{self.added[s]} {s}" for s in (MATCHED, PENDING, UNMATCHED) if self.added[s]]
        text = ", ".join(parts) or "nothing new"
        if self.already:
            text += f"; {self.already} already in your library"
        if self.skipped:
            text += f"; {self.skipped} entries could not be read"
        if self.truncated:
            text += "; the file was cut at 20,000 entries"
        return text


def _paper_ids(session: Session, arxiv_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(arxiv_ids), CHUNK):
        part = arxiv_ids[start : start + CHUNK]
        rows = session.execute(select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(part)))
        found.update((arxiv_id, paper_id) for arxiv_id, paper_id in rows)
    return found


def import_library(
    session: Session, user: User, data: bytes, filename: str = "", *, now: datetime | None = None
) -> ImportReport:
    """Add the entries of an uploaded library; a file that is not a library is :class:`Invalid`
    (one sentence), a broken entry is skipped and counted."""
    try:
        parsed = parse_library(data, filename)
    except LibraryError as exc:
        raise Invalid(str(exc)) from None
    report = ImportReport(parsed.format, skipped=parsed.skipped, truncated=parsed.truncated)
    report.problems = parsed.problems[:5]
    unique: dict[str, LibraryItem] = {}
    for item in parsed.items:
        unique.setdefault(item.key, item)
    keys = list(unique)
    have: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        have.update(
            session.scalars(
                select(LibraryEntry.key).where(
                    LibraryEntry.user_id == user.id, LibraryEntry.key.in_(part)
                )
            )
        )
    report.already = len(have)
    new = [item for key, item in unique.items() if key not in have]
    papers = _paper_ids(session, sorted({i.arxiv_id for i in new if i.arxiv_id}))
    moment = now or utcnow()
    rows = []
    for item in new:
        paper_id = papers.get(item.arxiv_id) if item.arxiv_id else None
        status = MATCHED if paper_id else PENDING if item.arxiv_id else UNMATCHED
        report.added[status] += 1
        rows.append(
            {
                "user_id": user.id,
                "key": item.key,
                "arxiv_id": item.arxiv_id,
                "paper_id": paper_id,
                "title": item.title,
                "doi": item.doi,
                "status": status,
                "source": parsed.format,
                "created_at": moment,
            }
        )
    for start in range(0, len(rows), 1000):
        session.execute(insert(LibraryEntry), rows[start : start + 1000])
    if report.added[MATCHED]:
        signals_changed(session, user.id)
    return report


def library_counts(session: Session, user: User) -> dict[str, int]:
    rows = session.execute(
        select(LibraryEntry.status, func.count())
        .where(LibraryEntry.user_id == user.id)
        .group_by(LibraryEntry.status)
    )
    return {status: int(n) for status, n in rows}


def library_entries(
    session: Session, user: User, statuses: tuple[str, ...], *, limit: int = 200
) -> list[LibraryEntry]:
    """Entries of these statuses (the page lists the unmatched and pending ones), newest first."""
    return list(
        session.scalars(
            select(LibraryEntry)
            .where(LibraryEntry.user_id == user.id, LibraryEntry.status.in_(statuses))
            .order_by(LibraryEntry.created_at.desc(), LibraryEntry.id.desc())
            .limit(limit)
        )
    )


def clear_library(session: Session, user: User) -> int:
    """Remove every imported entry; how many."""
    removed = session.execute(
        delete(LibraryEntry)
        .where(LibraryEntry.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    count = int(removed.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        signals_changed(session, user.id)
    return count


def pending_library_ids(session: Session) -> list[str]:
    return sorted(
        session.scalars(
            select(LibraryEntry.arxiv_id).where(LibraryEntry.status == PENDING).distinct()
        )
    )


def resolve_library(engine: Engine, settings: Settings, client: PoliteClient) -> int:
    """Fetch the pending entries' papers from arXiv and match them (entries of ids arXiv does not
    know become ``missing``); how many entries were settled."""
    with Session(engine) as session:
        wanted = pending_library_ids(session)
        known = _paper_ids(session, wanted)
    unknown = [i for i in wanted if i not in known]
    missing: list[str] = []
    if unknown:
        _, missing = lookup_ids(engine, client, settings, unknown)
    with Session(engine) as session, session.begin():  # after the lookup committed its papers
        papers = _paper_ids(session, wanted)
        settled = 0
        users: set[int] = set()
        for arxiv_id, paper_id in papers.items():
            result = session.execute(
                update(LibraryEntry)
                .where(LibraryEntry.arxiv_id == arxiv_id, LibraryEntry.status == PENDING)
                .values(status=MATCHED, paper_id=paper_id)
                .returning(LibraryEntry.user_id)
            )
            found = list(result.scalars())
            settled += len(found)
            users.update(found)
        for start in range(0, len(missing), CHUNK):
            result = session.execute(
                update(LibraryEntry)
                .where(
                    LibraryEntry.arxiv_id.in_(missing[start : start + CHUNK]),
                    LibraryEntry.status == PENDING,
                )
                .values(status=MISSING)
            )
            settled += int(result.rowcount or 0)  # type: ignore[attr-defined]
        for user_id in users:
            signals_changed(session, user_id)
    return settled
