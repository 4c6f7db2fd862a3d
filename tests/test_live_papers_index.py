"""The live papers' ids by date come from ``ix_papers_live_announced`` (migration 0015): the
statement feeds, the For-you candidates and the retrain's sampled papers send ("announced in a
range, not deleted") must read it, on both backends. Without the index PostgreSQL scanned every
paper (41 ms for 10 k of 33 k) and SQLite read each row's table page (19 ms)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from dailypapers.db.dialect import id_array
from dailypapers.db.models import Paper
from dailypapers.services.feeds import feed_filters
from dailypapers.services.periods import Period
from tests.helpers import add_papers, record
from tests.test_pg_search_plans import _statements


def _plan(engine: Engine, session: Session, statement: Any) -> tuple[list[int], str]:  # noqa: ANN401
    ids: list[int] = []
    sent = _statements(
        engine, session.connection(), lambda conn: ids.extend(id_array(conn, statement).tolist())
    )
    (sql, params), = sent  # fmt: skip
    postgresql = engine.dialect.name == "postgresql"
    if postgresql:
        # On a table this small every path costs about the same, and which of the indexes on
        # announced_on the planner takes turns on statistics and the visibility map (the suite's
        # runs saw both): the other two are dropped in this transaction (rolled back), and scans
        # and bitmaps cost more, so the plan says whether this index answers the statement alone.
        session.execute(text("SET LOCAL lock_timeout = '10s'"))
        session.execute(text("DROP INDEX ix_papers_announced_id, ix_papers_announced_rank"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL enable_bitmapscan = off"))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(("EXPLAIN " if postgresql else "EXPLAIN QUERY PLAN ") + sql, params)
    return ids, "\n".join(str(row[0] if postgresql else row[-1]) for row in cursor.fetchall())


def test_a_feeds_live_papers_are_read_from_the_partial_index(engine: Engine) -> None:
    add_papers(engine, *(record(f"2506.{n:05d}", f"2025-06-{1 + n % 20:02d}") for n in range(80)))
    with engine.begin() as conn:
        conn.execute(
            update(Paper)
            .where(Paper.arxiv_id == "2506.00005")
            .values(deleted_at=text("CURRENT_TIMESTAMP"))
        )
    with engine.connect() as conn:  # statistics, as a database that has run a while has
        conn.execute(text("ANALYZE"))
        conn.commit()
    with Session(engine) as session, session.begin():
        where = feed_filters(session, Period("week", date(2025, 6, 2), date(2025, 6, 8)))
        ids, plan = _plan(engine, session, select(Paper.id).where(*where))
        assert "ix_papers_live_announced" in plan, plan
        if engine.dialect.name == "postgresql":  # the ids from the index, not the table's rows
            assert "Index Only Scan using ix_papers_live_announced" in plan, plan
        wanted = session.scalars(
            select(Paper.id).where(
                Paper.announced_on.between(date(2025, 6, 2), date(2025, 6, 8)),
                Paper.deleted_at.is_(None),
            )
        ).all()
        assert sorted(ids) == sorted(wanted) and len(ids) == 27  # 28 that week, one deleted
        session.rollback()  # (PostgreSQL: the dropped indexes back)
