"""Email digests: subscriptions, saved-search sections and the delivery ledger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _subscription_fk(*, index: bool = False) -> sa.Column:  # type: ignore[type-arg]
    target = sa.ForeignKey("subscriptions.id", ondelete="CASCADE")
    return sa.Column("subscription_id", sa.Integer(), target, nullable=False, index=index)


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("frequency", sa.String(8), nullable=False),
        sa.Column("trending", sa.Boolean(), nullable=False, server_default="1"),
        sa.Column("categories", sa.Text(), nullable=False, server_default=""),
        sa.Column("bounces", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime()),
        sa.Column("unsubscribed_at", sa.DateTime()),
    )
    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), primary_key=True),
        _subscription_fk(index=True),
        sa.Column("query", sa.String(500), nullable=False),
        sa.Column("category", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("subscription_id", "query", "category", name="uq_saved_searches"),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        _subscription_fk(),
        sa.Column("period_key", sa.String(32), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("message_id", sa.String(255)),
        sa.Column("error", sa.Text()),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime()),
        sa.UniqueConstraint("subscription_id", "period_key", name="uq_digest_deliveries"),
    )


def downgrade() -> None:
    for table in ("digest_deliveries", "saved_searches", "subscriptions"):
        op.drop_table(table)
