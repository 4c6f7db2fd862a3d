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
