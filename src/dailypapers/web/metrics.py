"""Prometheus metrics: request latency by route template, and the instance's state at scrape time.

- ``dailypapers_http_request_duration_seconds{method, route, status}``: a histogram per route
  *template* (``/papers/{arxiv_id:path}``, never the raw path: a crawler asking for a million
  URLs adds no label), ``unmatched`` for paths no route answers, status as ``2xx``..``5xx``.
- At scrape time, from the queue and the database (read by the process that answers):
  ``dailypapers_queue_depth`` (jobs waiting) and ``dailypapers_queue_up``,
  ``dailypapers_database_up``, ``dailypapers_ingest_checkpoint_age_seconds`` (since the newest
  committed harvest checkpoint), ``dailypapers_newest_paper_age_seconds`` (since the start, UTC,
  of the newest announcement day), ``dailypapers_embedding_backlog`` (papers without a vector
  under the serving model; counted at most once a minute), ``dailypapers_digest_deliveries{
  frequency, period, status}`` (the ledger of the newest daily and weekly period).
- Process metrics: prometheus-client's ``process_*`` for one process; under ``serve --workers N``
  ``dailypapers_worker_resident_memory_bytes{pid}`` and ``..._cpu_seconds{pid}`` per worker.

With ``serve --workers N`` each uvicorn worker is its own process: prometheus-client's multiprocess
mode keeps every worker's counts in files under ``metrics/`` in the data dir (emptied by ``serve``
before the workers start, :func:`prepare_metrics_dir`), and a scrape, answered by any one worker,
adds them all up.
"""

from __future__ import annotations

import os
import resource
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BACKLOG_EVERY_S = 60.0  # counting papers without a vector reads the whole table
PROCESS_EVERY_S = 5.0


def prepare_metrics_dir(settings: Settings) -> Path:
    """Empty ``metrics/`` in the data dir and point prometheus-client at it: called by ``serve``
    before its workers start (they inherit the environment), so their counts add up and a
    restart does not add the previous run's."""
    path = (settings.data_dir / "metrics").resolve()
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """One app's metrics: the request histogram and what a scrape reads."""

    def __init__(self, state: Callable[[], Iterable[Metric]]) -> None:
        self.multiprocess = multiprocess_dir()
        own = None if self.multiprocess else CollectorRegistry()
        self.requests = Histogram(
            "dailypapers_http_request_duration_seconds",
            "Time to answer a request, by route template, method and status class.",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=own,
        )
        self.memory = self.cpu = None
        if self.multiprocess:
            self.memory = Gauge(
                "dailypapers_worker_resident_memory_bytes",
                "Resident memory of each web worker process.",
                registry=None,
                multiprocess_mode="all",
            )
            self.cpu = Gauge(
                "dailypapers_worker_cpu_seconds",
                "CPU time used by each web worker process.",
                registry=None,
                multiprocess_mode="all",
            )
        self._own = own
        self._state = state
        self._process_at = 0.0
        if own is not None:
            ProcessCollector(registry=own)
            PlatformCollector(registry=own)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, f"{status // 100}xx").observe(seconds)
        now = time.monotonic()
        if (
            self.memory is not None
            and self.cpu is not None
            and now - self._process_at > PROCESS_EVERY_S
        ):
            self._process_at = now
            self.memory.set(_resident_bytes())
            usage = resource.getrusage(resource.RUSAGE_SELF)
            self.cpu.set(usage.ru_utime + usage.ru_stime)

    def exposition(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess)  # type: ignore[no-untyped-call]
        else:
            assert self._own is not None
            registry = CollectorRegistry()
            registry.register(_Chain(self._own))
        registry.register(_Scrape(self._state))
        return generate_latest(registry)


class _Chain:
    """A registry's metrics inside another registry (which gets the scrape-time ones too)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


class _Scrape:
    def __init__(self, state: Callable[[], Iterable[Metric]]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        yield from self.state()


def _resident_bytes() -> float:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return float(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
    except OSError:
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def gauge(name: str, documentation: str, value: float | None) -> Iterator[Metric]:
    if value is not None:
        yield GaugeMetricFamily(name, documentation, value=value)


def now_utc() -> datetime:
    return datetime.now(UTC)


class RequestMetrics:
    """Pure ASGI middleware (outermost): times every HTTP request and labels it by the template
    of the route that answered (``scope["route"]``, set by the router, or by the page cache for
    a kept page), ``unmatched`` when none did."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = self._template(scope)
            self.metrics.observe(scope["method"], route, status[0], time.perf_counter() - start)

    @staticmethod
    def _template(scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        return str(path) if path else "unmatched"
