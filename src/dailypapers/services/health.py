"""What an operator asks of a running instance (``/readyz``, ``/metrics``): is the database there,
how far behind arXiv are we, how many papers wait for a vector, how the latest digests went.

Each function opens its own short connection on the engine and reads; nothing writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, func, select, text

from dailypapers.db.models import DigestDelivery, IngestState, Paper
from dailypapers.embeddings.store import count_pending


def check_database(engine: Engine) -> None:
    """Raise when the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@dataclass(frozen=True)
class IngestLag:
    checkpoint_at: datetime | None  # newest committed harvest page or finished run (UTC)
    newest_day: date | None  # newest announcement day among the papers

    def checkpoint_age_s(self, now: datetime) -> float | None:
        if self.checkpoint_at is None:
            return None
        return (now - self.checkpoint_at.replace(tzinfo=UTC)).total_seconds()

    def newest_paper_age_s(self, now: datetime) -> float | None:
        if self.newest_day is None:
            return None
        start = datetime(
            self.newest_day.year, self.newest_day.month, self.newest_day.day, tzinfo=UTC
        )
        return (now - start).total_seconds()


def ingest_lag(engine: Engine) -> IngestLag:
    with engine.connect() as conn:
        checkpoint = conn.scalar(select(func.max(IngestState.updated_at)))
        newest = conn.scalar(select(func.max(Paper.announced_on)).where(Paper.deleted_at.is_(None)))
    return IngestLag(checkpoint, newest)


def embedding_backlog(engine: Engine, model: str) -> int:
    """Live papers without a current vector under ``model`` (the one that serves)."""
    return count_pending(engine, model)


def latest_digest_counts(engine: Engine) -> dict[tuple[str, str], dict[str, int]]:
    """Ledger rows by status for the newest daily and the newest weekly period:
    ``{("daily", "day:2025-06-20"): {"sent": 998, "sending": 1, ...}, ...}``."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    with engine.connect() as conn:
        for frequency, prefix in (("daily", "day:"), ("weekly", "week:")):
            key = conn.scalar(
                select(func.max(DigestDelivery.period_key)).where(
                    DigestDelivery.period_key.startswith(prefix)
                )
            )
            if key is None:
                continue
            rows = conn.execute(
                select(DigestDelivery.status, func.count())
                .where(DigestDelivery.period_key == key)
                .group_by(DigestDelivery.status)
            )
            found[(frequency, key)] = {status: int(n) for status, n in rows}
    return found
