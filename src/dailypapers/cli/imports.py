"""``dailypapers import listing|snapshot``: papers from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dailypapers.cli.common import (
    DataDir,
    err,
    fail,
    line_progress,
    load_settings,
    open_database,
    out,
    queue_embedding,
)
from dailypapers.cli.help import App
from dailypapers.services.imports import import_listing, import_snapshot
from dailypapers.services.periods import BadPeriod, parse_day
from dailypapers.sources.files import ImportFileError
from dailypapers.upsert import ImportCounts

app = App(help="Import arXiv papers from files.", no_args_is_help=True)


def report_bad_line(path: Path, line: int, reason: str) -> None:
    err.print(f"{path}:{line}: skipped: {reason}", highlight=False, markup=False)


def print_summary(counts: ImportCounts) -> None:
    """The counts in one line; exit code 1 when lines were skipped."""
    out.print(
        f"{counts.new:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged, "
        f"{counts.skipped:,} skipped",
        highlight=False,
    )
    if counts.skipped:
        raise typer.Exit(1)


@app.command("listing")
def import_listing_command(
    files: Annotated[
        list[Path], typer.Argument(help="Listing JSONL files (.gz allowed), one announce day each.")
    ],
    announce_date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="YYYY-MM-DD", help="Announce date (default: from each file name)."
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Import arXiv listing files (the arxiv-listings JSONL format: one line per paper)."""
    try:
        day = parse_day(announce_date) if announce_date else None
    except BadPeriod as exc:
        raise fail(str(exc)) from None
    settings = load_settings(data_dir)
    engine = open_database(settings)
    total = ImportCounts()
    for path in files:
        try:
            with line_progress(f"importing {path.name}") as advance:
                counts = import_listing(
                    engine,
                    path,
                    announced_on=day,
                    on_bad_line=report_bad_line,
                    on_progress=advance,
                )
        except ImportFileError as exc:
            raise fail(str(exc)) from None
        total.add(counts)
    queue_embedding(settings, total.new + total.updated)
    print_summary(total)


@app.command("snapshot")
def import_snapshot_command(
    file: Annotated[
        Path, typer.Argument(help="arxiv-metadata-oai-snapshot JSON-lines file (.gz allowed).")
    ],
    data_dir: DataDir = None,
) -> None:
    """Import the Kaggle/Cornell arXiv metadata snapshot, streamed line by line."""
    settings = load_settings(data_dir)
    engine = open_database(settings)
    try:
        with line_progress(f"importing {file.name}") as advance:
            counts = import_snapshot(engine, file, on_bad_line=report_bad_line, on_progress=advance)
    except ImportFileError as exc:
        raise fail(str(exc)) from None
    queue_embedding(settings, counts.new + counts.updated)
    print_summary(counts)
