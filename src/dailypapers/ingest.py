"""Idempotent upsert of normalised paper records: one row per arXiv id, holding the latest version.

Every source (listing files, the bulk snapshot, later arXiv's own services) funnels through
:func:`upsert_records`. Re-importing the same data changes nothing; a newer version of a paper updates
its row in place; a paper keeps the earliest announce date it was seen with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update

from dailypapers.db import keyword_index
from dailypapers.db.models import Paper, PaperCategory
from dailypapers.sources.arxiv.records import PaperRecord

BATCH_SIZE = 1000
_PAPERS = Paper.__table__
_CATEGORIES = PaperCategory.__table__
# Columns a source may not know: keep what the database has when the new record lacks them.
_KEEP_IF_MISSING = ("published", "journal_ref", "doi", "license", "code_url", "project_url")
_COMPARED = (
    "version",
    "title",
    "abstract",
    "authors",
    "categories",
    "primary_category",
    "published",
    "updated",
    "announced_on",
    "comment",
    "journal_ref",
    "doi",
    "license",
    "code_url",
    "project_url",
)


@dataclass
class ImportCounts:
    """What one import did: new rows, rows changed in place, rows already up to date, bad lines."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0

    def add(self, other: ImportCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.skipped += other.skipped

    @property
    def total(self) -> int:
        return self.new + self.updated + self.unchanged


def record_to_row(record: PaperRecord) -> dict[str, Any]:
    """The ``papers`` columns for a record (``updated`` defaults to the announce date)."""
    return {
        "arxiv_id": record.arxiv_id,
        "version": record.version,
        "title": record.title,
        "abstract": record.abstract,
        "authors": record.authors,
        "categories": " ".join(record.categories),
        "primary_category": record.primary_category,
        "published": record.published,
        "updated": record.updated or record.announced_on,
        "announced_on": record.announced_on,
        "comment": record.comment,
        "journal_ref": record.journal_ref,
        "doi": record.doi,
        "license": record.license,
        "code_url": record.code_url,
        "project_url": record.project_url,
    }


def _is_newer(incoming: dict[str, Any], stored: dict[str, Any]) -> bool:
    """Does the incoming record describe a newer (or the same, re-edited) version than the row?"""
    new_v, old_v = incoming["version"], stored["version"]
    if new_v is not None and old_v is not None and new_v != old_v:
        return bool(new_v > old_v)
    new_u: date | None = incoming["updated"]
    old_u: date | None = stored["updated"]
    return old_u is None or (new_u is not None and new_u >= old_u)


def merge_row(incoming: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The row to store given the stored row and an incoming record's row (pure)."""
    if _is_newer(incoming, stored):
        merged = dict(incoming)
        for column in _KEEP_IF_MISSING:
            if merged[column] is None:
                merged[column] = stored[column]
        if merged["version"] is None:
            merged["version"] = stored["version"]
    else:
        merged = {column: stored[column] for column in _COMPARED}
        merged["arxiv_id"] = stored["arxiv_id"]
    merged["announced_on"] = min(incoming["announced_on"], stored["announced_on"])
    return merged


def _changed(merged: dict[str, Any], stored: dict[str, Any]) -> bool:
    return any(merged[column] != stored[column] for column in _COMPARED)


def _dedupe(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Collapse repeats of one id inside a batch with the same rule as against the database."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in rows:
        previous = by_id.get(row["arxiv_id"])
        by_id[row["arxiv_id"]] = row if previous is None else merge_row(row, previous)
    return by_id


def _category_rows(paper_id: int, categories: str) -> list[dict[str, Any]]:
    return [{"paper_id": paper_id, "category": c} for c in dict.fromkeys(categories.split())]


def upsert_batch(conn: Connection, records: Sequence[PaperRecord]) -> ImportCounts:
    """Upsert one batch inside the caller's transaction."""
    counts = ImportCounts()
    incoming = _dedupe(record_to_row(r) for r in records)
    counts.unchanged += len(records) - len(incoming)
    stored = {
        row["arxiv_id"]: row
        for row in conn.execute(
            select(_PAPERS.c.id, *(_PAPERS.c[c] for c in ("arxiv_id", *_COMPARED))).where(
                _PAPERS.c.arxiv_id.in_(list(incoming))
            )
        ).mappings()
    }
    new_rows = [row for key, row in incoming.items() if key not in stored]
    changed: list[dict[str, Any]] = []
    for key, old in stored.items():
        merged = merge_row(incoming[key], dict(old))
        if _changed(merged, dict(old)):
            changed.append({**merged, "row_id": old["id"], "old_categories": old["categories"]})
        else:
            counts.unchanged += 1
    if new_rows:
        conn.execute(insert(_PAPERS), new_rows)
        ids = conn.execute(
            select(_PAPERS.c.id, _PAPERS.c.categories).where(
                _PAPERS.c.arxiv_id.in_([r["arxiv_id"] for r in new_rows])
            )
        ).all()
        category_rows = [c for pid, cats in ids for c in _category_rows(pid, cats)]
        if category_rows:
            conn.execute(insert(_CATEGORIES), category_rows)
        keyword_index.index(conn, [pid for pid, _ in ids])
        counts.new += len(new_rows)
    if changed:
        _apply_updates(conn, changed)
        counts.updated += len(changed)
    return counts


def _apply_updates(conn: Connection, changed: list[dict[str, Any]]) -> None:
    values = {column: bindparam(column) for column in _COMPARED}
    row_ids = [row["row_id"] for row in changed]
    keyword_index.unindex(conn, row_ids)
    conn.execute(
        update(_PAPERS)
        .where(_PAPERS.c.id == bindparam("row_id"))
        .values(**values, modified_at=bindparam("now")),
        [{**row, "now": _now()} for row in changed],
    )
    keyword_index.index(conn, row_ids)
    moved = [row for row in changed if row["categories"] != row["old_categories"]]
    if moved:
        conn.execute(delete(_CATEGORIES).where(_CATEGORIES.c.paper_id.in_([r["row_id"] for r in moved])))
        conn.execute(
            insert(_CATEGORIES),
            [c for row in moved for c in _category_rows(row["row_id"], row["categories"])],
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def batched(items: Iterable[PaperRecord], size: int = BATCH_SIZE) -> Iterator[list[PaperRecord]]:
    batch: list[PaperRecord] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def upsert_records(engine: Engine, records: Iterable[PaperRecord]) -> ImportCounts:
    """Upsert records in batches, one transaction per batch (a crash loses at most one batch)."""
    counts = ImportCounts()
    for batch in batched(records):
        with engine.begin() as conn:
            counts.add(upsert_batch(conn, batch))
    return counts
