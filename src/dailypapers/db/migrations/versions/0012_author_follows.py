"""Followed authors: ``author_follows.name_key`` and ``name`` as long as the author index's keys
(300 characters, ``paper_authors.name_key``), so any author the index knows can be followed
(PostgreSQL refused a 250-character name in the 200-character columns of 0010).

Revision ID: 0012
Revises: 0010 (recommendations)
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("author_follows") as batch:
        batch.alter_column("name_key", type_=sa.String(300), existing_nullable=False)
        batch.alter_column("name", type_=sa.String(300), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("author_follows") as batch:
        batch.alter_column("name", type_=sa.String(200), existing_nullable=False)
        batch.alter_column("name_key", type_=sa.String(200), existing_nullable=False)
