"""``dailypapers init|demo|serve|worker``: the database, the web server, the job consumer."""

from __future__ import annotations

import os
from typing import Annotated

import typer

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
from dailypapers.runtime import Runtime
from dailypapers.services.sample import count_papers, load_sample

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
) -> None:
    """Load the bundled sample of real arXiv papers (once) and serve the site."""
    settings = load_settings(data_dir, host, port)
    engine = open_database(settings)
    with line_progress("loading the bundled sample") as advance:
        counts = load_sample(engine, on_progress=advance)
    if counts.new:
        out.print(f"loaded {counts.new:,} sample papers into {settings.data_dir}", highlight=False)
    else:
        papers = count_papers(engine)
        out.print(f"reusing {settings.data_dir} ({papers:,} papers)", highlight=False)
    engine.dispose()
    if serve:
        from dailypapers.services.embedding import embed_in_background

        check_model(settings)
        runtime = Runtime()
        embed_in_background(settings, runtime)  # keyword search works meanwhile
        run_server(settings, runtime)


def serve(
    data_dir: DataDir = None, host: Host = None, port: Port = None, workers: Workers = 1
) -> None:
    """Serve the site and the API on the database in the data directory."""
    settings = load_settings(data_dir, host, port)
    check_model(settings)
    open_database(settings).dispose()
    run_server(settings, Runtime(), jobs=True, workers=workers)


def run_server(
    settings: Settings, runtime: Runtime, *, jobs: bool = False, workers: int = 1
) -> None:
    """Serve until stopped; with ``jobs`` (and ``DAILYPAPERS_JOBS_IN_WEB``) the job consumer runs
    in this process too, sharing ``runtime`` with the app (one copy of the model and the index)."""
    import uvicorn

    from dailypapers.web.app import create_served_app

    consumer = None
    if jobs and settings.jobs_in_web:
        from dailypapers.jobs import make_jobs, start_in_process

        jobs_ = make_jobs(settings, runtime)
        consumer = start_in_process(jobs_.huey)
        jobs_.embed()  # papers without a vector (or a model switch) are embedded in the background
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
    )


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
