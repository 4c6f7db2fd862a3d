"""Paper embeddings (one vector per paper and model) and an index to find deleted papers fast.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "paper_embeddings",
        # a row's id only grows: re-embedding a paper writes a new row, so a vector index catches
        # up by reading rows with an id above the highest it has seen (its watermark)
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("text_digest", sa.LargeBinary(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("paper_id", "model", name="uq_paper_embeddings_paper_model"),
    )
    op.create_index("ix_paper_embeddings_model_id", "paper_embeddings", ["model", "id"])
    # partial: only deleted rows (a full index made SQLite scan it for every "deleted_at IS NULL")
    op.create_index(
        "ix_papers_deleted_at",
        "papers",
        ["deleted_at"],
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_papers_deleted_at", "papers")
    op.drop_table("paper_embeddings")
