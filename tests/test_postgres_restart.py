"""PostgreSQL restarted under a real ``dailypapers serve`` (a subprocess on loopback) and a stream
of reads: the daily page, the API, keyword and hybrid search, a paper page; then restarted again
while nobody reads.

While the server is down every request answers within a few seconds, 200 (a page kept in memory)
or 503 with ``Retry-After`` — never a 500, never a hang; once it is back the same process answers
200 again, without a restart; and after a restart nobody saw, the first requests get fresh
connections (the pool pings a connection idle over ``PG_PING_IDLE_S``), not dead ones. (tests/test_postgres.py checks the 503 itself through TestClient.)
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dailypapers.config import Settings
from tests.fake_embedder import FAKE_MODEL
from tests.helpers import PAPER, dailypapers_server, free_port
from tests.postgres import SeparateServer, site_of_its_own
from tests.workers import worker_env

pytestmark = [pytest.mark.postgresql, pytest.mark.server]
READS = (
    "/",
    "/api/daily_papers",
    "/api/papers/search?q=attention",
    "/search?q=sparse+mixtures",
    f"/papers/{PAPER}",
)
HANG_S = 8.0  # a request slower than this counts as a hang (connect timeout 5 s + slack)
DOWN_S = 4.0  # how long PostgreSQL stays down


@dataclass(frozen=True)
class Answer:
    at: float
    path: str
    status: int  # 0: no HTTP answer (timeout, connection refused)
    seconds: float
    retry_after: str | None


class Reader:
    """Two threads reading READS in turn until stopped, every answer kept."""

    def __init__(self, url: str, timeout: float = HANG_S * 2) -> None:
        self.url = url
        self.timeout = timeout
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(2)]

    def _run(self, offset: int) -> None:
        with httpx.Client(base_url=self.url, timeout=self.timeout) as client:
            i = offset
            while not self._stop.is_set():
                path = READS[i % len(READS)]
                i += 1
                started = time.monotonic()
                try:
                    response = client.get(path)
                    status, retry = response.status_code, response.headers.get("retry-after")
                except httpx.HTTPError:
                    status, retry = 0, None
                self.answers.append(
                    Answer(started, path, status, time.monotonic() - started, retry)
                )
                time.sleep(0.05)

    def __enter__(self) -> Reader:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[SeparateServer, Settings]]:
    with site_of_its_own(tmp_path, embedding_model=FAKE_MODEL) as site:
        yield site


def _wait_for(url: str, paths: tuple[str, ...], within: float) -> float:
    """Seconds until every path answers 200 (fails the test after ``within``)."""
    started = time.monotonic()
    while True:
        statuses = [httpx.get(url + p, timeout=HANG_S).status_code for p in paths]
        if all(s == 200 for s in statuses):
            return time.monotonic() - started
        assert time.monotonic() - started < within, (
            f"not recovered: {dict(zip(paths, statuses, strict=True))}"
        )
        time.sleep(0.2)


@contextmanager
def served(
    settings: Settings, log: Path, started: list[subprocess.Popen[bytes]], **env: str
) -> Iterator[str]:
    """``dailypapers serve`` on the site's database (jobs elsewhere; ``env``: more settings),
    its output in ``log``, its process in ``started``; its URL once every read answers 200."""
    settings.data_dir.mkdir(parents=True)
    args = ["serve", "--data-dir", str(settings.data_dir)]
    variables = worker_env(settings, DAILYPAPERS_JOBS_IN_WEB="false", **env)
    with dailypapers_server(
        args, port=free_port(), env=variables, log=log, module="tests.worker_main", started=started
    ) as url:
        _wait_for(url, READS, within=60)  # warmed up: every read answers
        yield url


def test_a_served_site_rides_out_a_postgresql_restart(
    site: tuple[SeparateServer, Settings], tmp_path: Path
) -> None:
    server, settings = site
    log = tmp_path / "serve.log"
    started: list[subprocess.Popen[bytes]] = []
    with served(settings, log, started) as url:
        with Reader(url) as reader:
            time.sleep(1.0)
            down_at = time.monotonic()
            server.stop()
            time.sleep(DOWN_S)
            server.start()
            up_at = time.monotonic()
            recovered = _wait_for(url, READS, within=30)
            time.sleep(1.0)
        # A restart nobody noticed (no request in between): the pooled connections are dead,
        # and the very first requests after it must not be handed one.
        server.stop()
        server.start()
        quiet = [httpx.get(url + path, timeout=HANG_S) for path in READS * 2]
        assert [r.status_code for r in quiet] == [200] * len(quiet)
        assert started[0].poll() is None  # the same process throughout
    answers = reader.answers
    before = [a for a in answers if a.at + a.seconds < down_at]  # answered before the stop
    gap = [a for a in answers if down_at <= a.at < up_at]
    assert before and all(a.status == 200 for a in before), [a for a in before if a.status != 200]
    assert gap, "no request was made while PostgreSQL was down"
    assert all(a.status in (200, 503) for a in answers), [
        a for a in answers if a.status not in (200, 503)
    ]
    unavailable = [a for a in gap if a.status == 503]
    assert unavailable, "every request in the gap was answered 200: the test stopped nothing"
    assert all(a.retry_after and int(a.retry_after) > 0 for a in unavailable)
    slowest = max(answers, key=lambda a: a.seconds)
    assert slowest.seconds < HANG_S, slowest
    assert recovered < 15
    # Back: once one read got through, none fails again (the pool replaced its dead connections
    # when they were taken, rather than handing each to a request that then fails).
    first_ok = min(a.at for a in answers if a.at >= up_at and a.status == 200)
    after = [a for a in answers if a.at > first_ok + 0.5]
    assert after and all(a.status == 200 for a in after), [a for a in after if a.status != 200]
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
