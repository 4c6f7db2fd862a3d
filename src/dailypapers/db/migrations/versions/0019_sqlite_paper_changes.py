"""SQLite: a number that moves only when the set of papers could have changed (PostgreSQL's
``data_changes.papers`` of migration 0016), so that a vote no longer makes For you read its
candidate ids again.

SQLite's change number, ``PRAGMA data_version``, moves with every commit by another connection:
a vote, a comment, a new user. The For-you candidate ids (``db/id_cache.py``: a week's feed,
~25,000 ids at all of arXiv's scale) were read again after each (~3-7 ms of CPU, the first request
after a vote at p95 44 ms wall against 20 quiet, 2026-12-03). ``paper_set_changes.number`` (one
row) is bumped by row triggers on ``papers`` (inserts, deletes, and updates that set any column
but ``upvotes``) and on ``paper_categories`` (any change): in the writing transaction, so it
becomes visible exactly when the write does. A vote's ``UPDATE papers SET upvotes = ...`` leaves
it alone. Measured (``benchmarks/recommend_speed.py --rank-only --rounds 40``, a copy of the
33k database, load ~1, 2026-12-03): 24,756 papers through ``for_you`` as a request runs it, the
first request after a vote p50 21.5 / p95 24.1 ms -> 13.3 / 16.0 ms, as a quiet one (12.6 /
16.2). A row trigger costs the bulk import ~0.3 s per 50,000 papers with their 89,000 category
rows (``import_speed.py --lines 50000``: metadata 3.2-3.4 s -> 3.2-3.8 s, within its noise);
2.5 M papers imported at 1,746 papers/s with them (``full_arxiv.py``; 1,716/s before, at load 3.5-4.4).

The update trigger names every column of ``papers`` but ``upvotes`` as they are now; a migration
that adds a column to ``papers`` must recreate it (``tests/test_for_you_trips.py`` fails until it
does), as 0016's on PostgreSQL.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from alembic import op
from sqlalchemy import text

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

NOT_WATCHED = ("upvotes",)  # a vote's counter
BUMP = "BEGIN UPDATE paper_set_changes SET number = number + 1; END"
TRIGGERS = {  # name: when
    "papers_set_insert": "AFTER INSERT ON papers",
    "papers_set_delete": "AFTER DELETE ON papers",
    "paper_categories_set_insert": "AFTER INSERT ON paper_categories",
    "paper_categories_set_update": "AFTER UPDATE ON paper_categories",
    "paper_categories_set_delete": "AFTER DELETE ON paper_categories",
}
COLUMNS_TRIGGER = "papers_set_update"


def watched_columns(bind) -> list[str]:  # type: ignore[no-untyped-def]  # noqa: ANN001
    """The columns of ``papers`` whose update moves the number: all but NOT_WATCHED."""
    names = [row[1] for row in bind.execute(text("PRAGMA table_info(papers)"))]
    return [n for n in names if n not in NOT_WATCHED]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute(
        "CREATE TABLE paper_set_changes (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "number INTEGER NOT NULL)"
    )
    op.execute("INSERT INTO paper_set_changes (id, number) VALUES (1, 0)")
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} {BUMP}")
    columns = ", ".join(watched_columns(bind))
    op.execute(f"CREATE TRIGGER {COLUMNS_TRIGGER} AFTER UPDATE OF {columns} ON papers {BUMP}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in [*TRIGGERS, COLUMNS_TRIGGER]:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS paper_set_changes")
