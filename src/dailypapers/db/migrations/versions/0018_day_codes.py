"""PostgreSQL: each paper's vector as sign bits by announce day (``paper_day_codes``), so that a
search by meaning within a range of dates reads its papers' codes in date order, as migration 0017
lets a category's search read the category's.

A date range leaving 5,000-45,000 papers at 2.5 M was searched exactly, every passing vector read
by id (~9 us a paper: p50 156 / p95 414 ms at 2.5 M, the costliest statements left after 0017);
wider ranges through the HNSW index's iterative scan (370 / 666 ms for 30 days, when the exact
query was disabled to compare). The codes' pass reads ~0.5 us a paper in date order, then
re-ranks the nearest few thousand by their vectors (``search/dense.py: codes_plan``).

Rows are kept by triggers: a vector written, changed or deleted (``paper_embeddings``), a paper's
announce day changed (``papers``: only when it differs), TRUNCATE of either.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_VECTOR = """CREATE FUNCTION dailypapers_vector_day_codes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM paper_day_codes
        WHERE paper_id = OLD.paper_id AND model_key = hashtext(OLD.model);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.embedding IS NOT NULL THEN
        INSERT INTO paper_day_codes (announced_on, model_key, paper_id, code)
        SELECT p.announced_on, hashtext(NEW.model), NEW.paper_id, binary_quantize(NEW.embedding)
        FROM papers p WHERE p.id = NEW.paper_id
        ON CONFLICT (announced_on, model_key, paper_id) DO UPDATE SET code = EXCLUDED.code;
    END IF;
    RETURN NULL;
END $$"""
_DAY = """CREATE FUNCTION dailypapers_paper_day_codes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM paper_day_codes WHERE paper_id = OLD.id;
    INSERT INTO paper_day_codes (announced_on, model_key, paper_id, code)
    SELECT NEW.announced_on, hashtext(e.model), NEW.id, binary_quantize(e.embedding)
    FROM paper_embeddings e
    WHERE e.paper_id = NEW.id AND e.embedding IS NOT NULL;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE paper_day_codes (announced_on date NOT NULL, model_key integer NOT NULL, "
        "paper_id integer NOT NULL, code bit varying NOT NULL, "
        "PRIMARY KEY (announced_on, model_key, paper_id) INCLUDE (code))"
    )
    op.execute("CREATE INDEX ix_paper_day_codes_paper ON paper_day_codes (paper_id)")  # deletes
    op.execute(_VECTOR)
    op.execute(_DAY)
    op.execute(
        "CREATE TRIGGER paper_embeddings_day_codes AFTER INSERT OR DELETE OR UPDATE OF "
        "paper_id, model, embedding ON paper_embeddings "
        "FOR EACH ROW EXECUTE FUNCTION dailypapers_vector_day_codes()"
    )
    op.execute(
        "CREATE TRIGGER papers_day_codes AFTER UPDATE OF announced_on ON papers FOR EACH ROW "
        "WHEN (OLD.announced_on IS DISTINCT FROM NEW.announced_on) "
        "EXECUTE FUNCTION dailypapers_paper_day_codes()"
    )
    op.execute(  # (TRUNCATE runs no row triggers)
        "CREATE FUNCTION dailypapers_truncate_day_codes() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN TRUNCATE paper_day_codes; RETURN NULL; END $$"
    )
    for table in ("paper_embeddings", "papers"):
        op.execute(
            f"CREATE TRIGGER {table}_truncate_day_codes AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_truncate_day_codes()"
        )
    op.execute(
        "INSERT INTO paper_day_codes (announced_on, model_key, paper_id, code) "
        "SELECT p.announced_on, hashtext(e.model), e.paper_id, binary_quantize(e.embedding) "
        "FROM paper_embeddings e JOIN papers p ON p.id = e.paper_id "
        "WHERE e.embedding IS NOT NULL ORDER BY p.announced_on"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("paper_embeddings", "papers"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_truncate_day_codes ON {table}")
    op.execute("DROP TRIGGER IF EXISTS papers_day_codes ON papers")
    op.execute("DROP TRIGGER IF EXISTS paper_embeddings_day_codes ON paper_embeddings")
    for function in ("truncate_day_codes", "paper_day_codes", "vector_day_codes"):
        op.execute(f"DROP FUNCTION IF EXISTS dailypapers_{function}()")
    op.execute("DROP TABLE IF EXISTS paper_day_codes")
