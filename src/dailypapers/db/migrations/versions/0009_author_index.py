"""The author index: one row per author of a paper under normalised name keys.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02

Filled from ``papers.authors`` by ``dailypapers.db.author_index.catch_up`` (run by
``migrate.upgrade`` after the migrations, in chunks: ~1 min per million papers).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"  # main's head when written; the lead re-chains if others land first
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_authors",
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("short_key", sa.String(80), nullable=False),
        sa.Column("name_key", sa.String(300), nullable=False),
    )
    op.create_index("ix_paper_authors_short", "paper_authors", ["short_key", "paper_id"])


def downgrade() -> None:
    op.drop_index("ix_paper_authors_short", table_name="paper_authors")
    op.drop_table("paper_authors")
