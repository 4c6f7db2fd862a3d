"""The polite arXiv client and the database lease, against a fake arXiv on loopback."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.db import locks
from dailypapers.sources.arxiv.http import ArxivUnavailable, PoliteClient, retry_after_seconds
from tests.fake_arxiv import FakeArxiv
from tests.helpers import FakeClock

RECORDED_503 = (
    Path(__file__).parent
    / "data/arxiv/oai-pmh/paperhive-2018/oaipmh-listrecords---should-list-identifiers-from-arxiv.json"
)


def _client(clock: FakeClock, retries: int = 3) -> PoliteClient:
    return PoliteClient(
        user_agent="dailypapers-test (mailto:ops@example.org)",
        delay_s=3.0,
        max_retries=retries,
        timeout_s=5,
        clock=clock,
        rng=random.Random(7),
    )


def test_requests_are_paced_and_identified(fake: FakeArxiv) -> None:
    fake.add("/oai", b"<ok/>")
    clock = FakeClock()
    with _client(clock) as client:
        for _ in range(3):
            assert client.get(fake.url + "/oai", {"verb": "Identify"}).status_code == 200
    assert clock.sleeps == [3.0, 3.0]
    assert all("mailto:ops@example.org" in seen.headers["User-Agent"] for seen in fake.requests)


def test_real_503_retry_after_exchange_is_honoured(fake: FakeArxiv) -> None:
    exchanges = json.loads(RECORDED_503.read_text())
    for exchange in exchanges:
        raw = exchange["rawHeaders"]
        headers = dict(zip(raw[::2], raw[1::2], strict=True))
        kept = {k: v for k, v in headers.items() if k in ("Retry-After", "Content-Type")}
        fake.add(
            "/oai",
            exchange["response"].encode(),
            status=int(exchange["status"]),
            headers=kept,
            times=1,
        )
    clock = FakeClock()
    with _client(clock) as client:
        response = client.get(fake.url + "/oai", {"verb": "ListRecords"})
    assert response.status_code == 200 and b"<ListRecords>" in response.content
    assert clock.sleeps == [10.0]  # exactly what Retry-After asked, no extra delay on top
    assert len(fake.requests) == 2


def test_server_errors_back_off_then_give_up_clearly(fake: FakeArxiv) -> None:
    fake.add("/oai", b"oops", status=500)
    clock = FakeClock()
    with (
        _client(clock, retries=3) as client,
        pytest.raises(ArxivUnavailable, match=r"after 4 tries \(HTTP 500\)"),
    ):
        client.get(fake.url + "/oai")
    assert len(fake.requests) == 4
    assert len(clock.sleeps) == 3 and clock.sleeps[0] < clock.sleeps[1] < clock.sleeps[2]


def test_dropped_connection_and_429_are_retried(fake: FakeArxiv) -> None:
    fake.add("/oai", drop=True, times=1)
    fake.add("/oai", b"slow down", status=429, headers={"Retry-After": "7"}, times=1)
    fake.add("/oai", b"<ok/>")
    clock = FakeClock()
    with _client(clock) as client:
        assert client.get(fake.url + "/oai").content == b"<ok/>"
    assert 7.0 in clock.sleeps and len(fake.requests) == 3


def test_client_errors_are_returned_for_the_caller_to_read(fake: FakeArxiv) -> None:
    fake.add("/api", b"<feed>error</feed>", status=400)
    with _client(FakeClock()) as client:
        assert client.get(fake.url + "/api").status_code == 400


def test_a_very_long_retry_after_fails_at_once(fake: FakeArxiv) -> None:
    fake.add("/oai", b"", status=503, headers={"Retry-After": "86400"})
    with (
        _client(FakeClock()) as client,
        pytest.raises(ArxivUnavailable, match="come back in 86400 s"),
    ):
        client.get(fake.url + "/oai")
    assert len(fake.requests) == 1


def test_retry_after_formats() -> None:
    assert retry_after_seconds("10", 0) == 10
    assert retry_after_seconds("Thu, 01 Jan 1970 00:01:40 GMT", 40.0) == 60.0
    assert retry_after_seconds("soon", 0) is None and retry_after_seconds(None, 0) is None


def test_lease_is_exclusive_expires_and_paces_across_processes(engine: Engine) -> None:
    assert locks.acquire(engine, "arxiv", "a", now=100, lease_s=60)
    assert not locks.acquire(engine, "arxiv", "b", now=110, lease_s=60)
    assert locks.info(engine, "arxiv").holder == "a"
    assert locks.renew(engine, "arxiv", "a", now=150, lease_s=60)
    assert not locks.acquire(engine, "arxiv", "b", now=200, lease_s=60)
    assert locks.acquire(engine, "arxiv", "b", now=211, lease_s=60)  # a's lease ran out at 210
    assert not locks.renew(engine, "arxiv", "a", now=212, lease_s=60)
    locks.release(engine, "arxiv", "b")
    assert locks.acquire(engine, "arxiv", "a", now=213, lease_s=60)
    assert locks.next_request_slot(engine, "arxiv", now=300, delay_s=3) == 0
    assert locks.next_request_slot(engine, "arxiv", now=301, delay_s=3) == 2  # 303 is next
    assert locks.next_request_slot(engine, "arxiv", now=301, delay_s=3) == 5  # then 306
