"""What papers get beyond arXiv's metadata, in the foreground: ``thumbnails``, ``keyphrases``,
``stars`` and ``map`` (``serve`` and ``worker`` also do each in the background)."""

from __future__ import annotations

from typing import Annotated

import typer

from dailypapers.cli.arxiv import harvest_errors
from dailypapers.cli.common import DataDir, count_progress, load_settings, open_database, out

Limit = Annotated[int | None, typer.Option("--limit", min=1, help="Do at most this many papers.")]


def thumbnails(
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="Newest papers to try.")
    ] = 100,
    data_dir: DataDir = None,
) -> None:
    """Make thumbnails (page 1 of the PDF, from arXiv) of the newest papers that have none."""
    from dailypapers.services.thumbnails import make_thumbnails, pending

    settings = load_settings(data_dir)
    engine = open_database(settings)
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        total = len(pending(session, limit))
    out.print(f"{total:,} papers need a thumbnail (one PDF every {settings.arxiv_delay_s:g} s)")
    with harvest_errors(), count_progress("thumbnails", total) as advance:
        run = make_thumbnails(engine, settings, limit=limit, progress=advance)
    out.print(run.line(), highlight=False)
    if run.stopped:
        raise typer.Exit(1)


def keyphrases(limit: Limit = None, data_dir: DataDir = None) -> None:
    """Extract key phrases and the TL;DR sentence of papers that have none or changed."""
    from dailypapers.services.summaries import count_pending, summarize_pending

    settings = load_settings(data_dir)
    engine = open_database(settings)
    pending = count_pending(engine)
    total = min(pending, limit) if limit else pending
    with count_progress("key phrases", total) as advance:
        run = summarize_pending(engine, limit=limit, progress=advance)
    out.print(run.line(), highlight=False)


def stars(limit: Limit = None, data_dir: DataDir = None) -> None:
    """Refresh the GitHub stars that are due (each repository once a day; DAILYPAPERS_GITHUB_TOKEN
    raises GitHub's limit from 60 to 5,000 requests an hour)."""
    from dailypapers.services.github_stars import refresh_stars

    settings = load_settings(data_dir)
    run = refresh_stars(open_database(settings), settings, limit=limit)
    out.print(run.line(), highlight=False)
    if run.paused_until is not None:
        raise typer.Exit(1)


def map_command(
    refit: Annotated[
        bool, typer.Option("--refit", help="Fit a new layout even if the current one is fine.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Compute the map of the papers from their embeddings (run `dailypapers embed` first)."""
    from dailypapers.services.paper_map import update_map

    settings = load_settings(data_dir)
    run = update_map(open_database(settings), settings, refit=refit)
    out.print(run.line(), highlight=False)
