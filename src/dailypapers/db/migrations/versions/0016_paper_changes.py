"""For you's request path: ``user_models.model_version`` (both backends) and, on PostgreSQL, a second
change counter that moves only when the set of papers could have changed.

``user_models.model_version`` moves with every model the retrain stores: a process keeps parsed
models under (user, version, trained at) (``embeddings.recent.KeptModels``), and a request's read
of the row brings the ~470 KB blob of a user with 500 papers only when it moved (~6 ms of a
request at load 6, 2026-12-03).

``data_changes.papers`` (beside ``version``, in the same 16 rows) is bumped, once per
transaction, by statement-level triggers on ``papers`` (inserts, deletes, truncates, and updates
that set any column but ``upvotes``) and on ``paper_categories`` (any change). A vote's
``UPDATE papers SET upvotes = ...`` (``services.votes``), a comment, a submission or a new user
leave it alone. The For-you candidate ids (``db/id_cache.py``: a feed's ids, ~25,000 at all of
arXiv's scale) are kept under it when their statement reads nothing but those tables and not
``upvotes``, so the first request after a vote no longer reads them again (~6 ms at 25k).

The triggers' column list is every column of ``papers`` but ``upvotes`` (and the generated
``search_vector``, which no statement sets) as they are now; a migration that adds a column to
``papers`` must recreate the trigger (``tests/test_paper_changes.py`` fails until it does).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CHANGE_SLOTS = 16  # the rows of data_changes (migration 0006)
NOT_WATCHED = ("upvotes", "search_vector")  # a vote's counter; generated (never set)
# Once per transaction, like 0006's bump; it moves ``version`` too (the page cache's number) so
# that a transaction whose general bump came first still moves both.
BUMP = f"""CREATE FUNCTION dailypapers_bump_paper_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dailypapers.paper_changes_bumped', true) IS DISTINCT FROM 'yes' THEN
        UPDATE data_changes SET papers = papers + 1, version = version + 1
        WHERE slot = (txid_current() % {CHANGE_SLOTS})::integer;
        PERFORM set_config('dailypapers.paper_changes_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END $$"""
RUN = "FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_bump_paper_changes()"


def watched_columns(bind) -> list[str]:  # type: ignore[no-untyped-def]  # noqa: ANN001
    """The columns of ``papers`` whose update moves the counter: all but NOT_WATCHED."""
    names = bind.execute(
        text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'papers' "
            "ORDER BY ordinal_position"
        )
    ).scalars()
    return [n for n in names if n not in NOT_WATCHED]


def upgrade() -> None:
    op.add_column(
        "user_models",
        sa.Column("model_version", sa.Integer(), nullable=False, server_default="0"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE data_changes ADD COLUMN papers bigint NOT NULL DEFAULT 0")
    op.execute(BUMP)
    columns = ", ".join(watched_columns(bind))
    op.execute(
        f"CREATE TRIGGER papers_set_changes AFTER INSERT OR DELETE OR TRUNCATE ON papers {RUN}"
    )
    op.execute(f"CREATE TRIGGER papers_column_changes AFTER UPDATE OF {columns} ON papers {RUN}")
    op.execute(
        "CREATE TRIGGER paper_categories_set_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON paper_categories {RUN}"
    )


def downgrade() -> None:
    with op.batch_alter_table("user_models") as table:
        table.drop_column("model_version")
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS paper_categories_set_changes ON paper_categories")
    op.execute("DROP TRIGGER IF EXISTS papers_column_changes ON papers")
    op.execute("DROP TRIGGER IF EXISTS papers_set_changes ON papers")
    op.execute("DROP FUNCTION IF EXISTS dailypapers_bump_paper_changes()")
    op.execute("ALTER TABLE data_changes DROP COLUMN IF EXISTS papers")
