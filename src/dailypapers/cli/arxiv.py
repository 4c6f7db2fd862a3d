"""``dailypapers ingest|backfill|fetch`` and ``submissions resolve``: papers from arXiv.

Every command here talks to arXiv through the instance's one polite client (the ``arxiv`` lease):
exit code 3 when another process holds it, 1 when arXiv could not be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from dailypapers.cli.common import (
    Categories,
    DataDir,
    categories_option,
    date_option,
    err,
    fail,
    load_settings,
    open_database,
    out,
    page_progress,
    queue_embedding,
)
from dailypapers.cli.help import App

submissions_app = App(help="Manage papers users submitted.", no_args_is_help=True)


@contextmanager
def harvest_errors() -> Iterator[None]:
    from dailypapers.services.arxiv_client import HarvestError, LockHeld

    try:
        yield
    except LockHeld as exc:
        raise fail(str(exc), code=3) from None
    except HarvestError as exc:
        raise fail(str(exc), code=1) from None


def ingest(
    since: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM-DD",
            help="Harvest changes since this day (default: the last checkpoint, or a week ago).",
        ),
    ] = None,
    categories: Categories = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fetch and count; write nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Fetch new and updated papers from arXiv (announcements + OAI-PMH); resumes if interrupted."""
    from dailypapers.services.harvest import daily_ingest

    settings = load_settings(data_dir)
    since_day = date_option(since, "--since") if since else None
    chosen = categories_option(settings, categories)
    engine = open_database(settings)
    with harvest_errors(), page_progress() as progress:
        task = progress.add_task(f"harvesting {' '.join(chosen)}", total=None)

        def on_page(source: str, summary: Any) -> None:
            progress.update(task, completed=summary.pages, description=source)

        result = daily_ingest(
            engine, settings, categories=chosen, since=since_day, dry_run=dry_run, on_page=on_page
        )
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)
    out.print(("dry run, nothing written: " if dry_run else "") + result.line(), highlight=False)
    if not dry_run:
        queue_embedding(settings)


def backfill(
    from_date: Annotated[
        str, typer.Option("--from", metavar="YYYY-MM-DD", help="First submission day.")
    ],
    to_date: Annotated[
        str, typer.Option("--to", metavar="YYYY-MM-DD", help="Last submission day.")
    ],
    categories: Categories = None,
    data_dir: DataDir = None,
) -> None:
    """Load papers submitted in a date range via arXiv's export API (re-running changes nothing)."""
    from dailypapers.services.arxiv_client import arxiv_session
    from dailypapers.services.harvest import backfill as run_backfill

    settings = load_settings(data_dir)
    start, end = date_option(from_date, "--from"), date_option(to_date, "--to")
    if start > end:
        raise fail("--from is after --to")
    chosen = categories_option(settings, categories)
    engine = open_database(settings)
    with harvest_errors(), page_progress() as progress, arxiv_session(engine, settings) as client:
        task = progress.add_task("backfill", total=None)

        def on_page(label: str, summary: Any) -> None:
            progress.update(task, completed=summary.pages, description=label)

        result = run_backfill(
            engine, client, settings, start=start, end=end, categories=chosen, on_page=on_page
        )
    out.print(result.line(), highlight=False)
    queue_embedding(settings)


def fetch(
    ids: Annotated[
        list[str],
        typer.Argument(help="arXiv ids or URLs, e.g. 2503.11731 or arxiv.org/abs/2503.11731v2."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Fetch specific papers from arXiv by id (adds them or refreshes them)."""
    from dailypapers.services.arxiv_client import arxiv_session
    from dailypapers.services.harvest import lookup_ids
    from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

    try:
        wanted = list(dict.fromkeys(parse_arxiv_id(i)[0] for i in ids))
    except InvalidArxivId as exc:
        raise fail(str(exc)) from None
    settings = load_settings(data_dir)
    engine = open_database(settings)
    with harvest_errors(), arxiv_session(engine, settings) as client:
        result, missing = lookup_ids(engine, client, settings, wanted)
    out.print(result.line(), highlight=False)
    queue_embedding(settings)
    if missing:
        raise fail(f"arXiv has no paper {', '.join(missing)}", code=1)


@submissions_app.command("resolve")
def submissions_resolve(data_dir: DataDir = None) -> None:
    """Fetch submitted papers the database lacks from arXiv (ids arXiv does not know: missing)."""
    from dailypapers.services.arxiv_client import arxiv_session
    from dailypapers.services.submissions import count_pending, resolve_pending

    settings = load_settings(data_dir)
    engine = open_database(settings)
    if not count_pending(engine):
        out.print("no pending submissions", highlight=False)
        return
    with harvest_errors(), arxiv_session(engine, settings) as client:
        resolved = resolve_pending(engine, settings, client)
    still = count_pending(engine)
    out.print(f"{resolved} submissions resolved, {still} still pending", highlight=False)
