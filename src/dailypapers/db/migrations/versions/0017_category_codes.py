"""PostgreSQL: each paper's vector as one sign bit a dimension, filed under each of its categories
(``paper_category_codes``), for filtered searches by meaning over a mid-size category.

A search by meaning within a category of 80,000-250,000 papers (cs.CR, stat.ML, eess.IV at
2.5 M papers) had two plans, both slow when the query's topic lies far from the category: the
HNSW index's iterative scan read up to 50,000 index entries to find 100 papers that pass (1.2-1.5 s,
and then only 5 of them), and the exact query read every passing paper's vector (320-400 ms). The
codes make a third, as SQLite's filter catalogue does (``search/catalogue.py``): the category's
codes ranked by Hamming distance to the query's (an index-only scan of this table's primary key,
~0.4 us a row), and the nearest few thousand re-ranked by their real vectors
(``db/pg_vectors.py: HalfvecVectors.nearest`` with ``codes``; ``search/dense.py: codes_plan``).

Rows are kept by row-level triggers on ``paper_embeddings`` (a vector written, changed or deleted)
and ``paper_categories`` (a category added, changed or removed), so every writer (the embedding
job, imports, ``migrate-db``'s copy, a paper deleted with its rows) keeps them, in its own
transaction. ``model_key`` is ``hashtext(model)``: a model's name in every row made the primary key
1.3 GB at 2.5 M papers. (A key shared by two models costs recall only: the re-ranking reads the
model's own vectors.) A second index by ``paper_id`` serves the triggers' deletes. SQLite has no
such table (its catalogue is in each web process).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# (model_key, category, paper_id) of a paper's vector under each of its categories
_CODES_OF_VECTOR = """
    INSERT INTO paper_category_codes (category, model_key, paper_id, code)
    SELECT c.category, hashtext(NEW.model), NEW.paper_id, binary_quantize(NEW.embedding)
    FROM paper_categories c WHERE c.paper_id = NEW.paper_id AND NEW.embedding IS NOT NULL
    ON CONFLICT (category, model_key, paper_id) DO UPDATE SET code = EXCLUDED.code;"""
_CODES_OF_CATEGORY = """
    INSERT INTO paper_category_codes (category, model_key, paper_id, code)
    SELECT NEW.category, hashtext(e.model), NEW.paper_id, binary_quantize(e.embedding)
    FROM paper_embeddings e WHERE e.paper_id = NEW.paper_id AND e.embedding IS NOT NULL
    ON CONFLICT (category, model_key, paper_id) DO UPDATE SET code = EXCLUDED.code;"""
_DROP_OF_VECTOR = """
    DELETE FROM paper_category_codes
    WHERE paper_id = OLD.paper_id AND model_key = hashtext(OLD.model);"""
_DROP_OF_CATEGORY = """
    DELETE FROM paper_category_codes
    WHERE paper_id = OLD.paper_id AND category = OLD.category;"""


def _function(name: str, on_delete: str, on_insert: str) -> str:
    return f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {on_delete}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {on_insert}
    END IF;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE paper_category_codes (category varchar(32) NOT NULL, "
        "model_key integer NOT NULL, paper_id integer NOT NULL, code bit varying NOT NULL, "
        "PRIMARY KEY (category, model_key, paper_id) INCLUDE (code))"
    )
    # the triggers' deletes find a paper's rows by it (PostgreSQL 18 can skip-scan the primary
    # key for them, older servers would read the whole table for every row deleted)
    op.execute("CREATE INDEX ix_paper_category_codes_paper ON paper_category_codes (paper_id)")
    op.execute(_function("dailypapers_vector_codes", _DROP_OF_VECTOR, _CODES_OF_VECTOR))
    op.execute(_function("dailypapers_category_codes", _DROP_OF_CATEGORY, _CODES_OF_CATEGORY))
    op.execute(
        "CREATE TRIGGER paper_embeddings_codes AFTER INSERT OR DELETE OR UPDATE OF "
        "paper_id, model, embedding ON paper_embeddings "
        "FOR EACH ROW EXECUTE FUNCTION dailypapers_vector_codes()"
    )
    op.execute(
        "CREATE TRIGGER paper_categories_codes AFTER INSERT OR DELETE OR UPDATE "
        "ON paper_categories FOR EACH ROW EXECUTE FUNCTION dailypapers_category_codes()"
    )
    op.execute(  # (TRUNCATE runs no row triggers: ``TRUNCATE papers CASCADE`` empties both)
        "CREATE FUNCTION dailypapers_truncate_codes() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN TRUNCATE paper_category_codes; RETURN NULL; END $$"
    )
    for table in ("paper_embeddings", "paper_categories"):
        op.execute(
            f"CREATE TRIGGER {table}_truncate_codes AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION dailypapers_truncate_codes()"
        )
    op.execute(
        "INSERT INTO paper_category_codes (category, model_key, paper_id, code) "
        "SELECT c.category, hashtext(e.model), c.paper_id, binary_quantize(e.embedding) "
        "FROM paper_embeddings e JOIN paper_categories c ON c.paper_id = e.paper_id "
        "WHERE e.embedding IS NOT NULL ORDER BY e.paper_id"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in ("paper_embeddings", "paper_categories"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_truncate_codes ON {table}")
    op.execute("DROP FUNCTION IF EXISTS dailypapers_truncate_codes()")
    op.execute("DROP TRIGGER IF EXISTS paper_categories_codes ON paper_categories")
    op.execute("DROP TRIGGER IF EXISTS paper_embeddings_codes ON paper_embeddings")
    op.execute("DROP FUNCTION IF EXISTS dailypapers_category_codes()")
    op.execute("DROP FUNCTION IF EXISTS dailypapers_vector_codes()")
    op.execute("DROP TABLE IF EXISTS paper_category_codes")
