"""Small builders shared by tests."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.db.engine import backend_of
from dailypapers.db.models import Paper
from dailypapers.mail import Mail
from dailypapers.services.accounts import add_user, create_session
from dailypapers.sources.arxiv.records import PaperRecord
from dailypapers.upsert import upsert_records


def record(arxiv_id: str, day: str, **fields: object) -> PaperRecord:
    values: dict[str, object] = {
        "title": f"Paper {arxiv_id}",
        "abstract": f"An abstract about transformers for paper {arxiv_id}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.LG"],
    }
    values.update(fields)
    return PaperRecord(arxiv_id=arxiv_id, announced_on=date.fromisoformat(day), **values)  # type: ignore[arg-type]


def add_papers(engine: Engine, *records: PaperRecord) -> None:
    upsert_records(engine, records)


# --- the community pages: three papers, a browser with its CSRF token, signed-in users ----------

PAPER = "2506.00001"
OTHER = "2506.00002"


def add_community_papers(engine: Engine) -> None:
    """PAPER and OTHER announced on 2025-06-20, and an older one the day before."""
    add_papers(
        engine,
        record(PAPER, "2025-06-20", title="Attention for everyone"),
        record(OTHER, "2025-06-20", title="Sparse mixtures"),
        record("2506.00003", "2025-06-19", title="An older paper"),
    )


class MailBox:
    """Stands in for the app's mail sender and keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    def link(self) -> str:
        match = re.search(r"https?://\S+/login/confirm\?token=\S+", self.sent[-1].text)
        assert match, self.sent[-1].text
        return match.group(0)


def csrf(client: TestClient) -> str:
    """The browser's CSRF token for its current session (tokens are bound to the session: a page
    sets a new one when the session changed; under https the cookie is ``__Host-dp_csrf``)."""
    client.get("/login")
    name = "dp_csrf" if "dp_csrf" in client.cookies else "__Host-dp_csrf"
    return client.cookies[name]


def post(client: TestClient, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """A form POST as the page would send it: with the CSRF token, not following redirects."""
    return client.post(
        url, data={"csrf_token": csrf(client), **(data or {})}, follow_redirects=False, **kw
    )


def sign_in_as(
    client: TestClient, engine: Engine, email: str, *, admin: bool = False, name: str | None = None
) -> int:
    """Give the client a session cookie for ``email`` (the mail round trip is tested once)."""
    with Session(engine) as session, session.begin():
        user = add_user(session, email, admin=admin, display_name=name)
        raw = create_session(session, user)
        user_id = user.id
    client.cookies.set("dp_session", raw)
    return user_id


def count(engine: Engine, model: Any, *where: Any) -> int:
    """Rows of ``model`` (matching ``where``) that are committed, seen from a new session."""
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def upvotes(engine: Engine, arxiv_id: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(Paper.upvotes).where(Paper.arxiv_id == arxiv_id)) or 0


class FakeClock:
    """A clock whose sleep() advances time at once, recording each wait (for pacing tests)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.sleeps.append(round(seconds, 3))
            self.time += seconds


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def dailypapers_server(
    args: list[str],
    *,
    port: int,
    env: dict[str, str],
    log: Path,
    timeout: float = 60,
    module: str = "dailypapers",
    started: list[subprocess.Popen[bytes]] | None = None,
) -> Iterator[str]:
    """Run ``python -m dailypapers ARGS --port PORT`` (output to ``log``) until it answers, yield
    its URL, stop it afterwards. Fails the test with the log's tail if it does not start.
    ``module="tests.worker_main"``: the same command line with the tests' fake model registered;
    ``started`` receives the process."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args, "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    if started is not None:
        started.append(process)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(url + "/api/daily_papers?limit=1", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
                pytest.fail(f"dailypapers {' '.join(args)} did not start:\n{tail}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def write_mark(conn: Connection) -> object:
    """Something that changes whenever another connection writes to the database: SQLite's
    ``data_version``; on PostgreSQL the next transaction id to be given out (only writes take
    one; the test server runs without autovacuum, so nothing else does)."""
    if backend_of(conn) == "sqlite":
        return conn.exec_driver_sql("PRAGMA data_version").scalar()
    return conn.exec_driver_sql("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar()


_T = TypeVar("_T")


def run_async(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run`` on a thread of its own: an earlier test (Playwright's sync API) may leave
    this thread's event loop set for the rest of the session."""
    answers: list[_T] = []
    runner = threading.Thread(target=lambda: answers.append(asyncio.run(coroutine)))
    runner.start()
    runner.join()
    assert answers, "the coroutine raised (see the thread's traceback above)"
    return answers[0]
