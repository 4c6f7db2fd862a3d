"""Real ``dailypapers worker`` processes for the tests of the job system: start them on the test's
settings (handed over as ``DAILYPAPERS_*`` variables), wait for their log lines, kill them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from dailypapers.config import Settings
from dailypapers.db import locks
from dailypapers.db.models import Lock
from dailypapers.jobs.consumer import SCHEDULER_LEASE

ROOT = Path(__file__).resolve().parents[1]


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(settings.as_environment())
    # Jobs these tests do not watch stay off the network: no thumbnails (their PDFs come from
    # arxiv.org, through the arXiv lease the tests count requests under), and the hourly GitHub
    # stars, should a test run across minute 45, ask a loopback port where nothing listens.
    env["DAILYPAPERS_THUMBNAILS"] = "false"
    env["DAILYPAPERS_GITHUB_API_URL"] = "http://127.0.0.1:9"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker never logged {text!r}:\n{self.output()[-3000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # graceful: finish the job in hand
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def workers(
    settings: Settings,
    tmp_path: Path,
    count: int = 1,
    *,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> Iterator[list[Worker]]:
    """``count`` ``dailypapers worker ARGS`` processes, each ready (it logged its start line)."""
    started = []
    try:
        for n in range(count):
            log = tmp_path / f"worker-{n}-{time.monotonic_ns()}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "tests.worker_main", "worker", *args],
                    cwd=tmp_path,
                    env=worker_env(settings, **(env or {})),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            started.append(Worker(process, log))
        for worker in started:
            worker.wait_for("job threads on")
        yield started
    finally:
        for worker in started:
            worker.stop()


def eventually(check: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def lapse_leases_of(engine: Engine, pid: int) -> list[str]:
    """Let the leases a dead process held lapse now (what waiting out their ``lease_s`` does:
    10 minutes for the arXiv lease), returning their names."""
    with engine.begin() as conn:
        held = conn.execute(
            select(Lock.name).where(Lock.holder.like(f"%:{pid}:%"), Lock.expires_at.is_not(None))
        ).scalars()
        names = sorted(held)
        conn.execute(update(Lock).where(Lock.name.in_(names)).values(expires_at=1.0))
    return names


def hold_the_scheduler_elsewhere(engine: Engine) -> None:
    """Another consumer schedules: workers started by a test run only the jobs it asks for."""
    locks.acquire(engine, SCHEDULER_LEASE, "elsewhere:0:test", now=time.time(), lease_s=3600)
