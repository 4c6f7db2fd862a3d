"""FastAPI dependencies: a database session per request and the instance's settings.

The request owns the session's one transaction (services never commit; docs/ARCHITECTURE.md,
"Transactions: who commits"). A request that may write (POST, PUT, PATCH, DELETE) commits when
its route returns normally, before the response is sent, so whoever voted sees the vote on the
next page, another connection sees it by the time the answer arrives, and a mail queued as a
background task goes out only after the commit succeeded. A route that raises (a 4xx from a
ServiceError, RateLimited, HTTPProblem...) leaves nothing behind: closing the session rolls its
transaction back. A read (GET, HEAD) only closes its session; a read that wrote is a bug,
reported with :class:`WriteOnRead` (an error under the tests) and rolled back.

Where the commit runs: in the route's own worker thread, the moment the route function returns
(:class:`RequestRoute`, the route class of every router), as a route's own ``commit()`` did.
A write holds this process's write lock (db/engine.py) until its commit, so the commit must not
wait for another thread of the pool: FastAPI validates a route's returned value in the pool,
and when the pool's 40 threads were all routes waiting for that lock, the holder's next step
waited with them until the lock's 10 s timeout (measured: `benchmarks/vote_load.py` saturated
fell from ~100 to ~9 requests/s). What is still open when the route's answer is built (an
``async def`` route) commits in :func:`get_session` after it (``Depends(scope="function")``),
in a worker thread outside the pool's limit.

Both dependencies are ``async def``: they do no I/O (a session takes its connection at its first
query, in the route's thread), and FastAPI runs a plain ``def`` dependency in the thread pool,
so each would cost a thread hop per request, which under load means waiting for the GIL again.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.engine import transaction_wrote

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class WriteOnRead(RuntimeWarning):
    """A GET or HEAD request wrote to the database (its writes are rolled back, not committed)."""


class RequestTransaction:
    """The request's session and whether its method may write (what the route class needs)."""

    __slots__ = ("session", "writes")

    def __init__(self, session: Session, writes: bool) -> None:
        self.session = session
        self.writes = writes

    def route_returned(self) -> None:
        """The route returned normally: commit a write request's transaction, in this thread."""
        if self.writes and self.session.in_transaction():
            self.session.commit()


# Set by get_session in the request's task; the route's worker thread runs in a copy of it.
_REQUEST: ContextVar[RequestTransaction | None] = ContextVar("request_transaction", default=None)


async def get_session(request: Request) -> AsyncIterator[Session]:
    session: Session = request.app.state.session_factory()
    transaction = RequestTransaction(session, request.method in WRITE_METHODS)
    _REQUEST.set(transaction)
    try:
        yield session
        if transaction.writes:
            if session.in_transaction():  # not committed as the route returned (async route)
                await _commit(session)
        elif session.in_transaction() and transaction_wrote(session):
            warnings.warn(
                f"{request.method} {request.url.path} wrote to the database; rolled back",
                WriteOnRead,
                stacklevel=1,
            )
    finally:
        _REQUEST.set(None)
        # Returns the connection to the pool: a rollback of nothing (a read, or a write that was
        # committed) or of a request that raised, both quick enough for the event loop.
        session.close()


async def _commit(session: Session) -> None:
    """Commit in a worker thread outside the pool's limit, so it never waits for routes that
    wait for its write lock (FastAPI ends a plain ``def`` dependency the same way)."""
    await anyio.to_thread.run_sync(session.commit, limiter=anyio.CapacityLimiter(1))


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)  # FastAPI reads the parameters and annotations through it
    def run(*args: Any, **kwargs: Any) -> Any:
        answer = endpoint(*args, **kwargs)
        transaction = _REQUEST.get()
        if transaction is not None:
            transaction.route_returned()
        return answer

    run.__dict__["request_transaction"] = True
    return run


class RequestRoute(APIRoute):
    """The route class of every router here: a plain ``def`` route's request transaction commits
    in the route's worker thread as the route returns normally (see the module docstring)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint) and "request_transaction" not in vars(
            endpoint
        ):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
