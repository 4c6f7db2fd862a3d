"""The idempotent upsert: one row per arXiv id, latest version, earliest announce date, categories
and the keyword index in step — on the SQLite fast path and the SQLAlchemy Core path alike."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, bindparam, inspect, text
from sqlalchemy.exc import DatabaseError

from dailypapers import upsert
from dailypapers.db import keyword_index
from dailypapers.db.engine import backend_of
from dailypapers.search.fts import keyword_engine
from dailypapers.search.fts_query import Match, Phrase
from dailypapers.sources.arxiv.records import FlatRow, PaperRecord, flat_row, paper_record
from dailypapers.upsert import ImportCounts, merge_row, upsert_batch, upsert_records

D1, D2, D3 = date(2025, 3, 18), date(2025, 3, 19), date(2025, 3, 20)


@pytest.fixture(params=["fast", "core"], autouse=True)
def sql_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run every test on the SQLite fast path and on the SQLAlchemy Core path."""
    monkeypatch.setattr(upsert, "FAST_PATH", request.param == "fast")
    yield request.param


def paper(arxiv_id: str = "2503.00001", **changes: Any) -> PaperRecord:
    fields: dict[str, Any] = {
        "arxiv_id": arxiv_id,
        "title": f"Gaussian splatting for paper {arxiv_id}",
        "abstract": "We study sparse autoencoders and hidden Markov models.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CV", "cs.LG"],
        "announced_on": D1,
    }
    fields.update(changes)
    return PaperRecord(**fields)


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM papers ORDER BY arxiv_id")).mappings()
        return [dict(row) for row in result]


def one(engine: Engine, arxiv_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM papers WHERE arxiv_id = :a"), {"a": arxiv_id}
        ).mappings()
        return dict(row.one())


