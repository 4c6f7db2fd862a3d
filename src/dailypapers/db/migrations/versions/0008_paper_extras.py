"""What papers get beyond arXiv's metadata: thumbnails, key phrases and TL;DRs, GitHub stars,
the map's 2D layout, and pauses a rate-limited service asked for.

Revision ID: 0008
Revises: 0006 (re-chained at merge after 0006 and 0007)
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


SHOWN_ON_CACHED_PAGES = ("paper_thumbnails", "paper_summaries", "github_repos")


def _paper_fk() -> sa.Column[int]:
    return sa.Column(
        "paper_id",
        sa.Integer(),
        sa.ForeignKey("papers.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "paper_thumbnails",
        _paper_fk(),
        sa.Column("version", sa.Integer(), nullable=False),  # the arXiv version fetched
        sa.Column("status", sa.String(16), nullable=False),  # ok | failed | retry
        sa.Column("file", sa.String(200)),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reason", sa.Text()),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "paper_summaries",
        _paper_fk(),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("tldr", sa.Text(), nullable=False),
        sa.Column("text_digest", sa.LargeBinary(8), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "github_repos",
        sa.Column("name", sa.String(200), primary_key=True),  # owner/repo as linked, lower case
        sa.Column("full_name", sa.String(200), nullable=False),  # GitHub's name now (renames)
        sa.Column("stars", sa.Integer()),
        sa.Column("etag", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),  # new | ok | gone | error
        sa.Column("errors", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("error", sa.Text()),
        sa.Column("checked_at", sa.DateTime()),
        sa.Column("due_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_github_repos_due", "github_repos", ["status", "due_at"])
    op.create_table(
        "service_pauses",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
    )
    op.create_table(
        "map_layouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("anchors", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),  # last time points were added
    )
    op.create_table(
        "paper_map_points",
        _paper_fk(),
        sa.Column(
            "layout_id",
            sa.Integer(),
            sa.ForeignKey("map_layouts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("anchor", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.create_index("ix_paper_map_points_layout", "paper_map_points", ["layout_id", "anchor"])
    if op.get_bind().dialect.name == "postgresql":  # feed pages show these: the page cache's
        for table in SHOWN_ON_CACHED_PAGES:  # change counter must move (migration 0006)
            op.execute(
                f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_bump_changes()"
            )


def downgrade() -> None:
    op.drop_table("paper_map_points")
    op.drop_table("map_layouts")
    op.drop_table("service_pauses")
    op.drop_index("ix_github_repos_due", "github_repos")
    op.drop_table("github_repos")
    op.drop_table("paper_summaries")
    op.drop_table("paper_thumbnails")
