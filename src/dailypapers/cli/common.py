"""What every command shares: the consoles, the common options, settings, the database, progress.

User errors print one line (``error: ...``) and exit with code 2 (:func:`fail`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine, transaction
from dailypapers.db.migrate import upgrade
from dailypapers.services.errors import ServiceError
from dailypapers.services.periods import BadPeriod, parse_day

err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def _default(name: str) -> object:
    return Settings.model_fields[name].default


def setting_help(text: str, name: str, *, default: object = None) -> str:
    """``text`` with the setting's default and environment variable, in parentheses (Rich would
    take square brackets for markup and print nothing of them)."""
    shown = _default(name) if default is None else default
    return f"{text} (default {shown}; env DAILYPAPERS_{name.upper()})."


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help=setting_help("Data directory", "data_dir", default="./dailypapers-data")
    ),
]
Host = Annotated[
    str | None,
    typer.Option(
        help=setting_help("Address to listen on", "host")
        + " On any other than a loopback address, set DAILYPAPERS_BASE_URL, or sign-in and "
        "digest mails stay off."
    ),
]
Port = Annotated[int | None, typer.Option(help=setting_help("Port to listen on", "port"))]
Categories = Annotated[
    str | None,
    typer.Option(help=setting_help("arXiv categories, space-separated", "categories")),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    # the message may quote user input ("[/]"): escaped, so rich never reads it as markup
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def load_settings(
    data_dir: Path | None = None, host: str | None = None, port: int | None = None, **more: object
) -> Settings:
    given = {"data_dir": data_dir, "host": host, "port": port, **more}
    overrides = {k: v for k, v in given.items() if v is not None}
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise fail(f"invalid settings: {problems}") from None


def open_database(settings: Settings) -> Engine:
    """Create the data directory and bring the database schema up to date."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(f"cannot create data directory {settings.data_dir}: {exc.strerror}") from None
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


@contextmanager
def command_transaction(settings: Settings) -> Iterator[Session]:
    """The command's one transaction on the instance's database (committed when the block ends,
    rolled back when it raises); a service's user error becomes one line and exit code 2."""
    engine = open_database(settings)
    try:
        with transaction(engine) as session:
            yield session
    except ServiceError as exc:
        raise fail(exc.message) from None
    finally:
        engine.dispose()


def date_option(value: str, name: str) -> date:
    try:
        return parse_day(value)
    except BadPeriod as exc:
        raise fail(f"{name}: {exc}") from None


def categories_option(settings: Settings, value: str | None) -> list[str]:
    if value is None:
        return settings.category_list
    return load_settings(settings.data_dir, categories=value).category_list


def check_model(settings: Settings) -> None:
    """Stop with one clear line when DAILYPAPERS_EMBEDDING_MODEL names no usable model."""
    from dailypapers.embeddings import EmbeddingModelError, check_embedding_model

    try:
        check_embedding_model(settings)
    except EmbeddingModelError as exc:
        raise fail(str(exc)) from None


def queue_embedding(settings: Settings, changed: int = 1) -> None:
    """Queue the embedding job, so the consumer (`serve` or `worker`) embeds the new papers. A
    queue that cannot be reached does not fail a finished import: one line says so, and the
    periodic embedding job (every 15 minutes) embeds them anyway."""
    if not changed:
        return
    from dailypapers.jobs import make_jobs
    from dailypapers.jobs.queue import enqueue

    queued = enqueue(make_jobs(settings).embed, "embedding", later="")
    if not queued.ok:
        err.print(
            f"note: embedding not queued (job queue unreachable: {queued.reason}); the worker "
            "embeds these papers within 15 minutes, or run `dailypapers embed`",
            highlight=False,
        )


@contextmanager
def line_progress(label: str) -> Iterator[Callable[[int], None]]:
    """A live line counter on stderr; yields the callback that advances it."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} lines"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda _bytes: progress.advance(task)


@contextmanager
def count_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A bar to ``total`` papers on stderr; yields the callback that advances it by a count."""
    with Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} papers"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda count: progress.advance(task, count)


def page_progress() -> Progress:
    """A page counter on stderr (harvests)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} pages"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
