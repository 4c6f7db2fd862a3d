"""The command line, the front door: ``dailypapers demo``, ``serve``, ``init``, ``import``, ``users``.

Every command reads the settings (environment ``DAILYPAPERS_*`` and ``.env``); ``--data-dir``,
``--host`` and ``--port`` override them. User errors print one sentence and exit with code 2.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.db.models import ApiToken, Paper, User
from dailypapers.ingest import ImportCounts
from dailypapers.services.imports import import_listing, import_snapshot
from dailypapers.services.periods import BadPeriod, parse_day
from dailypapers.sources.files import ImportFileError

app = typer.Typer(
    help="dailypapers: a self-hosted Daily Papers for arXiv (feeds, search, HF-compatible API).",
    no_args_is_help=True,
    add_completion=False,
)
import_app = typer.Typer(help="Import arXiv papers from files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
users_app = typer.Typer(help="Manage accounts and API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
submissions_app = typer.Typer(help="Manage papers users submitted.", no_args_is_help=True)
app.add_typer(submissions_app, name="submissions")
digest_app = typer.Typer(
    help="Email digests: send a period's digests, preview one, unsubscribe an address.",
    no_args_is_help=True,
)
app.add_typer(digest_app, name="digest")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory [env DAILYPAPERS_DATA_DIR; default ./dailypapers-data]."
    ),
]
Host = Annotated[str | None, typer.Option(help="Address to listen on [default 127.0.0.1].")]
Port = Annotated[int | None, typer.Option(help="Port to listen on [default 8000].")]


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
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
def progress_bar(label: str) -> Iterator[Callable[[int], None]]:
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


def _report_bad_line(path: Path, line: int, reason: str) -> None:
    err.print(f"{path}:{line}: skipped: {reason}", highlight=False, markup=False)


def _queue_embedding(settings: Settings, changed: int = 1) -> None:
    """Queue the embedding job, so the consumer (`serve` or `worker`) embeds the new papers."""
    if not changed:
        return
    from dailypapers.jobs import make_jobs

    try:
        make_jobs(settings).embed()
    except Exception as exc:  # a queue that cannot be reached must not fail a finished import
        err.print(f"note: embedding not queued ({exc}); run `dailypapers embed`", highlight=False)


def _summary(counts: ImportCounts) -> None:
    out.print(
        f"{counts.new:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged, "
        f"{counts.skipped:,} skipped",
        highlight=False,
    )
    if counts.skipped:
        raise typer.Exit(1)


@import_app.command("listing")
def import_listing_command(
    files: Annotated[
        list[Path], typer.Argument(help="Listing JSONL files (.gz allowed), one announce day each.")
    ],
    announce_date: Annotated[
        str | None,
        typer.Option("--date", help="Announce date YYYY-MM-DD (default: from each file name)."),
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
            with progress_bar(f"importing {path.name}") as advance:
                counts = import_listing(
                    engine,
                    path,
                    announced_on=day,
                    on_bad_line=_report_bad_line,
                    on_progress=advance,
                )
        except ImportFileError as exc:
            raise fail(str(exc)) from None
        total.add(counts)
    _queue_embedding(settings, total.new + total.updated)
    _summary(total)


@import_app.command("snapshot")
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
        with progress_bar(f"importing {file.name}") as advance:
            counts = import_snapshot(
                engine, file, on_bad_line=_report_bad_line, on_progress=advance
            )
    except ImportFileError as exc:
        raise fail(str(exc)) from None
    _queue_embedding(settings, counts.new + counts.updated)
    _summary(counts)


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create the data directory and database (or upgrade it to the newest schema)."""
    settings = load_settings(data_dir)
    open_database(settings)
    out.print(f"database ready at {settings.resolved_database_url}", highlight=False)


def sample_files() -> list[Path]:
    """The bundled sample: real arXiv listings, one gzip file per announce day."""
    folder = resources.files("dailypapers") / "sample"
    return sorted(
        Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".jsonl.gz")
    )


def load_sample(engine: Engine) -> ImportCounts:
    total = ImportCounts()
    with progress_bar("loading the bundled sample") as advance:
        for path in sample_files():
            total.add(import_listing(engine, path, on_progress=advance))
    return total


