"""PostgreSQL only: pgvector, the weighted keyword vector, vectors as halfvec, the change counter.

Nothing happens on SQLite (its keyword index is FTS5, from 0001; its change counter is SQLite's own
``data_version``; its vectors stay float32 blobs).

- ``CREATE EXTENSION vector`` (pgvector): the database owner may create it on PostgreSQL 13+ when
  the extension is installed on the server (it is a trusted extension); otherwise a superuser runs
  it once before the first start.
- ``papers.search_vector``: title (weight A, English stemming) over authors (B, the 'simple'
  configuration: names are not stemmed) over abstract (C, English), a STORED generated column with
  a GIN index. PostgreSQL computes it in the same statement that writes the paper, so it can never be
  out of step with the row (what the FTS5 watermark guards on SQLite).
- ``paper_embeddings.embedding``: the vector as pgvector ``halfvec`` (any dimension; the HNSW index
  of each model, on ``embedding::halfvec(dim)``, is created when its first vectors are written:
  :mod:`dailypapers.db.vector_store`). The float32 ``vector`` blob becomes nullable and stays
  empty here.
- ``data_changes``: a change counter in 16 rows, bumped by statement-level triggers on every table
  the cached pages read; the page cache (:mod:`dailypapers.db.changes`) reads the sum.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SEARCH_VECTOR = """ALTER TABLE papers ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, title), 'A')
    || setweight(json_to_tsvector('simple'::regconfig, authors, '["string"]'), 'B')
    || setweight(to_tsvector('english'::regconfig, abstract), 'C')
) STORED"""
# Tables whose rows the cached pages (feeds, trending, /api/daily_papers) show.
CHANGE_TABLES = ("papers", "paper_categories", "votes", "submissions", "comments", "users")
CHANGE_SLOTS = 16  # writers bump one of these rows (by transaction id), so they rarely wait
# Once per transaction (a setting local to it remembers): an import's thousands of statements
# would otherwise pile up versions of one row, each update slower than the last.
BUMP = f"""CREATE FUNCTION dailypapers_bump_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dailypapers.changes_bumped', true) IS DISTINCT FROM 'yes' THEN
        UPDATE data_changes SET version = version + 1
        WHERE slot = (txid_current() % {CHANGE_SLOTS})::integer;
        PERFORM set_config('dailypapers.changes_bumped', 'yes', true);
    END IF;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute(SEARCH_VECTOR)
    op.execute("CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector)")
    op.execute("ALTER TABLE paper_embeddings ALTER COLUMN vector DROP NOT NULL")
    op.execute("ALTER TABLE paper_embeddings ADD COLUMN embedding halfvec")
    op.execute("CREATE TABLE data_changes (slot integer PRIMARY KEY, version bigint NOT NULL)")
    op.execute(
        f"INSERT INTO data_changes SELECT s, 0 FROM generate_series(0, {CHANGE_SLOTS - 1}) s"
    )
    op.execute(BUMP)
    for table in CHANGE_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_bump_changes()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in CHANGE_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_changes ON {table}")
    op.execute("DROP FUNCTION IF EXISTS dailypapers_bump_changes()")
    op.execute("DROP TABLE IF EXISTS data_changes")
    op.execute("ALTER TABLE paper_embeddings DROP COLUMN IF EXISTS embedding")  # and its indexes
    op.execute("DELETE FROM paper_embeddings WHERE vector IS NULL")
    op.execute("ALTER TABLE paper_embeddings ALTER COLUMN vector SET NOT NULL")
    op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
    op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
