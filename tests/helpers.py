"""Small builders shared by tests."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from dailypapers.ingest import upsert_records
from dailypapers.sources.arxiv.records import PaperRecord


def record(arxiv_id: str, day: str, **fields: object) -> PaperRecord:
    values: dict[str, object] = {
        "title": f"Paper {arxiv_id}",
        "abstract": f"An abstract about transformers for paper {arxiv_id}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG"],
    }
    values.update(fields)
    return PaperRecord(arxiv_id=arxiv_id, announced_on=date.fromisoformat(day), **values)  # type: ignore[arg-type]


def add_papers(engine: Engine, *records: PaperRecord) -> None:
    upsert_records(engine, records)


class FakeClock:
    """A clock whose sleep() advances time at once, recording each wait (for pacing tests)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(round(seconds, 3))
            self.time += seconds