def _serve(settings: Settings, *, jobs: bool = False, workers: int = 1) -> None:
    import uvicorn

    from dailypapers.web.app import create_served_app

    consumer = None
    if jobs and settings.jobs_in_web:
        from dailypapers.jobs import make_jobs, start_in_process

        jobs_ = make_jobs(settings)
        consumer = start_in_process(jobs_.huey)
        jobs_.embed()  # papers without a vector (or a model switch) are embedded in the background
        out.print(
            f"scheduled ingest daily at {settings.ingest_time_utc} UTC, "
            f"digests at {settings.digest_time_utc} UTC",
            highlight=False,
        )
    out.print(
        f"serving on http://{settings.host}:{settings.port}  (Ctrl+C to stop)", highlight=False
    )
    try:
        if workers == 1:
            uvicorn.run(
                create_served_app(settings),
                host=settings.host,
                port=settings.port,
                log_level="warning",
            )
        else:
            _run_workers(settings, workers)
    except OSError as exc:
        raise fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from None
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


def _run_workers(settings: Settings, workers: int) -> None:
    """Several uvicorn processes on one socket. Each builds its app from the environment, so this
    process hands its settings over there; the job consumer (above) runs only in this one."""
    import uvicorn

    settings.resolved_secret_key()  # created here once, not raced by the workers
    os.environ.update(settings.as_environment())
    uvicorn.run(
        "dailypapers.web.app:create_served_app",
        factory=True,
        workers=workers,
        host=settings.host,
        port=settings.port,
        log_level="warning",
    )


@app.command()
def demo(
    data_dir: DataDir = None,
    host: Host = None,
    port: Port = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web server after loading.")
    ] = True,
) -> None:
    """Load the bundled sample of real arXiv papers (once) and serve the site."""
    settings = load_settings(data_dir, host, port)
    engine = open_database(settings)
    counts = load_sample(engine)
    with engine.connect() as conn:
        papers = conn.scalar(select(func.count(Paper.id))) or 0
    if counts.new:
        out.print(f"loaded {counts.new:,} sample papers into {settings.data_dir}", highlight=False)
    else:
        out.print(f"reusing {settings.data_dir} ({papers:,} papers)", highlight=False)
    engine.dispose()
    if serve:
        from dailypapers.embeddings.runs import embed_in_background

        check_model(settings)
        embed_in_background(settings)  # keyword search works meanwhile
        _serve(settings)


Workers = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Web processes sharing the port; more use more CPU cores (the scheduled ingest "
        "still runs once, in the main process).",
    ),
]


@app.command()
def serve(
    data_dir: DataDir = None, host: Host = None, port: Port = None, workers: Workers = 1
) -> None:
    """Serve the site and the API on the database in the data directory."""
    settings = load_settings(data_dir, host, port)
    check_model(settings)
    open_database(settings).dispose()
    _serve(settings, jobs=True, workers=workers)


Categories = Annotated[
    str | None,
    typer.Option(help="arXiv categories, space-separated [env DAILYPAPERS_CATEGORIES]."),
]


def _categories(settings: Settings, value: str | None) -> list[str]:
    if value is None:
        return settings.category_list
    return load_settings(settings.data_dir, categories=value).category_list


def _date_option(value: str, name: str) -> date:
    try:
        return parse_day(value)
    except BadPeriod as exc:
        raise fail(f"{name}: {exc}") from None


@contextmanager
def _harvest_errors() -> Iterator[None]:
    from dailypapers.services.harvest import HarvestError, LockHeld

    try:
        yield
    except LockHeld as exc:
        raise fail(str(exc), code=3) from None
    except HarvestError as exc:
        raise fail(str(exc), code=1) from None


def _page_progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:,} pages"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


