"""Organizations and their members; submissions made on an organization's behalf; authors'
claims on papers.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"  # 0012 (author follows) follows this one
branch_labels = None
depends_on = None

# Cards on cached feed pages name a paper's organization and mark its claimed authors: on
# PostgreSQL the page cache's change counter must move when these change (migration 0006).
SHOWN_ON_CACHED_PAGES = ("organizations", "author_claims")


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("logo_url", sa.Text(), nullable=True),
        sa.Column("site_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "organization_members",
        sa.Column(
            "organization_id",
            sa.Integer(),
            sa.ForeignKey("organizations.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_organization_members_user_id", "organization_members", ["user_id"])
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("organization_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_submissions_organization_id",
            "organizations",
            ["organization_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_submissions_organization_id", ["organization_id"])
    op.create_table(
        "author_claims",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_author_claims_paper_id", "author_claims", ["paper_id"])
    op.create_index("ix_author_claims_user_id", "author_claims", ["user_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in SHOWN_ON_CACHED_PAGES:
            op.execute(
                f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_bump_changes()"
            )


def downgrade() -> None:
    op.drop_index("ix_author_claims_user_id", table_name="author_claims")
    op.drop_index("ix_author_claims_paper_id", table_name="author_claims")
    op.drop_table("author_claims")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_index("ix_submissions_organization_id")
        batch.drop_constraint("fk_submissions_organization_id", type_="foreignkey")
        batch.drop_column("organization_id")
    op.drop_index("ix_organization_members_user_id", table_name="organization_members")
    op.drop_table("organization_members")
    op.drop_table("organizations")
