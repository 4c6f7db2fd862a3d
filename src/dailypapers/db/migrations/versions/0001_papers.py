"""Papers, their categories, and (on SQLite) the FTS5 keyword index over title, abstract, authors.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The keyword index is maintained batch-wise by dailypapers.db.keyword_index (triggers were 2x slower).
SQLITE_FTS = """CREATE VIRTUAL TABLE papers_fts USING fts5(title, abstract, authors, content='papers',
    content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"""


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("arxiv_id", sa.String(32), nullable=False, unique=True),
        sa.Column("version", sa.Integer()),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("categories", sa.Text(), nullable=False),
        sa.Column("primary_category", sa.String(32), nullable=False),
        sa.Column("published", sa.Date()),
        sa.Column("updated", sa.Date()),
        sa.Column("announced_on", sa.Date(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("journal_ref", sa.Text()),
        sa.Column("doi", sa.String(255)),
        sa.Column("license", sa.String(255)),
        sa.Column("code_url", sa.Text()),
        sa.Column("project_url", sa.Text()),
        sa.Column("upvotes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column(
            "created_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()
        ),
        sa.Column(
            "modified_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()
        ),
    )
    op.create_index("ix_papers_announced_rank", "papers", ["announced_on", "upvotes", "arxiv_id"])
    op.create_index("ix_papers_announced_id", "papers", ["announced_on", "arxiv_id"])
    op.create_index("ix_papers_upvotes", "papers", ["upvotes"])
    op.create_table(
        "paper_categories",
        sa.Column("category", sa.String(32), primary_key=True),
        sa.Column(
            "paper_id",
            sa.Integer(),
            sa.ForeignKey("papers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
    )
    op.create_index("ix_paper_categories_paper", "paper_categories", ["paper_id", "category"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS papers_fts")
    op.drop_table("paper_categories")
    op.drop_table("papers")
