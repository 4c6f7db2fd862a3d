"""FastAPI dependencies: a database session per request and the instance's settings.

Both are ``async def``: they do no I/O (a session takes its connection at its first query, in the
route's thread), and FastAPI runs a plain ``def`` dependency in the thread pool, so each would cost
a thread hop per request, which under load means waiting for the GIL again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from dailypapers.config import Settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    # Closing returns the connection to the pool: a rollback of nothing, or of a request that
    # failed before its commit, both quick enough for the event loop.
    with request.app.state.session_factory() as session:
        yield session


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
