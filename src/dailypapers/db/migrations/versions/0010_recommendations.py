"""Recommendations ("For you"): feedback on papers, imported libraries, followed authors, the
per-user model and its freshness, and the curator role.

Revision ID: 0010
Revises: 0009 (the author index)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("is_curator", sa.Boolean(), nullable=False, server_default="0"))
    op.create_table(
        "paper_feedback",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "library_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("arxiv_id", sa.String(32), nullable=True),
        sa.Column(
            "paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("title", sa.Text(), nullable=False, server_default=""),
        sa.Column("doi", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_library_entries_user_key"),
    )
    op.create_index("ix_library_entries_arxiv_id", "library_entries", ["arxiv_id"])
    op.create_index("ix_library_entries_paper_id", "library_entries", ["paper_id"])
    op.create_index("ix_library_entries_status", "library_entries", ["status"])
    op.create_table(
        "author_follows",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name_key", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "user_models",
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("signals_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("trained_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("embedding_model", sa.String(200), nullable=True),
        sa.Column("model", sa.LargeBinary(), nullable=True),
        sa.Column("positives", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("negatives", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("unembedded", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("trained_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("user_models")
    op.drop_table("author_follows")
    op.drop_index("ix_library_entries_status", "library_entries")
    op.drop_index("ix_library_entries_paper_id", "library_entries")
    op.drop_index("ix_library_entries_arxiv_id", "library_entries")
    op.drop_table("library_entries")
    op.drop_table("paper_feedback")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_curator")