def categories(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as conn:
        result = conn.execute(
            text(
                "SELECT p.arxiv_id, c.category FROM paper_categories c "
                "JOIN papers p ON p.id = c.paper_id ORDER BY p.arxiv_id, c.category"
            )
        ).all()
    found: dict[str, list[str]] = {}
    for arxiv_id, category in result:
        found.setdefault(arxiv_id, []).append(category)
    return found


def matches(engine: Engine, query: str) -> set[str]:
    """The papers the keyword index finds for ``query``'s words (through the backend's engine)."""
    with engine.connect() as conn:
        found = keyword_engine(conn).recent(
            conn, Match("and", tuple(Phrase.of(w) for w in query.split())), 0, 10_000
        )
        result = conn.execute(
            text("SELECT arxiv_id FROM papers WHERE id IN :ids").bindparams(
                bindparam("ids", expanding=True)
            ),
            {"ids": found or [0]},
        ).scalars()
        return set(result)


def assert_index_in_step(engine: Engine) -> None:
    with engine.begin() as conn:
        keyword_index.integrity_check(conn)
        assert keyword_index.pending(conn) == 0


def assert_categories_in_step(engine: Engine) -> None:
    expected = {r["arxiv_id"]: sorted(set(r["categories"].split())) for r in rows(engine)}
    assert categories(engine) == {k: v for k, v in expected.items() if v}


def test_new_papers_are_stored_categorised_and_searchable(engine: Engine) -> None:
    counts = upsert_records(engine, [paper("2503.00001"), paper("2503.00002")])
    assert counts == ImportCounts(new=2)
    stored = one(engine, "2503.00001")
    assert stored["title"] == "Gaussian splatting for paper 2503.00001"
    assert stored["primary_category"] == "cs.CV"
    assert str(stored["announced_on"]) == "2025-03-18"
    assert str(stored["updated"]) == "2025-03-18"  # defaults to the announce date
    assert matches(engine, "splatting") == {"2503.00001", "2503.00002"}
    assert matches(engine, "lovelace") == {"2503.00001", "2503.00002"}
    assert matches(engine, "markov") == {"2503.00001", "2503.00002"}
    assert categories(engine) == {
        "2503.00001": ["cs.CV", "cs.LG"],
        "2503.00002": ["cs.CV", "cs.LG"],
    }
    assert_index_in_step(engine)


def test_reimport_changes_nothing(engine: Engine) -> None:
    records = [paper(f"2503.{n:05d}", version=2) for n in range(1, 40)]
    upsert_records(engine, records)
    before = rows(engine)
    assert upsert_records(engine, records) == ImportCounts(unchanged=39)
    assert rows(engine) == before  # modified_at too: nothing was written
    assert_index_in_step(engine)


def test_newer_version_updates_in_place(engine: Engine) -> None:
    upsert_records(engine, [paper(version=1, updated=D1)])
    row_id = one(engine, "2503.00001")["id"]
    newer = paper(version=2, title="Diffusion policies", updated=D2, announced_on=D2)
    assert upsert_records(engine, [newer]) == ImportCounts(updated=1)
    stored = one(engine, "2503.00001")
    assert (stored["id"], stored["version"], stored["title"]) == (row_id, 2, "Diffusion policies")
    assert str(stored["announced_on"]) == "2025-03-18"  # the earliest
    assert len(rows(engine)) == 1
    assert matches(engine, "diffusion") == {"2503.00001"}
    assert matches(engine, "splatting") == set()
    assert_index_in_step(engine)


def test_older_version_does_not_overwrite(engine: Engine) -> None:
    upsert_records(engine, [paper(version=3, title="Version three", updated=D3, announced_on=D2)])
    older = paper(version=1, title="Version one", updated=D1, announced_on=D2)
    assert upsert_records(engine, [older]) == ImportCounts(unchanged=1)
    assert one(engine, "2503.00001")["title"] == "Version three"
    # ... but an older version seen announced earlier moves the announce date back.
    earlier = paper(version=1, title="Version one", updated=D1, announced_on=D1)
    assert upsert_records(engine, [earlier]) == ImportCounts(updated=1)
    stored = one(engine, "2503.00001")
    assert (stored["title"], stored["version"]) == ("Version three", 3)
    assert str(stored["announced_on"]) == "2025-03-18"
    assert matches(engine, "three") == {"2503.00001"}
    assert_index_in_step(engine)


def test_without_versions_the_later_listing_wins(engine: Engine) -> None:
    upsert_records(engine, [paper(title="First title", announced_on=D2)])
    upsert_records(engine, [paper(title="Replaced title", announced_on=D3)])
    assert one(engine, "2503.00001")["title"] == "Replaced title"
    upsert_records(engine, [paper(title="Stale title", announced_on=D1)])
    stored = one(engine, "2503.00001")
    assert stored["title"] == "Replaced title"
    assert str(stored["announced_on"]) == "2025-03-18"
    assert_index_in_step(engine)


def test_earliest_announce_date_is_kept(engine: Engine) -> None:
    upsert_records(engine, [paper(announced_on=D2)])
    upsert_records(engine, [paper(announced_on=D3)])
    assert str(one(engine, "2503.00001")["announced_on"]) == "2025-03-19"
    upsert_records(engine, [paper(announced_on=D1)])
    assert str(one(engine, "2503.00001")["announced_on"]) == "2025-03-18"


def test_categories_follow_the_paper(engine: Engine) -> None:
    upsert_records(engine, [paper(categories=["cs.CL", "cs.LG"], version=1)])
    upsert_records(engine, [paper(categories=["cs.LG", "stat.ML", "cs.LG"], version=2)])
    assert categories(engine) == {"2503.00001": ["cs.LG", "stat.ML"]}
    assert one(engine, "2503.00001")["primary_category"] == "cs.LG"
    assert_categories_in_step(engine)


def test_fields_a_source_lacks_are_kept(engine: Engine) -> None:
    full = paper(version=1, doi="10.1/x", journal_ref="J. Stuff 1", license="CC0", published=D1)
    upsert_records(engine, [full])
    listing = paper(version=2, announced_on=D2, title="New title")  # no doi, journal, license
    upsert_records(engine, [listing])
    stored = one(engine, "2503.00001")
    assert (stored["doi"], stored["journal_ref"], stored["license"]) == (
        "10.1/x",
        "J. Stuff 1",
        "CC0",
    )
    assert str(stored["published"]) == "2025-03-18"
    assert stored["title"] == "New title"


def test_repeats_inside_one_batch_collapse(engine: Engine) -> None:
    counts = upsert_records(
        engine,
        [
            paper(version=1, title="One", announced_on=D2),
            paper("2503.00002"),
            paper(version=2, title="Two", announced_on=D3),
            paper(version=1, title="One", announced_on=D1),
        ],
    )
    assert counts == ImportCounts(new=2, unchanged=2)
    stored = one(engine, "2503.00001")
    assert (stored["title"], stored["version"], str(stored["announced_on"])) == (
        "Two",
        2,
        "2025-03-18",
    )
    assert_index_in_step(engine)


def test_many_batches_and_updates_across_them(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BATCH_SIZE", 7)
    monkeypatch.setattr(keyword_index, "CATCH_UP_CHUNK", 5)
    first = [paper(f"2503.{n:05d}", version=1, title=f"alpha {n}") for n in range(50)]
    # The same import updates papers it added a few batches earlier (not yet keyword-indexed).
    again = [paper(f"2503.{n:05d}", version=2, title=f"beta {n}") for n in range(0, 50, 3)]
    counts = upsert_records(engine, first + again)
    assert counts == ImportCounts(new=50, updated=17)
    assert len(rows(engine)) == 50
    assert len(matches(engine, "beta")) == 17
    assert len(matches(engine, "alpha")) == 33
    assert_index_in_step(engine)
    if backend_of(engine) == "sqlite":  # FTS5's bulk buffer size was put back
        with engine.connect() as conn:
            sql = "SELECT v FROM papers_fts_config WHERE k = 'hashsize'"
            assert conn.execute(text(sql)).scalar() == keyword_index.DEFAULT_HASHSIZE
    # A later import updates papers that are indexed by now.
    counts = upsert_records(
        engine, [paper(f"2503.{n:05d}", version=3, title=f"gamma {n}") for n in range(1, 50, 2)]
    )
    assert counts == ImportCounts(updated=25)
    assert len(matches(engine, "gamma")) == 25
    assert len(matches(engine, "alpha")) + len(matches(engine, "beta")) == 25
    assert_index_in_step(engine)
    assert_categories_in_step(engine)


def test_upsert_batch_indexes_inside_the_callers_transaction(engine: Engine) -> None:
    with engine.begin() as conn:
        counts = upsert_batch(conn, [paper("2503.00001"), paper("2503.00002", title="Other")])
        assert counts == ImportCounts(new=2)
        assert keyword_index.pending(conn) == 0
    with engine.begin() as conn:
        upsert_batch(conn, [paper("2503.00002", title="Changed words", version=5)])
    assert matches(engine, "changed") == {"2503.00002"}
    assert_index_in_step(engine)


@pytest.mark.only_backend("sqlite")
def test_a_crash_before_indexing_is_healed_by_the_next_import(engine: Engine) -> None:
    class Crash(Exception):
        pass

    def crash(_phase: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        upsert_records(engine, [paper(f"2503.{n:05d}") for n in range(30)], on_phase=crash)
    assert len(rows(engine)) == 30  # the papers were committed ...
    with engine.begin() as conn:
        assert keyword_index.pending(conn) == 30  # ... and the index knows what it lacks
    with pytest.raises(DatabaseError), engine.begin() as conn:
        keyword_index.integrity_check(conn)
    assert upsert_records(engine, []) == ImportCounts()
    assert len(matches(engine, "splatting")) == 30
    assert_index_in_step(engine)


@pytest.mark.only_backend("postgresql")
def test_a_crash_before_indexing_leaves_nothing_to_heal_on_postgresql(engine: Engine) -> None:
    """PostgreSQL's keyword vector is a generated column: a paper is searchable in the statement
    that writes it, so an import that dies after its batches leaves no paper behind."""

    class Crash(Exception):
        pass

    def crash(_phase: str) -> None:
        raise Crash

    with pytest.raises(Crash):
        upsert_records(engine, [paper(f"2503.{n:05d}") for n in range(30)], on_phase=crash)
    with engine.begin() as conn:
        assert keyword_index.pending(conn) == 0 and keyword_index.indexed_upto(conn) is None
    assert len(matches(engine, "splatting")) == 30


def test_json_spelled_by_another_writer_is_not_a_change(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "FAST_PATH", False)  # SQLAlchemy writes '["a", "b"]'
    records = [paper(authors=["Zoë Ünicode", "B. Person"])]
    upsert_records(engine, records)
    monkeypatch.setattr(upsert, "FAST_PATH", True)  # the fast path writes '["a","b"]'
    assert upsert_records(engine, records) == ImportCounts(unchanged=1)


def test_updates_that_keep_the_text_keep_the_index_right(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [paper(f"2503.{n:05d}", authors=["Zoë Ünicode"], version=1) for n in range(6)]
    upsert_records(engine, records)
    # Only the comment and categories change: the fast path leaves the keyword index alone.
    upsert_records(
        engine,
        [dataclasses.replace(r, version=2, comment="v2", categories=["cs.AI"]) for r in records],
    )
    assert_index_in_step(engine)
    # The Core path writes the authors' JSON in its own spelling: it re-indexes.
    monkeypatch.setattr(upsert, "FAST_PATH", False)
    upsert_records(engine, [dataclasses.replace(r, version=3, comment="v3") for r in records])
    assert_index_in_step(engine)
    monkeypatch.setattr(upsert, "FAST_PATH", True)
    upsert_records(engine, [dataclasses.replace(r, version=4, comment="v4") for r in records])
    assert_index_in_step(engine)
    assert matches(engine, "ünicode") == {f"2503.{n:05d}" for n in range(6)}
    assert_categories_in_step(engine)


def test_merge_row_is_pure_and_symmetric_in_dates() -> None:
    stored = flat_row(paper(version=2, announced_on=D2, doi="10.1/x"))
    incoming = flat_row(paper(version=1, announced_on=D1))
    merged = merge_row(incoming, stored)  # rows are tuples: nothing to change in place
    assert merged.version == 2 and merged.doi == "10.1/x"
    assert merged.announced_on == D1.isoformat()


def test_record_fields_round_trip(engine: Engine, sql_path: str) -> None:
    record = paper(
        version=4,
        published=D1,
        updated=D3,
        comment="10 pages",
        journal_ref="Nature 1",
        doi="10.1/y",
        license="CC-BY",
        code_url="https://github.com/a/b",
        project_url="https://a.io",
        authors=["Émile Zola"],
    )
    upsert_records(engine, [record])
    stored = one(engine, "2503.00001")
    expected = dataclasses.asdict(record)
    for column in ("version", "comment", "journal_ref", "doi", "license", "code_url"):
        assert stored[column] == expected[column]
    assert stored["project_url"] == "https://a.io"
    assert str(stored["published"]) == "2025-03-18" and str(stored["updated"]) == "2025-03-20"
    assert matches(engine, "zola") == {"2503.00001"}
    assert matches(engine, "émile") == {"2503.00001"}
    if sql_path == "fast" and backend_of(engine) == "sqlite":
        # Authors are stored as UTF-8 JSON, so the tokenizer sees the names (and FTS5 folds the
        # diacritics; PostgreSQL does not). SQLAlchemy's default JSON serializer writes
        # "\u00c9mile" instead.
        assert matches(engine, "emile") == {"2503.00001"}


def test_flat_rows_are_papers_columns_and_records_round_trip(engine: Engine) -> None:
    columns = [column["name"] for column in inspect(engine).get_columns("papers")]
    assert set(FlatRow._fields) <= set(columns)
    record = paper(version=3, published=D1, updated=D2, comment="c", doi="10.1/z", license="L")
    row = flat_row(record)
    assert isinstance(row, FlatRow) and row.authors == '["Ada Lovelace","Alan Turing"]'
    assert (row.categories, row.primary_category, row.updated) == (
        "cs.CV cs.LG",
        "cs.CV",
        "2025-03-19",
    )
    assert paper_record(row) == record
    assert paper_record(flat_row(paper())).updated == D1  # no update date: the announce date
