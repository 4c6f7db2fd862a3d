"""Community: users, sign-in links, sessions, API tokens, votes, submissions, comments,
collections and rate-limit counters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _fk(name: str, table: str, *, primary_key: bool = False, index: bool = False) -> sa.Column:  # type: ignore[type-arg]
    target = sa.ForeignKey(f"{table}.id", ondelete="CASCADE")
    return sa.Column(
        name, sa.Integer(), target, nullable=False, primary_key=primary_key, index=index
    )


def _users_fk(*, primary_key: bool = False, index: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return _fk("user_id", "users", primary_key=primary_key, index=index)


def _papers_fk(*, primary_key: bool = False, index: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return _fk("paper_id", "papers", primary_key=primary_key, index=index)


def upgrade() -> None:
    now = sa.func.current_timestamp()
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("display_name", sa.String(80), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=now),
        sa.Column("last_login_at", sa.DateTime()),
    )
    op.create_table(
        "login_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False, index=True),
        sa.Column("next_url", sa.String(500)),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime()),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _users_fk(index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _users_fk(index=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime()),
        sa.Column("revoked_at", sa.DateTime()),
    )
    op.create_table(
        "votes",
        _users_fk(primary_key=True),
        _papers_fk(primary_key=True, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("arxiv_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False, index=True),
        sa.Column(
            "paper_id", sa.Integer(), sa.ForeignKey("papers.id", ondelete="SET NULL"), index=True
        ),
        _users_fk(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("arxiv_id", "day", name="uq_submissions_arxiv_day"),
    )
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True),
        _papers_fk(index=True),
        _users_fk(),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("edited_at", sa.DateTime()),
        sa.Column("hidden_at", sa.DateTime()),
        sa.Column("deleted_at", sa.DateTime()),
    )
    op.create_table(
        "collections",
        sa.Column("id", sa.Integer(), primary_key=True),
        _users_fk(index=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("is_public", sa.Boolean(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "collection_items",
        sa.Column(
            "collection_id",
            sa.Integer(),
            sa.ForeignKey("collections.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _papers_fk(primary_key=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "rate_events",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.Integer(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "rate_events",
        "collection_items",
        "collections",
        "comments",
        "submissions",
        "votes",
        "api_tokens",
        "user_sessions",
        "login_tokens",
        "users",
    ):
        op.drop_table(table)
