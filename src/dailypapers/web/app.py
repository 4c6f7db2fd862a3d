"""The app factory: one FastAPI app per Settings, with its own engine (nothing built at import)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.db.changes import change_counter
from dailypapers.db.engine import backend_of, make_engine, make_session_factory
from dailypapers.db.migrate import upgrade
from dailypapers.jobs import Jobs, make_jobs
from dailypapers.mail import make_sender
from dailypapers.runtime import Runtime
from dailypapers.search.semantic import SemanticSource
from dailypapers.search.spelling import Spelling
from dailypapers.services.accounts import initials
from dailypapers.services.sample_activity import has_sample_activity
from dailypapers.web import (
    accounts,
    api,
    api_papers,
    assets,
    atom,
    authors,
    claims,
    collections,
    comments,
    digests,
    exports,
    for_you,
    ops,
    organizations,
    pages,
    paper_map,
    submit,
    thumbs,
    votes,
)
from dailypapers.web.assets import DOCS_ASSETS, docs_assets
from dailypapers.web.auth import page_user
from dailypapers.web.csrf import BrowserCookies, verify_csrf
from dailypapers.web.errors import install_error_handlers
from dailypapers.web.filters import (
    author_links,
    author_url,
    authors_short,
    latex_to_text,
    render_marks,
    render_math,
    shorten,
    stars,
)
from dailypapers.web.flash import take_flash
from dailypapers.web.metrics import Metrics, RequestMetrics
from dailypapers.web.ops import InstanceState
from dailypapers.web.page_cache import PageCache, PageStore
from dailypapers.web.security import BodyLimit, HttpsCookies, SecurityHeaders
from dailypapers.web.transport import Compress, HeadAsGet

HERE = Path(__file__).parent


def _page_context(request: Request) -> dict[str, Any]:
    """What every page's header needs: the CSRF token for forms and htmx, and who is signed in."""
    return {
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "current_user": page_user(request),
    }


def make_templates(settings: Settings) -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_page_context])
    env = templates.env
    env.filters.update(
        math=render_math,
        marks=render_marks,
        plain=latex_to_text,
        shorten=shorten,
        authors_short=authors_short,
        author_links=author_links,
        author_url=author_url,
        initials=initials,
        stars=stars,
    )
    env.globals.update(site_name=settings.site_name, version=__version__, take_flash=take_flash)
    return templates


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """When the server stops: close the database connections (a pool of PostgreSQL connections
    would otherwise linger until the server times them out)."""
    yield
    if app.state.page_cache is not None:
        app.state.page_cache.version.close()
    app.state.engine.dispose()


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    semantic: SemanticSource | None = None,
    spelling: Spelling | None = None,
    jobs: Jobs | None = None,
) -> FastAPI:
    """Build the web app for ``settings`` (default: read from the environment).

    ``runtime``: the process's models, indexes and caches (default: a new one; ``serve`` passes
    the one its job consumer shares); ``semantic`` replaces the dense half of search (tests use a
    small fake encoder and index), ``spelling`` the vocabulary of suggestions (tests build it at
    once); ``jobs``: the queue the app enqueues to (default: the one the settings name; the app
    only enqueues, consumers run the jobs).
    """
    settings = settings or Settings()
    runtime = runtime or Runtime()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)  # without a time limit: requests get one (a second engine, PostgreSQL only)
    if backend_of(engine) == "postgresql":
        engine.dispose()
        engine = make_engine(
            settings.resolved_database_url,
            statement_timeout_s=settings.database_statement_timeout_s,
            serving=True,
        )
    app = FastAPI(
        title="dailypapers",
        version=__version__,
        description="Daily arXiv papers: feeds, search and a Hugging Face-compatible papers API.",
        dependencies=[Depends(verify_csrf)],  # every POST/PUT/PATCH/DELETE, on every router
        docs_url=None,  # assets.py serves /docs and /redoc from local files
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.templates = make_templates(settings)
    with app.state.session_factory() as session:  # the demo's sample votes are labelled as such
        app.state.templates.env.globals["sample_activity"] = has_sample_activity(session)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.mail_sender = make_sender(settings)
    app.state.runtime = runtime
    app.state.semantic = semantic or runtime.semantic_source(settings, engine)
    app.state.spelling = spelling or runtime.spelling(engine)
    app.state.jobs = jobs or make_jobs(settings, runtime)
    app.state.metrics = Metrics(InstanceState(app.state))
    install_error_handlers(app)
    version = change_counter(engine) if settings.page_cache_mb > 0 else None
    app.state.page_cache = None
    if version is not None:  # inside BrowserCookies, which is added after it
        app.state.page_cache = PageStore(version, int(settings.page_cache_mb * 1024 * 1024))
        app.add_middleware(PageCache, store=app.state.page_cache)
    https = settings.base_url.startswith("https://")
    # Middlewares, innermost first (each one added wraps the ones before it):
    app.add_middleware(BrowserCookies, secret=app.state.secret_key, https=https)
    app.add_middleware(Compress)  # after the page cache, which packs kept pages itself
    app.add_middleware(BodyLimit)  # before anything reads a body
    if https:
        app.add_middleware(HttpsCookies)  # __Host- names and Secure, before anyone reads them
    app.add_middleware(SecurityHeaders, https=https)
    app.add_middleware(HeadAsGet)  # HEAD gets exactly GET's headers
    # outermost: times everything, kept pages included
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.mount(DOCS_ASSETS, StaticFiles(directory=docs_assets()), name="docs-assets")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(assets.router)
    app.include_router(ops.router)
    app.include_router(api_papers.router)
    app.include_router(api.router)
    app.include_router(thumbs.router)
    app.include_router(paper_map.router)
    app.include_router(atom.router)
    app.include_router(authors.router)
    app.include_router(organizations.router)
    app.include_router(accounts.router)
    app.include_router(digests.router)
    app.include_router(digests.pages)
    # before pages: its GET /papers/{arxiv_id:path} would also match /papers/{id}/save
    routers = [votes.router, submit.router, comments.router, collections.router, claims.router]
    routers += [for_you.router, exports.router]
    for router in routers:
        app.include_router(router)
    app.include_router(pages.router)
    return app


def create_served_app(
    settings: Settings | None = None, runtime: Runtime | None = None, jobs: Jobs | None = None
) -> FastAPI:
    """``create_app`` for a long-running server process (``serve``, ``demo``, each worker).

    Then the garbage collector is settled: what was built so far (modules, templates, the app)
    lives as long as the process, so it is frozen out of the collector's sweeps. Without that,
    each full collection walked ~150,000 objects and paused every request in flight for 65-100 ms,
    the slowest reads under load.
    """
    app = create_app(settings, runtime=runtime, jobs=jobs)
    gc.collect()
    gc.freeze()
    return app
