"""Harvest checkpoints, named locks, and deleted / estimated-announce-date marks on papers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(
            sa.Column("announce_estimated", sa.Boolean(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("deleted_at", sa.DateTime()))
    op.create_table(
        "ingest_state",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("resumption_token", sa.Text()),
        sa.Column("run_from", sa.Date()),
        sa.Column("last_datestamp", sa.Date()),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "updated_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()
        ),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(128)),
        sa.Column("acquired_at", sa.Float()),
        sa.Column("expires_at", sa.Float()),
        sa.Column("last_request_at", sa.Float()),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_table("ingest_state")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("announce_estimated")
