"""``dailypapers migrate-db --to URL``: copy the instance's database to another (SQLite to
PostgreSQL, or back), with a progress bar, a check of the copy, and a re-run that goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from dailypapers.cli.common import DataDir, err, fail, load_settings, out


@contextmanager
def _table_bars() -> Iterator[Callable[[str, int, int], Callable[[int], None]]]:
    with Progress(
        TextColumn("{task.description:<20}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} rows"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as progress:

        def on_table(name: str, total: int, before: int) -> Callable[[int], None]:
            task = progress.add_task(name, total=max(total, before), completed=before)
            return lambda rows: progress.advance(task, rows)

        yield on_table


def migrate_db(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The database to copy into: postgresql+psycopg://user:password@host/db "
            "(or sqlite:////path/file.db). It must be empty, or a partial copy of this one.",
        ),
    ],
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Rows per transaction.")
    ] = 2000,
    data_dir: DataDir = None,
) -> None:
    """Copy everything to another database, then check the copy (resumable: re-run to go on).

    The source is the instance's database (DAILYPAPERS_DATABASE_URL, or the SQLite file in the
    data directory) and is only read; stop the web processes and workers first. Afterwards, point
    DAILYPAPERS_DATABASE_URL at the target.
    """
    from dailypapers.services.moving import MoveRefused, move_database

    settings = load_settings(data_dir)
    try:
        with _table_bars() as on_table:
            report = move_database(
                settings.resolved_database_url, to, batch=batch_size, on_table=on_table
            )
    except MoveRefused as exc:
        raise fail(exc.message) from None
    except KeyboardInterrupt:
        err.print("interrupted: what was copied is kept; run it again to go on")
        raise typer.Exit(130) from None
    rate = report.papers / report.seconds if report.seconds > 0 else 0.0
    out.print(
        f"{'resumed: ' if report.resumed else ''}copied {sum(report.copied.values()):,} rows "
        f"({report.papers:,} papers) in {report.seconds:.1f} s ({rate:,.0f} papers/s) "
        f"from {report.source} to {report.target}",
        highlight=False,
    )
    for check in report.checks:
        if not check.ok:
            err.print(
                f"[bold red]differs:[/] {check.name}: {check.source_rows:,} rows in the source, "
                f"{check.target_rows:,} in the target; {check.difference or 'counts differ'}",
                highlight=False,
            )
    if not report.ok:
        raise typer.Exit(1)
    slowest = sorted(report.steps.items(), key=lambda step: -step[1])[:4]
    out.print("longest steps: " + ", ".join(f"{n} {s:.1f} s" for n, s in slowest), highlight=False)
    sampled = sum(c.sampled for c in report.checks)
    out.print(
        f"checked: every table's row count matches, and {sampled:,} sampled rows are equal; "
        "now set DAILYPAPERS_DATABASE_URL to the --to URL and start the site",
        highlight=False,
    )
