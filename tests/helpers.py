"""Small builders shared by tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

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
    args: list[str], *, port: int, env: dict[str, str], log: Path, timeout: float = 60
) -> Iterator[str]:
    """Run ``python -m dailypapers ARGS --port PORT`` (output to ``log``) until it answers, yield
    its URL, stop it afterwards. Fails the test with the log's tail if it does not start."""
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "dailypapers", *args, "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
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
