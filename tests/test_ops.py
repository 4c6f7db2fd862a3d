"""Operating the site: /healthz, /readyz and /metrics (who may read it, what it holds, the route
label's bounded cardinality), and under ``serve --workers 2`` request counts that add up."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, event, insert

from dailypapers.config import Settings
from dailypapers.db.models import DigestDelivery, IngestState, Subscription
from dailypapers.runtime import Runtime
from dailypapers.services.embedding import run_embedding
from dailypapers.web.app import create_app
from tests.helpers import add_papers, dailypapers_server, free_port, record
from tests.workers import eventually, worker_env

TOKEN = "scrape-" + secrets.token_hex(8)


@pytest.fixture
def site(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    add_papers(engine, record("2506.00001", "2025-06-20"), record("2506.00002", "2025-06-19"))
    with TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}))) as client:
        yield client


def scrape(client: TestClient) -> str:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


def value(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + ("{" if labels else " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in:\n{text}")


def test_healthz_answers_without_touching_the_database(site: TestClient) -> None:
    statements: list[str] = []
    event.listen(site.app.state.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))  # type: ignore[attr-defined]
    answer = site.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok"}
    assert statements == [] and "set-cookie" not in answer.headers


NO_VECTORS = "off: no paper has a vector yet (keywords only)"


def test_readyz_reports_each_part_and_503_without_a_database(
    site: TestClient, settings: Settings
) -> None:
    ready = site.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["status"] == "ready" and body["database"] == "ok"
    assert body["queue"] == "skipped (SQLite queue in the data dir)"
    assert body["semantic_search"] in ("loading", NO_VECTORS)  # the index opens in the background

    def semantic() -> str:
        return str(site.get("/readyz").json()["semantic_search"])

    eventually(lambda: semantic() == NO_VECTORS, what="the index opened")
    run_embedding(site.app.state.engine, settings, Runtime())  # type: ignore[attr-defined]
    eventually(lambda: semantic() == "loaded", what="the encoder loaded")
    assert "set-cookie" not in ready.headers
    site.app.state.engine = create_engine("sqlite:////nonexistent/folder/db.sqlite")  # type: ignore[attr-defined]
    down = site.get("/readyz")
    assert down.status_code == 503
    assert down.json()["status"] == "unavailable" and down.json()["database"].startswith("down: ")


def test_metrics_need_the_token_or_loopback(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_token": TOKEN}))) as client:
        assert client.get("/metrics").status_code == 403
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403 and "DAILYPAPERS_METRICS_TOKEN" in wrong.json()["error"]
        assert "set-cookie" not in wrong.headers
    app = create_app(settings)  # no token: loopback only, and never through a proxy
    with TestClient(app, client=("127.0.0.1", 5000)) as local:
        assert local.get("/metrics").status_code == 200
        proxied = local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status_code == 403
        assert local.get("/metrics", headers={"X-Real-IP": "203.0.113.9"}).status_code == 403
    with TestClient(app, client=("203.0.113.9", 5000)) as remote:
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 403


def test_request_latency_is_labelled_by_route_template(site: TestClient) -> None:
    for arxiv_id in ("2506.00001", "2506.00002", "2506.99999"):
        site.get(f"/api/papers/{arxiv_id}")
    for n in range(5):
        site.get(f"/no/such/page/{n}")
    site.get("/")  # twice: the second is a kept page, answered before the router
    assert site.get("/").headers.get("x-page-cache") == "hit"
    text = scrape(site)
    count = "dailypapers_http_request_duration_seconds_count"
    assert value(text, count, method="GET", route="/api/papers/{arxiv_id:path}", status="2xx") == 2
    assert value(text, count, method="GET", route="/api/papers/{arxiv_id:path}", status="4xx") == 1
    assert value(text, count, method="GET", route="unmatched", status="4xx") == 5
    assert value(text, count, method="GET", route="/", status="2xx") == 2
    assert "2506.00001" not in text and "/no/such" not in text  # never a raw path
    assert "process_cpu_seconds_total" in text and "process_resident_memory_bytes" in text


def test_metrics_report_the_queue_ingest_embeddings_and_digests(
    site: TestClient, engine: Engine
) -> None:
    text = scrape(site)
    assert value(text, "dailypapers_queue_up") == 1 and value(text, "dailypapers_queue_depth") >= 0
    assert value(text, "dailypapers_database_up") == 1
    assert value(text, "dailypapers_embedding_backlog") == 2  # nothing embedded yet
    assert "dailypapers_ingest_checkpoint_age_seconds" not in text  # never harvested
    age = value(text, "dailypapers_newest_paper_age_seconds")
    since = datetime.now(dt.UTC) - datetime(2025, 6, 20, tzinfo=dt.UTC)
    assert abs(age - since.total_seconds()) < 60

    an_hour_ago = datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(insert(IngestState).values(source="oai:cs", updated_at=an_hour_ago))
        sub = conn.execute(
            insert(Subscription).values(
                email="r@example.org", key="k", status="active", frequency="daily",
                created_at=an_hour_ago, confirmed_at=an_hour_ago,
            )
        ).inserted_primary_key[0]  # fmt: skip
        for period, status in [("day:2025-06-19", "sent"), ("day:2025-06-20", "deferred")]:
            conn.execute(
                insert(DigestDelivery).values(
                    subscription_id=sub, period_key=period, status=status, claimed_at=an_hour_ago
                )
            )
    text = scrape(site)
    assert 3590 < value(text, "dailypapers_ingest_checkpoint_age_seconds") < 3700
    deliveries = "dailypapers_digest_deliveries"
    assert (
        value(text, deliveries, frequency="daily", period="day:2025-06-20", status="deferred") == 1
    )
    assert "day:2025-06-19" not in text  # the latest period only


def serving(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def uvicorn_workers(parent: int) -> list[int]:
    """The worker processes ``serve --workers`` spawned (not multiprocessing's helpers)."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    found = []
    for pid in map(int, children):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command and b"resource_tracker" not in command:
            found.append(pid)
    return sorted(found)


def test_request_counts_of_two_workers_add_up(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    """``serve --workers 2``: requests land on either process; any scrape (answered by one of
    them) counts all of them. The metrics folder is emptied at start."""
    add_papers(engine, record("2506.00001", "2025-06-20"))
    stale = settings.data_dir / "metrics" / "histogram_4242.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by an earlier run")
    env = {k: v for k, v in worker_env(settings).items() if not k.startswith("PROMETHEUS")}
    env["DAILYPAPERS_JOBS_IN_WEB"] = "false"  # the test's settings (its database) and no jobs
    # Workers that take 7 s to start, as on a loaded machine: past uvicorn's default 5 s health
    # check, which killed and restarted them forever (serve now waits WORKER_HEALTHCHECK_S).
    env["TESTS_WORKER_START_DELAY_S"] = "7"
    args = ["serve", "--workers", "2"]
    log = tmp_path / "serve.log"
    server: list[subprocess.Popen[bytes]] = []
    with dailypapers_server(
        args,
        port=free_port(),
        env=env,
        log=log,
        timeout=120,  # 7 s asleep, then three processes import the app at once on 2 cores
        module="tests.worker_main",
        started=server,
    ) as url:
        assert not stale.exists()
        assert len(uvicorn_workers(server[0].pid)) == 2

        def send(count: int) -> int:
            with ThreadPoolExecutor(8) as pool:
                statuses = set(
                    pool.map(lambda _: httpx.get(url + "/api/papers/2506.00001"), range(count))
                )
            assert {answer.status_code for answer in statuses} == {200}
            return count

        def scrape() -> tuple[float, set[int]]:
            text = httpx.get(url + "/metrics").text
            count = value(
                text,
                "dailypapers_http_request_duration_seconds_count",
                method="GET",
                route="/api/papers/{arxiv_id:path}",
                status="2xx",
            )
            pids = re.findall(r'dailypapers_worker_resident_memory_bytes\{pid="(\d+)"\}', text)
            return count, set(map(int, pids))

        sent = send(20)
        _, answered = scrape()
        if len(answered) == 1:
            # The kernel handed every connection to one worker. Kill it: uvicorn starts another,
            # and the next requests are answered by other processes than the first ones were.
            (first,) = answered
            os.kill(first, signal.SIGKILL)
            eventually(
                lambda: (
                    first not in uvicorn_workers(server[0].pid)
                    and len(uvicorn_workers(server[0].pid)) == 2
                ),
                timeout=90,
                what="a new worker",
            )
            eventually(lambda: serving(url), timeout=90, what="serving again")
            sent += send(20)
        for _ in range(6):  # a scrape answered by either process counts every request
            count, answered = scrape()
            assert count == sent
        assert len(answered) >= 2, "the requests were all answered by one process"
    assert "Traceback" not in log.read_text()
