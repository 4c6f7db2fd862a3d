"""``dailypapers migrate-db``: a whole instance copied to another database, and back.

- SQLite -> PostgreSQL with every table holding rows (papers through the upsert, accounts, votes,
  comments, collections and subscriptions through the services, vectors through the vector store,
  the rest one row each from the models): the target holds the same rows, its sequences go on
  past the copied ids, its keyword search finds the papers; PostgreSQL -> SQLite gives the same
  rows again (and an FTS5 index over them).
- A real ``dailypapers migrate-db`` killed (SIGKILL) in the middle of a batch, twice, then run
  again: the same rows, none twice.
- What a user can get wrong is one line and exit code 2.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.db import keyword_index, move
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.db.models import User
from dailypapers.db.move_check import VECTOR_ATOL, VECTOR_RTOL
from dailypapers.db.vector_store import vector_store
from dailypapers.faults import ENV as CRASH_AT
from dailypapers.search.fts import keyword_ranking
from dailypapers.services import moving
from dailypapers.services.accounts import add_user, create_api_token, create_session
from dailypapers.services.collections import add_item, create_collection
from dailypapers.services.comments import add_comment
from dailypapers.services.moving import move_database
from dailypapers.services.subscriptions import add_saved_search, subscribe
from dailypapers.services.votes import vote
from tests.conftest import enabled_backends
from tests.helpers import add_papers, free_port, record
from tests.postgres import PostgresServer

pytestmark = pytest.mark.postgresql
runner = CliRunner()
PAPERS = 40
MODEL = "test-model"


@pytest.fixture
def pg(postgres_server: PostgresServer) -> Iterator[str]:
    """An empty, migrated PostgreSQL database."""
    if "postgresql" not in enabled_backends():
        pytest.skip("PostgreSQL is not among DAILYPAPERS_TEST_BACKENDS")
    with postgres_server.database() as url:
        yield url


def _filler(table: Table, column: Any, engine: Engine) -> Any:  # noqa: ANN401
    """A value for a column of a table no service fills here."""
    for fk in column.foreign_keys:
        with engine.connect() as conn:
            return conn.execute(select(fk.column).limit(1)).scalar_one()
    kind = column.type
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 3
    if isinstance(kind, Float):
        return 0.25
    if isinstance(kind, DateTime):
        return datetime(2025, 6, 24, 12, 30, 15, 123456)
    if isinstance(kind, Date):
        return date(2025, 6, 24)
    if isinstance(kind, JSON):
        return {"words": ["ünïcode", "x"], "n": 2}
    if isinstance(kind, LargeBinary):
        return b"\x00\x01\xff binary"
    if isinstance(kind, String):
        return f"{table.name}.{column.name} é"[: kind.length or 100]
    raise AssertionError(f"no filler for {table.name}.{column.name} ({kind})")


def fill_every_table(engine: Engine) -> None:
    """Rows in every table the move copies (see the module docstring)."""
    records = [
        record(f"2506.{i:05d}", f"2025-06-{20 + i % 5:02d}", title=f"Gaussian splatting {i}")
        for i in range(1, PAPERS + 1)
    ]
    add_papers(engine, *records)
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org", display_name="Ada")
        bob = add_user(session, "bob@example.org", display_name="Bob ☃")
        create_api_token(session, ada, "laptop")
        create_session(session, bob)
        for i in range(1, 12):
            vote(session, ada if i % 2 else bob, records[i].arxiv_id)
        add_comment(session, ada, records[0].arxiv_id, "Nice **result**, see $x^2$")
        shelf = create_collection(session, ada, "Reading", description="for Friday")
        add_item(session, ada, shelf.id, records[2].arxiv_id, note="later")
        sub = subscribe(session, "reader@example.org").subscription
        add_saved_search(session, sub, "gaussian splatting")
    with engine.begin() as conn:
        ids = conn.execute(text("SELECT id FROM papers ORDER BY id")).scalars().all()
        vectors = np.random.default_rng(7).normal(size=(len(ids), 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        digests = [bytes([i % 256]) * 8 for i in range(len(ids))]
        vector_store(conn).write(conn, MODEL, ids, vectors, digests, datetime(2025, 7, 1, 9))
    for table in move.TABLES:
        with engine.connect() as conn:
            if move.rows_in(conn, table):
                continue
        row = {
            c.name: _filler(table, c, engine)
            for c in table.columns
            if not (c.primary_key and c.autoincrement is True or _is_serial(c))
        }
        with engine.begin() as conn:
            conn.execute(insert(table).values(row))
    with engine.connect() as conn:
        empty = [t.name for t in move.TABLES if not move.rows_in(conn, t)]
    assert not empty, f"fill these tables too: {empty}"


def _is_serial(column: Any) -> bool:  # noqa: ANN401
    return (
        bool(column.primary_key and len(column.table.primary_key.columns) == 1)
        and isinstance(column.type, Integer)
        and not column.foreign_keys
    )


def contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in key order (vectors as float arrays, compared apart)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in move.TABLES:
            if table.name == move.VECTORS:
                stored = vector_store(conn).export_rows(conn, -1, 10**6)
                found[table.name] = [
                    (r.id, r.paper_id, r.model, r.dim, r.text_digest, r.created_at) for r in stored
                ]
                found["vectors"] = [tuple(r.vector.tolist()) for r in stored]
                continue
            keys = list(table.primary_key.columns)
            rows = conn.execute(select(*table.columns).order_by(*keys)).all()
            found[table.name] = [tuple(_plain(v) for v in row) for row in rows]
    return found


def _plain(value: Any) -> Any:  # noqa: ANN401
    return bytes(value) if isinstance(value, memoryview) else value


def assert_same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    vectors = ours.pop("vectors"), theirs.pop("vectors")
    for name in ours:
        assert sorted(ours[name], key=repr) == sorted(theirs[name], key=repr), name
    assert np.allclose(
        np.array(vectors[0]), np.array(vectors[1]), rtol=VECTOR_RTOL, atol=VECTOR_ATOL
    )


@pytest.fixture
def source(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A SQLite instance (its data dir) with a row in every table; its URL."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    url = f"sqlite:///{data_dir / 'dailypapers.db'}"
    engine = make_engine(url)
    upgrade(engine)
    fill_every_table(engine)
    engine.dispose()
    yield url, data_dir


def test_sqlite_to_postgresql_and_back_keeps_every_row(
    source: tuple[str, Path], pg: str, tmp_path: Path
) -> None:
    url, _data_dir = source
    seen: list[tuple[str, int, int]] = []

    def on_table(name: str, total: int, before: int) -> Callable[[int], None]:
        seen.append((name, total, before))
        return lambda _rows: None

    report = move_database(url, pg, batch=7, on_table=on_table)
    assert report.ok and not report.resumed and report.papers == PAPERS
    assert [s[0] for s in seen] == [t.name for t in move.TABLES]
    assert all(c.sampled > 0 for c in report.checks)
    original = contents(make_engine(url))
    target = make_engine(pg)
    try:
        assert_same(contents(make_engine(url)), contents(target))
        with Session(target) as session, session.begin():
            newcomer = add_user(session, "new@example.org")  # the sequence went on past the copy
            assert newcomer.id == max(u.id for u in session.scalars(select(User))) > 2
        with target.connect() as conn:
            assert len(keyword_ranking(conn, "gaussian splatting", any_term=True)) == PAPERS
            hnsw = conn.execute(
                text("SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%hnsw%'")
            ).scalar()
            assert hnsw == 1  # built once, after the vectors
            codes = [  # written by the target's triggers as the rows arrived (migrations 0017-18)
                "SELECT (SELECT count(*) FROM paper_category_codes), (SELECT count(*) FROM "
                "paper_embeddings e JOIN paper_categories c ON c.paper_id = e.paper_id)",
                "SELECT (SELECT count(*) FROM paper_day_codes), "
                "(SELECT count(*) FROM paper_embeddings)",
            ]
            for counts in codes:
                written, expected = conn.execute(text(counts)).one()
                assert written == expected > 0
        with Session(target) as session, session.begin():
            session.execute(text("DELETE FROM users WHERE email = 'new@example.org'"))
    finally:
        target.dispose()

    back = f"sqlite:///{tmp_path / 'back.db'}"
    again = move_database(pg, back, batch=5)
    assert again.ok and again.papers == PAPERS
    returned = make_engine(back)
    try:
        assert_same(original, contents(returned))
        with returned.connect() as conn:
            assert keyword_index.pending(conn) == 0
            assert len(keyword_ranking(conn, "gaussian splatting", any_term=True)) == PAPERS
    finally:
        returned.dispose()


def _migrate(
    data_dir: Path, to: str, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env["DAILYPAPERS_DATA_DIR"] = str(data_dir)
    if crash_at:
        env[CRASH_AT] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "dailypapers", "migrate-db", "--to", to, "--batch-size", "6"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _copied(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sum(move.copied_so_far(conn).values())
    finally:
        engine.dispose()


def test_a_killed_move_goes_on_where_it_stopped(source: tuple[str, Path], pg: str) -> None:
    url, data_dir = source
    # the tables copied before papers hold one row each: one batch each, then papers, 6 a batch
    ahead = [t.name for t in move.TABLES].index("papers")
    assert _rows(url, move.TABLES[:ahead]) == ahead < 7
    # killed inside the 8th batch's transaction (in papers), with its rows written and the
    # position not yet: the 8th batch's rows roll back with it
    first = _migrate(data_dir, pg, crash_at="move-batch:8")
    assert first.returncode == -9, first.stderr
    assert _copied(pg) == _rows(pg) == ahead + (7 - ahead) * 6
    second = _migrate(data_dir, pg, crash_at="move-batch:30")  # further on, in another table
    assert second.returncode == -9, second.stderr
    assert _copied(pg) == _rows(pg) > ahead + (7 - ahead) * 6
    last = _migrate(data_dir, pg)
    assert last.returncode == 0, last.stderr
    assert "resumed" in last.stdout and "checked" in last.stdout
    assert_same(contents(make_engine(url)), contents(make_engine(pg)))
    done = _migrate(data_dir, pg)  # once more: nothing left to copy, still equal
    assert done.returncode == 0 and "copied 0 rows" in done.stdout, done.stderr


def _rows(url: str, tables: list[Any] | None = None) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sum(move.rows_in(conn, t) for t in (move.TABLES if tables is None else tables))
    finally:
        engine.dispose()


def _refused(data_dir: Path, to: str) -> str:
    result = runner.invoke(app, ["migrate-db", "--to", to, "--data-dir", str(data_dir)])
    assert result.exit_code == 2, result.output
    assert (
        "Traceback" not in result.output
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    return lines[0]


def test_what_a_user_can_get_wrong_is_one_line(
    source: tuple[str, Path], pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data_dir = source
    monkeypatch.delenv("DAILYPAPERS_DATABASE_URL", raising=False)
    assert "not a database URL" in _refused(data_dir, "not a url")
    assert "unsupported database" in _refused(data_dir, "mysql://u:p@localhost/db")
    assert "cannot reach the target" in _refused(
        data_dir, f"postgresql+psycopg://u:secret@127.0.0.1:{free_port()}/db"
    )
    assert "database in use" in _refused(data_dir, url)
    same = f"sqlite:///{data_dir}/../data/dailypapers.db"  # another spelling of the same file
    assert "database in use" in _refused(data_dir, same)

    foreign = tmp_path / "foreign.db"
    engine = make_engine(f"sqlite:///{foreign}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE accounts (id integer)"))
    engine.dispose()
    assert "not a dailypapers database" in _refused(data_dir, f"sqlite:///{foreign}")

    busy = make_engine(pg)  # a dailypapers database of its own, in use
    add_papers(busy, record("2507.00001", "2025-07-01"))
    busy.dispose()
    assert "not empty" in _refused(data_dir, pg)

    monkeypatch.setattr(moving, "VECTOR_EXTENSION", "vector_not_installed_here")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"  # SQLite needs no extension: still fine
    assert (
        runner.invoke(app, ["migrate-db", "--to", fresh, "--data-dir", str(data_dir)]).exit_code
        == 0
    )


def test_a_partial_copy_of_another_database_is_refused(
    source: tuple[str, Path], pg: str, tmp_path: Path
) -> None:
    url, data_dir = source
    other = f"sqlite:///{tmp_path / 'other.db'}"
    engine = make_engine(other)
    upgrade(engine)
    add_papers(engine, record("2507.00009", "2025-07-01"))
    engine.dispose()
    move_database(other, pg)
    line = _refused(data_dir, pg)
    assert "copy of another database" in line and "other.db" in line
    assert "secret" not in line


def test_a_target_without_pgvector_is_refused(
    source: tuple[str, Path], pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _url, data_dir = source
    monkeypatch.setattr(moving, "VECTOR_EXTENSION", "vector_not_installed_here")
    assert "no pgvector extension" in _refused(data_dir, pg)


def test_what_the_copier_does_not_know_stops_it_before_anything_is_copied(
    source: tuple[str, Path], pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data_dir = source
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE votes ADD COLUMN weight integer"))
    engine.dispose()
    line = _refused(data_dir, pg)
    assert "votes has column(s) weight this version does not know how to copy" in line
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE votes DROP COLUMN weight"))
        conn.execute(text("CREATE TABLE mystery (id integer PRIMARY KEY)"))
    engine.dispose()
    assert "table(s) mystery this version does not know how to copy" in _refused(data_dir, pg)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE mystery"))
    engine.dispose()
    keyless = Table("keyless", MetaData(), Column("x", Integer))
    monkeypatch.setattr(move, "TABLES", [*move.TABLES, keyless])
    assert "keyless has no primary key" in _refused(data_dir, pg)
    monkeypatch.undo()
    assert _rows(pg) == 0  # refused before the first row


def test_a_target_where_the_vector_extension_cannot_be_created_is_refused(
    source: tuple[str, Path], postgres_server: PostgresServer
) -> None:
    """A role that may create tables but not extensions, in a database without pgvector yet."""
    if "postgresql" not in enabled_backends():
        pytest.skip("PostgreSQL is not among DAILYPAPERS_TEST_BACKENDS")
    _url, data_dir = source
    admin = create_engine(postgres_server.admin_url(), isolation_level="AUTOCOMMIT")
    name = f"noext_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text("DROP ROLE IF EXISTS mover"))
            conn.execute(text("CREATE ROLE mover LOGIN"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        on_db = create_engine(postgres_server.url_of(name), isolation_level="AUTOCOMMIT")
        with on_db.connect() as conn:
            conn.execute(text("GRANT CREATE ON SCHEMA public TO mover"))
        on_db.dispose()
        target = make_url(postgres_server.url_of(name)).set(username="mover", password=None)
        line = _refused(data_dir, target.render_as_string(hide_password=False))
        assert 'permission denied to create extension "vector"' in line, line
        assert "run it as a superuser" in line
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text("DROP ROLE IF EXISTS mover"))
        admin.dispose()
