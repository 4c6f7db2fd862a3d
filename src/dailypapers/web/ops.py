"""Operating the site: ``/healthz`` (liveness), ``/readyz`` (readiness), ``/metrics`` (Prometheus).

- ``/healthz``: 200 while the process serves; touches nothing else (no database), so a restart
  is never triggered by a database outage.
- ``/readyz``: the database (a trivial query), the job queue (a Redis ping; skipped for the SQLite
  queue in the data dir, which is as reachable as the data dir) and search by meaning (loaded,
  loading, or off and why), each reported; 503 when the database or the queue is down, so a load
  balancer sends no traffic to a process that cannot answer. Semantic search still loading is
  ready: keyword search answers meanwhile.
- ``/metrics``: Prometheus text (:mod:`dailypapers.web.metrics`). Readable with
  ``Authorization: Bearer $DAILYPAPERS_METRICS_TOKEN`` when that is set; otherwise only by a
  client on loopback that did not come through a proxy (no ``X-Forwarded-For``, ``X-Real-IP``
  or ``Forwarded`` header): 403 for anyone else.

None of them sets cookies, is kept by the page cache, or counts against a rate limit (they are
reads).
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.core import GaugeMetricFamily, Metric

from dailypapers.config import Settings
from dailypapers.jobs.queue import QueueDown, depth, is_redis, ping
from dailypapers.services.health import (
    check_database,
    embedding_backlog,
    ingest_lag,
    latest_digest_counts,
)
from dailypapers.web.deps import RequestRoute
from dailypapers.web.metrics import BACKLOG_EVERY_S, gauge, now_utc

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, route_class=RequestRoute)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
PROXY_HEADERS = ("x-forwarded-for", "x-real-ip", "forwarded")


@router.get("/healthz")
async def healthz() -> Response:
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
def readyz(request: Request) -> Response:
    state = request.app.state
    checks: dict[str, str] = {}
    ready = True
    try:
        check_database(state.engine)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {_first_line(exc)}"
        ready = False
    settings: Settings = state.settings
    if not is_redis(settings):
        checks["queue"] = "skipped (SQLite queue in the data dir)"
    else:
        try:
            ping(state.jobs.huey)
            checks["queue"] = "ok"
        except QueueDown as exc:
            checks["queue"] = f"down: {exc}"
            ready = False
    checks["semantic_search"] = _semantic(state.semantic)
    body = {"status": "ready" if ready else "unavailable", **checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _semantic(semantic: Any) -> str:
    current = getattr(semantic, "current", None)
    if current is None:
        return "loaded"
    try:
        _, status = current()
    except Exception as exc:
        return f"off: {_first_line(exc)}"
    return {
        "ready": "loaded",
        "loading": "loading",
        "no-vectors": "off: no paper has a vector yet (keywords only)",
        "unavailable": "off: the model or the index could not be loaded (keywords only)",
    }.get(str(status), str(status))


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not _may_read_metrics(request, settings):
        why = (
            "send Authorization: Bearer with DAILYPAPERS_METRICS_TOKEN"
            if settings.metrics_token
            else "only clients on loopback may read /metrics (or set DAILYPAPERS_METRICS_TOKEN)"
        )
        return JSONResponse({"error": why}, status_code=403)
    return Response(
        request.app.state.metrics.exposition(),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


def _may_read_metrics(request: Request, settings: Settings) -> bool:
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.metrics_token}"
        return hmac.compare_digest(given.encode(), expected.encode())
    host = request.client.host if request.client else ""
    proxied = any(name in request.headers for name in PROXY_HEADERS)
    return host in LOOPBACK and not proxied


class InstanceState:
    """The scrape-time metrics of one app: read from the queue and the database on each scrape
    (the embedding backlog at most once a minute). A part that fails is left out, never a 500."""

    def __init__(self, app_state: Any) -> None:
        self.state = app_state
        self._backlog: tuple[float, str, int] | None = None  # (when, model, count)

    def __call__(self) -> Iterator[Metric]:
        yield from self._queue()
        yield from self._database()

    def _queue(self) -> Iterator[Metric]:
        try:
            waiting: int | None = depth(self.state.jobs.huey)
        except QueueDown:
            waiting = None
        up = 0.0 if waiting is None else 1.0
        yield from gauge("dailypapers_queue_up", "1 when the job queue answers.", up)
        yield from gauge("dailypapers_queue_depth", "Jobs waiting in the queue.", waiting)

    def _database(self) -> Iterator[Metric]:
        engine = self.state.engine
        try:
            lag = ingest_lag(engine)
            digests = latest_digest_counts(engine)
            backlog = self._embedding_backlog(engine)
        except Exception as exc:
            log.warning("metrics: database unavailable: %s", _first_line(exc))
            yield from gauge("dailypapers_database_up", "1 when the database answers.", 0)
            return
        yield from gauge("dailypapers_database_up", "1 when the database answers.", 1)
        now = now_utc()
        yield from gauge(
            "dailypapers_ingest_checkpoint_age_seconds",
            "Seconds since the newest committed harvest checkpoint.",
            lag.checkpoint_age_s(now),
        )
        yield from gauge(
            "dailypapers_newest_paper_age_seconds",
            "Seconds since the start (UTC) of the newest announcement day with papers.",
            lag.newest_paper_age_s(now),
        )
        yield from gauge(
            "dailypapers_embedding_backlog",
            "Papers without a vector under the serving model.",
            backlog,
        )
        family = GaugeMetricFamily(
            "dailypapers_digest_deliveries",
            "Digest ledger rows of the newest daily and weekly period, by status.",
            labels=["frequency", "period", "status"],
        )
        for (frequency, period), statuses in digests.items():
            for status, count in sorted(statuses.items()):
                family.add_metric([frequency, period, status], count)
        yield family

    def _embedding_backlog(self, engine: Any) -> int:
        opened = getattr(self.state.semantic, "index", None)
        index = opened()[0] if opened is not None else None
        model = getattr(index, "model_name", None) or self.state.settings.embedding_model
        cached = self._backlog
        if cached and cached[1] == model and time.monotonic() - cached[0] < BACKLOG_EVERY_S:
            return cached[2]
        count = embedding_backlog(engine, model)
        self._backlog = (time.monotonic(), model, count)
        return count


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
