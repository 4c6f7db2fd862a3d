"""The tf-idf of the recent papers, for the "For you" model (``term_indexes``).

Revision ID: 0014
Revises: 0012 (author follows)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_indexes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("vocabulary", sa.String(32), nullable=False),
        sa.Column("fitted_on", sa.Date(), nullable=False),
        sa.Column("stamp", sa.String(100), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("term_indexes")
