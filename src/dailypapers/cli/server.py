"""``dailypapers init|demo|serve|worker``: the database, the web server, the job consumer."""

from __future__ import annotations

import errno
import os
import socket
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from dailypapers.cli.common import (
    DataDir,
    Host,
    Port,
    check_model,
    err,
    fail,
    line_progress,
    load_settings,
    open_database,
    out,
)
from dailypapers.config import Settings
from dailypapers.db.engine import transaction
from dailypapers.runtime import Runtime
from dailypapers.services.sample import count_papers, load_sample, sample_ids

Workers = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Web processes sharing the port; more use more CPU cores (the scheduled ingest "
        "still runs once, in the main process).",
    ),
]


def init(data_dir: DataDir = None) -> None:
    """Create the data directory and database (or upgrade it to the newest schema)."""
    settings = load_settings(data_dir)
    open_database(settings)
    out.print(f"database ready at {settings.resolved_database_url}", highlight=False)


def demo(
    data_dir: DataDir = None,
    host: Host = None,
    port: Port = None,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the web server after loading.")
    ] = True,
    sample_activity: Annotated[
        bool,
        typer.Option(
            "--sample-activity/--no-sample-activity",
            help="Add sample votes and comments by accounts named 'Sample reader N' (labelled as "
            "sample data on every page), so Trending is not the daily feed again; only in a "
            "database that holds nothing but the sample. --no-sample-activity removes them.",
        ),
    ] = True,
) -> None:
    """Load the bundled sample of real arXiv papers (once) and serve the site."""
    settings = load_settings(data_dir, host, port)
    if serve:
        check_port(settings.host, settings.port)  # before loading: a busy port fails at once
    engine = open_database(settings)
    with line_progress("loading the bundled sample") as advance:
        counts = load_sample(engine, on_progress=advance)
    where = (  # the data dir, or the database a URL names (without its password)
        engine.url.render_as_string(hide_password=True)
        if settings.database_url
        else str(settings.data_dir)
    )
    if counts.new:
        out.print(f"loaded {counts.new:,} sample papers into {where}", highlight=False)
    else:
        papers = count_papers(engine)
        out.print(f"reusing {where} ({papers:,} papers)", highlight=False)
    with transaction(engine) as session:
        _sample_activity(session, sample_activity)
    engine.dispose()
    if serve:
        from dailypapers.services.embedding import embed_in_background

        check_model(settings)
        runtime = Runtime()
        embed_in_background(settings, runtime)  # keyword search works meanwhile
        run_server(settings, runtime)


def _sample_activity(session: Session, wanted: bool) -> None:
    from dailypapers.services import sample_activity as activity

    if not wanted:
        removed = activity.remove_sample_activity(session)
        if removed.readers:
            out.print(
                f"removed the sample activity ({removed.votes:,} votes, {removed.comments:,} "
                "comments)",
                highlight=False,
            )
        return
    result = activity.add_sample_activity(session, sample_ids())
    if isinstance(result, str):
        err.print(f"note: no sample votes or comments: {result}", highlight=False)
        return
    out.print(
        ("added " if result.added else "keeping ")
        + f"sample activity: {result.votes:,} votes and {result.comments:,} comments by "
        f"{result.readers} sample readers (labelled on the site; --no-sample-activity removes them)",
        highlight=False,
    )


def serve(
    data_dir: DataDir = None, host: Host = None, port: Port = None, workers: Workers = 1
) -> None:
    """Serve the site and the API on the database in the data directory."""
    settings = load_settings(data_dir, host, port)
    check_port(settings.host, settings.port)
    check_model(settings)
    open_database(settings).dispose()
    run_server(settings, Runtime(), jobs=True, workers=workers)


