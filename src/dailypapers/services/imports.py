"""Import arXiv files: listing JSONL (one announce day per file) and the bulk snapshot.

Malformed lines are reported (with their line number) through a callback and skipped; the rest of the
file imports. A file that cannot be read at all raises :class:`ImportFileError`. A big file is parsed
in a second process while this one writes (:mod:`dailypapers.sources.parse_pool`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path

from sqlalchemy import Engine

from dailypapers.sources.arxiv.listing import (
    date_from_filename,
    parse_listing_line,
)
from dailypapers.sources.arxiv.records import FlatRow, parse_flat
from dailypapers.sources.arxiv.snapshot import parse_snapshot_flat
from dailypapers.sources.files import ImportFileError, check_readable
from dailypapers.sources.parse_pool import parse_file
from dailypapers.upsert import ImportCounts, upsert_flat

OnBadLine = Callable[[Path, int, str], None]
OnProgress = Callable[[int], None]


def _noop_bad(_path: Path, _line: int, _reason: str) -> None:
    return None


def _noop_progress(_advance: int) -> None:
    return None


def _records(
    path: Path,
    parse: Callable[[bytes], FlatRow],
    counts: ImportCounts,
    on_bad_line: OnBadLine,
    on_progress: OnProgress,
) -> Iterator[FlatRow]:
    for batch in parse_file(path, parse):
        for number, reason in batch.bad:
            counts.skipped += 1
            on_bad_line(path, number, reason)
        on_progress(batch.size)
        yield from batch.records


def listing_date(path: Path, override: date | None) -> date:
    """The announce date for a listing file: ``--date`` or the date in its name."""
    found = override or date_from_filename(path)
    if found is None:
        raise ImportFileError(
            f"{path}: cannot tell the announce date; name the file YYYY-MM-DD.jsonl(.gz) "
            "or pass --date"
        )
    return found


def import_listing(
    engine: Engine,
    path: Path,
    *,
    announced_on: date | None = None,
    on_bad_line: OnBadLine = _noop_bad,
    on_progress: OnProgress = _noop_progress,
) -> ImportCounts:
    """Import one listing file; every paper in it was announced on the same day."""
    check_readable(path)
    day = listing_date(path, announced_on)
    counts = ImportCounts()
    parse = partial(parse_flat, partial(parse_listing_line, announced_on=day))
    counts.add(upsert_flat(engine, _records(path, parse, counts, on_bad_line, on_progress)))
    return counts


def import_snapshot(
    engine: Engine,
    path: Path,
    *,
    on_bad_line: OnBadLine = _noop_bad,
    on_progress: OnProgress = _noop_progress,
) -> ImportCounts:
    """Stream-import a Kaggle ``arxiv-metadata-oai-snapshot`` file (plain or gzip)."""
    check_readable(path)
    counts = ImportCounts()
    records = _records(path, parse_snapshot_flat, counts, on_bad_line, on_progress)
    counts.add(upsert_flat(engine, records))
    return counts