@app.command()
def ingest(
    since: Annotated[
        str | None,
        typer.Option(
            help="Harvest changes since YYYY-MM-DD [default: last checkpoint, or a week ago]."
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
    since_day = _date_option(since, "--since") if since else None
    chosen = _categories(settings, categories)
    engine = open_database(settings)
    with _harvest_errors(), _page_progress() as progress:
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
        _queue_embedding(settings)


@app.command()
def backfill(
    from_date: Annotated[str, typer.Option("--from", help="First submission day, YYYY-MM-DD.")],
    to_date: Annotated[str, typer.Option("--to", help="Last submission day, YYYY-MM-DD.")],
    categories: Categories = None,
    data_dir: DataDir = None,
) -> None:
    """Load papers submitted in a date range via arXiv's export API (re-running changes nothing)."""
    from dailypapers.services.harvest import arxiv_session
    from dailypapers.services.harvest import backfill as run_backfill

    settings = load_settings(data_dir)
    start, end = _date_option(from_date, "--from"), _date_option(to_date, "--to")
    if start > end:
        raise fail("--from is after --to")
    chosen = _categories(settings, categories)
    engine = open_database(settings)
    with _harvest_errors(), _page_progress() as progress, arxiv_session(engine, settings) as client:
        task = progress.add_task("backfill", total=None)

        def on_page(label: str, summary: Any) -> None:
            progress.update(task, completed=summary.pages, description=label)

        result = run_backfill(
            engine, client, settings, start=start, end=end, categories=chosen, on_page=on_page
        )
    out.print(result.line(), highlight=False)
    _queue_embedding(settings)


@app.command()
def fetch(
    ids: Annotated[
        list[str],
        typer.Argument(help="arXiv ids or URLs, e.g. 2503.11731 or arxiv.org/abs/2503.11731v2."),
    ],
    data_dir: DataDir = None,
) -> None:
    """Fetch specific papers from arXiv by id (adds them or refreshes them)."""
    from dailypapers.services.harvest import arxiv_session, lookup_ids
    from dailypapers.sources.arxiv.ids import InvalidArxivId, parse_arxiv_id

    try:
        wanted = list(dict.fromkeys(parse_arxiv_id(i)[0] for i in ids))
    except InvalidArxivId as exc:
        raise fail(str(exc)) from None
    settings = load_settings(data_dir)
    engine = open_database(settings)
    with _harvest_errors(), arxiv_session(engine, settings) as client:
        result, missing = lookup_ids(engine, client, settings, wanted)
    out.print(result.line(), highlight=False)
    _queue_embedding(settings)
    if missing:
        raise fail(f"arXiv has no paper {', '.join(missing)}", code=1)


def check_model(settings: Settings) -> None:
    """Stop with one clear line when DAILYPAPERS_EMBEDDING_MODEL names no usable model."""
    from dailypapers.embeddings import EmbeddingModelError, check_embedding_model

    try:
        check_embedding_model(settings)
    except EmbeddingModelError as exc:
        raise fail(str(exc)) from None


@app.command()
def embed(
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=4096, help="Texts per model call.")
    ] = 64,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Embed at most this many papers.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Embed papers for search by meaning (newest first; resumable: a re-run continues)."""
    from dailypapers.embeddings import EmbeddingModelError
    from dailypapers.embeddings.runs import run_embedding
    from dailypapers.embeddings.store import count_pending

    settings = load_settings(data_dir)
    check_model(settings)
    engine = open_database(settings)
    pending = count_pending(engine, settings.embedding_model)
    total = min(pending, limit) if limit else pending
    out.print(f"{total:,} papers to embed with {settings.embedding_model}", highlight=False)
    try:
        with _count_progress("embedding", total) as advance:
            run = run_embedding(
                engine, settings, batch_size=batch_size, limit=limit, progress=advance
            )
    except EmbeddingModelError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        err.print("interrupted: what was embedded is kept; run it again to continue")
        raise typer.Exit(130) from None
    out.print(run.line(), highlight=False)
    if run.busy:
        raise typer.Exit(1)


@contextmanager
def _count_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
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


@app.command()
def worker(data_dir: DataDir = None) -> None:
    """Run the job consumer (scheduled ingest and digests) on its own; pair with JOBS_IN_WEB=false."""
    from dailypapers.jobs import make_jobs

    settings = load_settings(data_dir)
    open_database(settings).dispose()
    jobs = make_jobs(settings)
    out.print(
        f"worker: ingest daily at {settings.ingest_time_utc} UTC, digests at "
        f"{settings.digest_time_utc} UTC (Ctrl+C stops)",
        highlight=False,
    )
    jobs.huey.create_consumer(workers=1, periodic=True).run()


# --- community: accounts and submissions ---------------------------------------------------


@contextmanager
def _database_session(data_dir: Path | None) -> Iterator[Session]:
    """A session on the instance's database; a service's user error becomes one line + exit 2."""
    from dailypapers.services.errors import ServiceError

    engine = open_database(load_settings(data_dir))
    try:
        with Session(engine, expire_on_commit=False) as session:
            yield session
    except ServiceError as exc:
        raise fail(exc.message) from None
    finally:
        engine.dispose()


@users_app.command("add")
def users_add(
    email: Annotated[str, typer.Argument(help="The person's email address.")],
    admin: Annotated[
        bool, typer.Option("--admin", help="Make an admin (hides comments); without it: not.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Display name.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create an account (or update its admin flag and name); they sign in by email link."""
    from dailypapers.services.accounts import add_user

    with _database_session(data_dir) as session:
        user = add_user(session, email, admin=admin, display_name=name)
        role = "admin" if user.is_admin else "user"
        out.print(f"{user.email}: {role}, shown as {user.display_name!r}", highlight=False)


@users_app.command("token")
def users_token(
    email: Annotated[str, typer.Argument(help="Email of an existing account.")],
    name: Annotated[str, typer.Option("--name", help="A label to recognise it by.")] = "cli",
    data_dir: DataDir = None,
) -> None:
    """Create an API token (Authorization: Bearer ...); it is printed once, store it now."""
    from dailypapers.services.accounts import create_api_token, get_user_by_email

    with _database_session(data_dir) as session:
        user = get_user_by_email(session, email)
        if user is None:
            raise fail(f"no account for {email!r}; create it with `dailypapers users add`")
        token, raw = create_api_token(session, user, name)
        err.print(f"token {token.id} ({token.name}) for {user.email}:", highlight=False)
        out.print(raw, highlight=False, markup=False)


@users_app.command("revoke")
def users_revoke(
    token_id: Annotated[int, typer.Argument(help="Token id, as `users list` shows it.")],
    data_dir: DataDir = None,
) -> None:
    """Revoke an API token: requests with it are refused from now on."""
    from dailypapers.services.accounts import revoke_token_id

    with _database_session(data_dir) as session:
        token = revoke_token_id(session, token_id)
        out.print(f"token {token.id} ({token.name}) revoked", highlight=False)


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List accounts with their role, last sign-in and active API tokens."""
    from dailypapers.services.accounts import list_api_tokens, list_users

    with _database_session(data_dir) as session:
        accounts = list_users(session)
        for user in accounts:
            tokens = [t for t in list_api_tokens(session, user) if t.revoked_at is None]
            out.print(_user_line(user, tokens), highlight=False, markup=False)
        if not accounts:
            out.print(
                "no accounts yet; add one with `dailypapers users add EMAIL`", highlight=False
            )


def _user_line(user: User, tokens: list[ApiToken]) -> str:
    seen = (
        f"last sign-in {user.last_login_at:%Y-%m-%d %H:%M} UTC"
        if user.last_login_at
        else "never signed in"
    )
    line = f"{user.email}  {user.display_name!r}  {'admin' if user.is_admin else 'user'}  {seen}"
    if tokens:
        line += "  tokens: " + ", ".join(f"{t.id} ({t.name})" for t in tokens)
    return line


@submissions_app.command("resolve")
def submissions_resolve(data_dir: DataDir = None) -> None:
    """Fetch submitted papers the database lacks from arXiv (ids arXiv does not know: missing)."""
    from dailypapers.services.harvest import arxiv_session
    from dailypapers.services.submissions import pending, resolve_pending

    settings = load_settings(data_dir)
    engine = open_database(settings)
    with Session(engine) as session:
        waiting = len(pending(session))
    if not waiting:
        out.print("no pending submissions", highlight=False)
        return
    with _harvest_errors(), arxiv_session(engine, settings) as client:
        resolved = resolve_pending(engine, settings, client)
    with Session(engine) as session:
        still = len(pending(session))
    out.print(f"{resolved} submissions resolved, {still} still pending", highlight=False)


# --- email digests --------------------------------------------------------------------------


Frequency = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="daily (one announcement day) or weekly (its ISO week); default: daily for send, the subscription's own choice for preview.",
    ),
]
DigestDate = Annotated[
    str | None,
    typer.Option(
        "--date", help="A day in the period, YYYY-MM-DD; default: the newest announcement day."
    ),
]


def _frequency(value: str | None, default: str) -> Any:
    chosen = value or default
    if chosen not in ("daily", "weekly"):
        raise fail(f"--period: {chosen[:20]!r} is neither daily nor weekly")
    return chosen


@digest_app.command("send")
def digest_send(
    period: Frequency = None,
    day: DigestDate = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Choose and render every digest, count them; send nothing."),
    ] = False,
    resend_interrupted: Annotated[
        bool,
        typer.Option(
            "--resend-interrupted",
            help="Also send the digests a killed run left in flight (they may have arrived: check the mail server's log first; never while another run is going).",
        ),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Send the period's digests to confirmed subscribers, each exactly once (safe to re-run).

    Exit code 1 when the mail server could not be reached or some mails are deferred or failed.
    """
    from dailypapers.digest.send import send_digests

    frequency = _frequency(period, "daily")
    chosen = _date_option(day, "--date") if day else None
    settings = load_settings(data_dir)
    engine = open_database(settings)
    try:
        report = send_digests(
            engine,
            settings,
            frequency=frequency,
            day=chosen,
            dry_run=dry_run,
            resend_interrupted=resend_interrupted,
        )
    finally:
        engine.dispose()
    for problem in report.errors[:20]:
        err.print(f"note: {problem}", highlight=False, markup=False)
    out.print(report.line(), highlight=False, markup=False)
    if report.stopped or report.deferred or report.failed:
        raise typer.Exit(1)


@digest_app.command("preview")
def digest_preview(
    email: Annotated[str, typer.Argument(help="A subscriber's email address.")],
    period: Frequency = None,
    day: DigestDate = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Write to FILE instead of printing: the mail as sent (.eml), or its HTML for a .html file.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Render the digest a subscriber would get (sends nothing, records nothing)."""
    from dailypapers.digest.preview import digest_mail
    from dailypapers.digest.select import digest_period, period_key
    from dailypapers.digest.send import announced_papers
    from dailypapers.mail import build_message, message_bytes
    from dailypapers.services.feeds import latest_day
    from dailypapers.services.subscriptions import subscription_for

    chosen = _date_option(day, "--date") if day else None
    settings = load_settings(data_dir)
    with _database_session(data_dir) as session:
        sub = subscription_for(session, email)
        frequency = _frequency(period, sub.frequency)
        chosen = chosen or latest_day(session)
        if chosen is None:
            raise fail("no papers in the database yet: nothing to preview")
        if frequency == "daily" and not announced_papers(session, chosen):
            raise fail(f"{chosen} had no announcements: no daily digest for it", code=1)
        key = period_key(digest_period(frequency, chosen))
        mail = digest_mail(session, settings, settings.resolved_secret_key(), sub, key)
    if mail is None:
        raise fail(f"the {frequency} digest of {key} would be empty for {sub.email}", code=1)
    message = build_message(mail, settings.mail_from)
    if output is None:  # readable: the headers, the text part, then the HTML part
        headers = "\n".join(f"{name}: {value}" for name, value in message.items())
        for part in (headers, "", mail.text, "--- HTML part ---", mail.html or ""):
            out.print(part, highlight=False, markup=False, soft_wrap=True)
        return
    html_only = output.suffix.lower() in (".html", ".htm")
    try:
        if html_only:
            output.write_text(mail.html or "", encoding="utf-8")
        else:
            output.write_bytes(message_bytes(mail, settings.mail_from))
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror}") from None
    err.print(f"wrote {output}", highlight=False)


@digest_app.command("unsubscribe")
def digest_unsubscribe(
    email: Annotated[str, typer.Argument(help="The address to stop mailing.")],
    data_dir: DataDir = None,
) -> None:
    """Unsubscribe an address (e.g. after an unsubscribe mail to the sender's mailbox)."""
    from dailypapers.services.subscriptions import unsubscribe_email

    with _database_session(data_dir) as session:
        sub = unsubscribe_email(session, email)
        out.print(f"{sub.email}: unsubscribed", highlight=False, markup=False)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "huey", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
