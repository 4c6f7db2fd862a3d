"""Where a search's time goes on PostgreSQL: statements per request, time in each kind of
statement, and the plans of the slowest, for the requests ``full_arxiv.py`` measures.

    nice -n 10 python benchmarks/pg_search_profile.py --cache benchmarks/.cache/full-arxiv-100k
        [--queries 50] [--explain 5] [--only paraphrase|topic|misspelled] [--clients 8]
        [--passes 2] [--slowest 5]

Runs the web app in this process (FastAPI's TestClient: no HTTP server, no pool waits: one
request at a time) against the PostgreSQL that ``full_arxiv.py --cache DIR`` loaded (started here
on its data directory, stopped after), with a statement hook on the app's engine: for each request
its wall time, this process's CPU time, the statements it sent and their time (the time from
sending a statement to having its rows: the server's work plus the round trip). Then totals per
kind of statement (its SQL with the literals taken out), and with ``--explain N`` the
``EXPLAIN (ANALYZE, BUFFERS, SETTINGS)`` of the slowest statement of the N costliest kinds,
replayed in a transaction after the statements that came before them in their request (those
that set planner settings). ``--passes N`` measures the last of N passes (the word counts cached,
as in a running site); the round trips besides statements (pool pings, BEGIN, and the COMMIT or
ROLLBACK psycopg sends) are counted per request; the text queries are broken down by filter and
page, and ``--slowest N`` lists the N slowest requests' statements. The server's own settings
that matter (``jit``, parallel workers, ``work_mem``) are printed first.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _server import percentile
from full_arxiv import MODELS, Postgres
from search_latency import copied_queries, user_requests, variants
from sqlalchemy import event, text

from dailypapers.config import Settings

Statement = tuple[str, Any, float]  # SQL, parameters, seconds


def _kind(sql: str) -> str:
    sql = re.sub(r"'[^']*'", "'?'", " ".join(sql.split()))
    sql = re.sub(r"%\(\w+\)s", "?", sql)
    sql = re.sub(r"\(\?(, \?)+\)", "(?...)", sql)
    return sql[:160]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="full_arxiv.py --cache DIR")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument(
        "--explain", type=int, default=0, help="plans of the N costliest kinds of statement"
    )
    parser.add_argument("--only", help="only this kind of request (paraphrase, topic, misspelled)")
    parser.add_argument(
        "--passes", type=int, default=1, help="measure the last of N passes (word counts cached)"
    )
    parser.add_argument(
        "--slowest", type=int, default=0, help="list the N slowest requests' statements"
    )
    parser.add_argument("--url", help="a PostgreSQL of your own instead of the cache's")
    parser.add_argument(
        "--clients",
        type=int,
        default=1,
        help="send the requests from this many threads at once: wall times and the pool's waits "
        "only (statements are not told apart per request)",
    )
    args = parser.parse_args()
    if not (args.cache / "postgresql.loaded").exists() and not args.url:
        sys.exit(f"no loaded PostgreSQL in {args.cache}: run full_arxiv.py --cache first")
    postgres = None if args.url else Postgres(args.cache / "pgdata", keep=True)
    url = args.url or postgres.url  # type: ignore[union-attr]
    try:
        run(args, url)
    finally:
        if postgres is not None:
            postgres.close()


def run(args: argparse.Namespace, url: str) -> None:
    from fastapi.testclient import TestClient

    from dailypapers.search.catalogue import CATALOGUES
    from dailypapers.web.app import create_app

    data_dir = args.cache / "profile"
    data_dir.mkdir(exist_ok=True)
    if not (data_dir / "models").exists():
        (data_dir / "models").symlink_to(MODELS.resolve())
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        jobs_in_web=False,
        page_cache_mb=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = create_app(settings)
    engine = app.state.engine
    with engine.connect() as conn:
        for name in (
            "server_version",
            "jit",
            "jit_above_cost",
            "max_parallel_workers_per_gather",
            "work_mem",
            "shared_buffers",
            "random_page_cost",
            "statement_timeout",
        ):
            value = conn.execute(text(f"SHOW {name}")).scalar()
            print(f"  {name} = {value}")  # fmt: skip
    statements: list[Statement] = []
    trips = {"ping": 0, "end": 0}  # pool pings; transactions ended (each also had a BEGIN)
    for name, key in (("do_ping", "ping"), ("do_rollback", "end"), ("do_commit", "end")):
        _count_calls(engine.dialect, name, trips, key)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info["began"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        statements.append((sql, params, time.perf_counter() - conn.info.pop("began")))

    dates = args.cache / "dates"  # full_arxiv.py's: the announce-day range of the papers
    if not (dates / "dailypapers.db").exists():
        dates.mkdir(exist_ok=True)
        with sqlite3.connect(dates / "dailypapers.db") as db:
            db.execute("CREATE TABLE papers (announced_on TEXT)")
            db.executemany("INSERT INTO papers VALUES (?)", [("2015-01-01",), ("2025-07-04",)])
    small = Path(__file__).parent / ".cache" / "latency-33k"
    copied = copied_queries(small, args.queries, seed=11)
    requests = user_requests(dates, args.queries, seed=13, ids=copied["id"])
    if args.only:
        requests = [r for r in requests if r[0] == args.only]
    with TestClient(app) as client:
        began = time.monotonic()
        while app.state.semantic.current()[0] is None:  # the encoder loads in the background
            assert time.monotonic() - began < 300, "semantic search never became ready"
            time.sleep(0.5)
        for q in ("warm up", "graph neural networks", "diffusion models for images"):
            assert client.get("/api/papers/search", params={"q": q}).status_code == 200
        index = app.state.semantic.current()[0].index
        while CATALOGUES.ready(engine, index.model_name) is None:  # built in the background
            assert time.monotonic() - began < 900, "the filter catalogue was never built"
            time.sleep(0.5)
        print(f"  filter catalogue ready {time.monotonic() - began:.0f} s after the start")
        statements.clear()  # (the build's, on the app's engine)
        if args.clients > 1:
            concurrent(client, engine, requests, args.clients)
            engine.dispose()
            return
        rows: list[tuple[str, dict[str, str], float, float, list[Statement]]] = []
        others: list[int] = []  # round trips besides statements: pings, BEGIN, COMMIT/ROLLBACK
        for _ in range(args.passes):
            rows.clear()
            others.clear()
            for kind, params in requests:
                statements.clear()
                trips.update(ping=0, end=0)
                cpu, wall = time.process_time(), time.perf_counter()
                response = client.get("/api/papers/search", params=params)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                assert response.status_code == 200, (params, response.status_code, response.text)
                rows.append((kind, params, wall, cpu, list(statements)))
                others.append(trips["ping"] + 2 * trips["end"])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    walls = [r[2] * 1000 for r in rows]
    text_rows = [r for r in rows if r[0] != "id"]
    print(f"\n{len(rows)} requests at {datetime.now(UTC):%H:%M} UTC, load {load}")
    for label, chosen in (("text queries", text_rows), ("all", rows)):
        w = sorted(r[2] * 1000 for r in chosen)
        db = [sum(s[2] for s in r[4]) * 1000 for r in chosen]
        print(
            f"  {label}: wall p50 {percentile(w, 0.5):.0f} p95 {percentile(w, 0.95):.0f} ms; "
            f"CPU here {statistics.mean(r[3] for r in chosen) * 1000:.0f} ms a request; "
            f"in statements {statistics.mean(db):.0f} ms a request (p95 {percentile(db, 0.95):.0f}); "
            f"statements a request {statistics.mean(len(r[4]) for r in chosen):.1f} "
            f"(max {max(len(r[4]) for r in chosen)})"
        )  # fmt: skip
    print(f"  other round trips (pool pings, BEGIN, COMMIT/ROLLBACK) a request: "
          f"{statistics.mean(others):.1f} (max {max(others)})")  # fmt: skip
    del walls
    print("\ntext queries by filter and page (wall p50 / p95 ms, statements a request):")
    groups: dict[str, list[tuple[float, int]]] = {}
    for row in text_rows:
        for label in variants(row[1]):
            groups.setdefault(label, []).append((row[2] * 1000, len(row[4])))
    for label, values in groups.items():
        w = sorted(v[0] for v in values)
        print(f"  {label:18s} {len(w):4d}  {percentile(w, 0.5):6.0f} / {percentile(w, 0.95):6.0f}"
              f"  {statistics.mean(v[1] for v in values):5.1f}")  # fmt: skip
    for row in sorted(text_rows, key=lambda r: -r[2])[: args.slowest]:
        print(f"\n{row[2] * 1000:.0f} ms, CPU {row[3] * 1000:.0f} ms, {row[1]}:")
        for sql, _, seconds in row[4]:
            print(f"  {seconds * 1000:7.1f}  {_kind(sql)[:110]}")
    by_kind: dict[str, list[float]] = {}
    for row in text_rows:
        for sql, _, seconds in row[4]:
            by_kind.setdefault(_kind(sql), []).append(seconds * 1000)
    print("\nstatements of text queries by total time (ms: total, count, p50, p95, max):")
    for sql, times in sorted(by_kind.items(), key=lambda kv: -sum(kv[1]))[:15]:
        times.sort()
        print(f"  {sum(times):8.0f} {len(times):5d} {percentile(times, 0.5):7.1f} "
              f"{percentile(times, 0.95):7.1f} {times[-1]:7.1f}  {sql}")  # fmt: skip
    if args.explain:
        # the slowest statement of each of the ``--explain`` costliest kinds
        worst: dict[str, tuple[float, int, int]] = {}
        for i, row in enumerate(text_rows):
            for j, (sql, _, seconds) in enumerate(row[4]):
                kind = _kind(sql)
                if kind not in worst or seconds > worst[kind][0]:
                    worst[kind] = (seconds, i, j)
        costliest = sorted(by_kind, key=lambda k: -sum(by_kind[k]))[: args.explain]
        slowest = [worst[k] for k in costliest]
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for seconds, i, j in slowest:
                kind, params, *_ = text_rows[i]
                print(f"\n--- {seconds * 1000:.0f} ms, request {params}:")
                for sql, values, _ in text_rows[i][4][:j]:
                    if "set_config" in sql:
                        cursor.execute(sql, values)
                sql, values, _ = text_rows[i][4][j]
                print(" ".join(sql.split())[:600])
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, SETTINGS) " + sql, values)
                for (line,) in cursor.fetchall():
                    print("   ", line)
                raw.rollback()
        finally:
            raw.close()
    engine.dispose()


def _count_calls(dialect: Any, name: str, counts: dict[str, int], key: str) -> None:  # noqa: ANN401
    method = getattr(dialect, name)

    def counted(dbapi: Any) -> Any:  # noqa: ANN401
        raw = getattr(dbapi, "dbapi_connection", dbapi)  # (the pool's wrapper)
        # psycopg ends no transaction when none is open: that sends nothing
        if key == "ping" or int(raw.info.transaction_status) != 0:
            counts[key] += 1
        return method(dbapi)

    setattr(dialect, name, counted)


def concurrent(client: Any, engine: Any, requests: list[Any], clients: int) -> None:  # noqa: ANN401
    """The requests from ``clients`` threads at once: wall p50/p95, and how long requests waited
    for a pooled connection (the pool's ``_do_get`` timed)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = engine.pool
    waits: list[float] = []
    take = pool._do_get

    def timed_get() -> Any:  # noqa: ANN401
        began = time.perf_counter()
        try:
            return take()
        finally:
            waits.append(time.perf_counter() - began)

    pool._do_get = timed_get

    def one(params: dict[str, str]) -> float:
        began = time.perf_counter()
        response = client.get("/api/papers/search", params=params)
        assert response.status_code == 200, (params, response.status_code)
        return (time.perf_counter() - began) * 1000

    cpu, began = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(clients) as executor:
        walls = sorted(executor.map(one, [p for k, p in requests if k != "id"]))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    slow = [w for w in waits if w > 0.001]
    print(
        f"\n{len(walls)} text queries from {clients} clients at {datetime.now(UTC):%H:%M} UTC, "
        f"load {load}: wall p50 {percentile(walls, 0.5):.0f} p95 {percentile(walls, 0.95):.0f} ms, "
        f"{len(walls) / elapsed:.1f} requests/s, CPU here {cpu * 1000 / len(walls):.0f} ms a "
        f"request; pool checkouts {len(waits)}, {len(slow)} waited over 1 ms "
        f"(longest {max(waits, default=0) * 1000:.0f} ms, {sum(slow) * 1000 / len(walls):.1f} ms "
        "a request)"
    )


if __name__ == "__main__":
    main()
