"""Key phrases and the extracted TL;DR of each paper, computed in the background and stored.

A run (the job after each import, ingest or fetch and every 15 minutes; ``dailypapers keyphrases``
in the foreground) takes the papers that have none yet or whose row changed since (a new version:
only a changed title or abstract is done again), newest first, in chunks committed one by one (the
run owns its transactions), so an interrupted run keeps its work. The corpus statistics key
phrases are scored against come from the newest :data:`STATS_SAMPLE` abstracts, read once a run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.db.dialect import dialect_insert
from dailypapers.db.extras import PaperSummary
from dailypapers.db.models import Paper
from dailypapers.embeddings.text import paper_text, text_digest
from dailypapers.enrich.keyphrases import PhraseStats, key_phrases
from dailypapers.enrich.tldr import select_tldr

log = logging.getLogger(__name__)
STATS_SAMPLE = 20_000
CHUNK = 500


@dataclass
class SummaryRun:
    done: int = 0
    unchanged: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.done / self.seconds if self.seconds > 0 else 0.0
        return (
            f"{self.done} papers given key phrases and a TL;DR, {self.unchanged} unchanged, "
            f"in {self.seconds:.1f} s ({rate:.0f}/s)"
        )


def _pending(limit: int):  # type: ignore[no-untyped-def]
    s = PaperSummary
    return (
        select(Paper.id, Paper.title, Paper.abstract, s.text_digest, Paper.modified_at)
        .outerjoin(s, s.paper_id == Paper.id)
        .where(Paper.deleted_at.is_(None))
        .where(s.paper_id.is_(None) | (s.computed_at < Paper.modified_at))
        .order_by(Paper.id.desc())
        .limit(limit)
    )


def count_pending(engine: Engine) -> int:
    with engine.connect() as conn:
        inner = _pending(2**62).subquery()
        return int(conn.scalar(select(func.count()).select_from(inner)) or 0)


def corpus_stats(engine: Engine, sample: int = STATS_SAMPLE) -> PhraseStats:
    """Word document frequencies over the newest ``sample`` papers' titles and abstracts."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Paper.title, Paper.abstract).order_by(Paper.id.desc()).limit(sample)
        )
        return PhraseStats.from_texts(f"{title} {abstract}" for title, abstract in rows)


def summarize_pending(
    engine: Engine,
    *,
    limit: int | None = None,
    stats: PhraseStats | None = None,
    progress: Callable[[int], None] | None = None,
) -> SummaryRun:
    """Compute and store key phrases and TL;DRs for pending papers (at most ``limit``)."""
    run = SummaryRun()
    start = time.monotonic()
    stats = stats or corpus_stats(engine)
    left = limit if limit is not None else 2**62
    while left > 0:
        with Session(engine) as session, session.begin():  # one chunk, one commit
            rows = session.execute(_pending(min(CHUNK, left))).all()
            if not rows:
                break
            values: list[dict[str, Any]] = []
            for paper_id, title, abstract, old_digest, modified_at in rows:
                # computed_at is the row's own modified_at: "done as of this change", on the
                # database's clock and in its format, so the next change compares after it
                digest = text_digest(paper_text(title, abstract))
                if digest == old_digest:
                    run.unchanged += 1
                    values.append(
                        {"paper_id": paper_id, "unchanged": True, "computed_at": modified_at}
                    )
                    continue
                values.append(
                    {
                        "paper_id": paper_id,
                        "keywords": key_phrases(title, abstract, stats),
                        "tldr": select_tldr(title, abstract),
                        "text_digest": digest,
                        "computed_at": modified_at,
                    }
                )
            _store(session, values)
        run.done += sum(1 for v in values if "unchanged" not in v)
        left -= len(rows)
        if progress is not None:
            progress(len(rows))
    run.seconds = time.monotonic() - start
    return run


def _store(session: Session, values: list[dict[str, object]]) -> None:
    now = utcnow()
    same = [v["paper_id"] for v in values if "unchanged" in v]
    if same:  # same text, newer row: only the time moves, so it is not pending again
        for summary in session.scalars(select(PaperSummary).where(PaperSummary.paper_id.in_(same))):
            summary.computed_at = now
    fresh = [v | {"computed_at": now} for v in values if "unchanged" not in v]
    if fresh:
        session.execute(
            delete(PaperSummary).where(PaperSummary.paper_id.in_([v["paper_id"] for v in fresh]))
        )
        session.execute(dialect_insert(session, PaperSummary), fresh)


def summaries_for(session: Session, paper_ids: list[int]) -> dict[int, tuple[list[str], str]]:
    """paper id -> (key phrases, TL;DR) for the papers that have them."""
    found: dict[int, tuple[list[str], str]] = {}
    for start in range(0, len(paper_ids), 900):  # a map asks for 50,000: bounded IN lists
        rows = session.execute(
            select(PaperSummary.paper_id, PaperSummary.keywords, PaperSummary.tldr).where(
                PaperSummary.paper_id.in_(paper_ids[start : start + 900])
            )
        )
        found.update((pid, (list(keywords or []), tldr)) for pid, keywords, tldr in rows)
    return found