def _bind(host: str, port: int) -> None:
    """Bind (and let go of) a listening socket as uvicorn will: raises OSError when it cannot."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        probe.bind(address)


def _free_port_after(host: str, port: int, tries: int = 50) -> int | None:
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        try:
            _bind(host, candidate)
        except OSError:
            continue
        return candidate
    return None


def check_port(host: str, port: int) -> None:
    """Stop with one line and exit code 2 when ``host:port`` cannot be listened on (a port in
    use: suggest the next free one), before anything claims to serve there."""
    try:
        _bind(host, port)
    except socket.gaierror as exc:
        raise fail(f"cannot listen on {host}:{port}: unknown address ({exc.strerror})") from None
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        free = _free_port_after(host, port)
        hint = f"try --port {free}" if free else "try another --port"
        raise fail(f"port {port} is in use — {hint}") from None


def run_server(
    settings: Settings, runtime: Runtime, *, jobs: bool = False, workers: int = 1
) -> None:
    """Serve until stopped; with ``jobs`` (and ``DAILYPAPERS_JOBS_IN_WEB``) the job consumer runs
    in this process too, sharing ``runtime`` with the app (one copy of the model and the index)."""
    import uvicorn

    from dailypapers.web.app import create_served_app

    consumer = None
    limit_malloc_arenas()
    warn_shared_state(settings)
    if workers > 1:
        from dailypapers.web.metrics import prepare_metrics_dir

        prepare_metrics_dir(settings)  # before any worker starts: their request counts add up
    if jobs and settings.jobs_in_web:
        from dailypapers.jobs import make_jobs, start_in_process
        from dailypapers.jobs.queue import enqueue

        jobs_ = make_jobs(settings, runtime)
        consumer = start_in_process(jobs_.huey, settings)
        # papers without a vector (or a model switch) are embedded in the background
        enqueue(jobs_.embed, "embedding", later="the periodic embedding job does it")
        out.print(
            f"scheduled ingest daily at {settings.ingest_time_utc} UTC, "
            f"digests at {settings.digest_time_utc} UTC",
            highlight=False,
        )
    if settings.links_need_base_url:
        err.print(
            f"[bold yellow]warning:[/] listening on {settings.host} without DAILYPAPERS_BASE_URL: "
            "sign-in and digest mails are off until it is set (their links would otherwise come "
            "from the request's Host header)",
            highlight=False,
        )
    out.print(
        f"serving on http://{settings.host}:{settings.port}  (Ctrl+C to stop)", highlight=False
    )
    try:
        if workers == 1:
            uvicorn.run(
                create_served_app(settings, runtime),
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


MALLOC_ARENAS = "2"
M_ARENA_MAX = -8  # glibc's mallopt() parameter number


def limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at 2 for this process and the workers it starts, unless the
    user set ``MALLOC_ARENA_MAX``. glibc gives each thread that allocates its own arena (up to
    8 per core) and keeps freed memory in each: under 8 clients sending searches a web process
    grew to a 1.30 GiB plateau, 743 MiB with 2 arenas (docs/PERFORMANCE.md "Memory"). Workers
    read the variable when they start; this process, already running, is told with mallopt()."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    os.environ["MALLOC_ARENA_MAX"] = MALLOC_ARENAS
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(M_ARENA_MAX, int(MALLOC_ARENAS))
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to cap
        pass


# uvicorn pings each worker every 0.5 s and kills one that does not answer within this time, then
# starts another. A new worker answers only once Python has started and imported the command
# line (~8 s with the machine's 2 cores loaded 12 deep): with uvicorn's default 5 s every worker
# was killed before it could answer, forever, and `serve --workers 2` never served.
WORKER_HEALTHCHECK_S = 60


def _run_workers(settings: Settings, workers: int) -> None:
    """Several uvicorn processes on one socket. Each builds its app (and its own runtime) from the
    environment, so this process hands its settings over there; the job consumer (above) runs
    only in this one."""
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
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
    )


Concurrency = Annotated[
    int,
    typer.Option(
        min=1,
        max=64,
        help="Jobs run at once, each in a thread of this process (embedding uses every core by "
        "itself; the other jobs mostly wait on arXiv, the database or the mail server).",
    ),
]


def worker(data_dir: DataDir = None, concurrency: Concurrency = 4) -> None:
    """Run the job consumer (ingest, submissions, embedding, digests) on its own; any number of
    workers on any number of hosts may share one Redis queue. Pair with
    DAILYPAPERS_JOBS_IN_WEB=false for `serve`."""
    from dailypapers.jobs import JobConsumer, make_jobs
    from dailypapers.jobs.queue import QueueDown, ping, where

    settings = load_settings(data_dir)
    open_database(settings).dispose()
    jobs = make_jobs(settings)
    try:
        ping(jobs.huey)
    except QueueDown as exc:
        raise fail(f"cannot reach the job queue at {where(settings)}: {exc}") from None
    warn_shared_state(settings)
    out.print(
        f"worker: {concurrency} job threads on {where(settings)}; ingest daily at "
        f"{settings.ingest_time_utc} UTC, digests at {settings.digest_time_utc} UTC "
        "(Ctrl+C stops)",
        highlight=False,
    )
    JobConsumer(jobs.huey, settings, workers=concurrency).run()


def warn_shared_state(settings: Settings) -> None:
    """Several hosts serving one site share the secret key: say so when it is this host's own."""
    shared = settings.queue_url or not settings.resolved_database_url.startswith("sqlite")
    if shared and not settings.secret_key:
        err.print(
            "warning: DAILYPAPERS_SECRET_KEY is not set, so this host signs forms and digest "
            f"links with its own key ({settings.data_dir / 'secret_key'}); give every host "
            "of this site the same DAILYPAPERS_SECRET_KEY",
            highlight=False,
        )
