"""Importing files: listings by day, the snapshot, bad lines, unreadable files, the real data set."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dailypapers import upsert
from dailypapers.db import keyword_index
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.search.fts import keyword_engine
from dailypapers.search.fts_query import Phrase
from dailypapers.services.imports import import_listing, import_snapshot
from dailypapers.sources import parse_pool
from dailypapers.sources.files import ImportFileError
from dailypapers.upsert import ImportCounts
from tests.conftest import shared_data

DATA = Path(__file__).parent / "data"
LISTINGS = sorted((DATA / "listings").glob("*.jsonl.gz"))
SNAPSHOT = DATA / "snapshot" / "kaggle-head30.jsonl.gz"
BAD = DATA / "bad"


def table(engine: Engine, sql: str = "SELECT * FROM papers ORDER BY arxiv_id") -> list[Any]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def paper(engine: Engine, arxiv_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM papers WHERE arxiv_id = :a"), {"a": arxiv_id})
        return dict(result.mappings().one())


def categories_of(engine: Engine, arxiv_id: str) -> list[str]:
    sql = (
        "SELECT c.category FROM paper_categories c JOIN papers p ON p.id = c.paper_id "
        "WHERE p.arxiv_id = :a ORDER BY c.category"
    )
    with engine.connect() as conn:
        return list(conn.execute(text(sql), {"a": arxiv_id}).scalars())


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def assert_consistent(engine: Engine) -> None:
    """Keyword index and categories table agree with ``papers``."""
    with engine.begin() as conn:
        keyword_index.integrity_check(conn)
        assert keyword_index.pending(conn) == 0
    for arxiv_id, cats in table(engine, "SELECT arxiv_id, categories FROM papers"):
        assert categories_of(engine, arxiv_id) == sorted(set(cats.split()))


def snapshot_values(engine: Engine) -> list[Any]:
    """Everything about the papers except ids and timestamps (which depend on import order), as
    Python values whatever the backend (authors as a list, dates as ISO text): an import into
    PostgreSQL is compared with the same import into SQLite."""
    rows = table(
        engine,
        "SELECT arxiv_id, version, title, abstract, authors, categories, primary_category, "
        "published, updated, announced_on, comment, journal_ref, doi, license, code_url, "
        "project_url FROM papers ORDER BY arxiv_id",
    )
    return [
        tuple(
            json.loads(value) if column == 4 and isinstance(value, str)
            else value.isoformat() if isinstance(value, date)
            else value
            for column, value in enumerate(row)
        )
        for row in rows
    ]  # fmt: skip


# --- listings ---------------------------------------------------------------------------------


def test_listing_days_import_and_reimport(engine: Engine) -> None:
    totals = ImportCounts()
    for path in LISTINGS:
        totals.add(import_listing(engine, path))
    assert totals == ImportCounts(new=88, updated=2)
    assert count(engine, "SELECT count(*) FROM papers") == 88

    retitled = paper(engine, "2503.12836")  # announced 03-18, re-listed 06-13 with a new title
    assert str(retitled["announced_on"]) == "2025-03-18"
    assert str(retitled["updated"]) == "2025-06-13"
    recategorised = paper(engine, "2504.15777")  # 04-23, re-listed 06-13 with cs.AI added
    assert recategorised["categories"] == "cs.CL cs.AI cs.LG"
    assert categories_of(engine, "2504.15777") == ["cs.AI", "cs.CL", "cs.LG"]
    assert str(recategorised["announced_on"]) == "2025-04-23"
    assert_consistent(engine)

    before = table(engine)
    for path in LISTINGS:
        assert import_listing(engine, path) == ImportCounts(unchanged=30)
    assert table(engine) == before


def test_listing_order_does_not_matter(engine: Engine, tmp_path: Path) -> None:
    for path in LISTINGS:
        import_listing(engine, path)
    other = make_engine(f"sqlite:///{tmp_path / 'reverse.db'}")
    upgrade(other)
    try:
        for path in reversed(LISTINGS):
            import_listing(other, path)
        assert snapshot_values(other) == snapshot_values(engine)
        assert_consistent(other)
    finally:
        other.dispose()


def test_listing_title_change_moves_the_keyword_index(engine: Engine) -> None:
    import_listing(engine, LISTINGS[0])
    old_title = paper(engine, "2503.12836")["title"]
    import_listing(engine, LISTINGS[-1])
    new_title = paper(engine, "2503.12836")["title"]
    assert old_title != new_title
    only_old = set(old_title.lower().split()) - set(new_title.lower().split())
    assert only_old, "the fixture's two titles should differ in words"
    assert_consistent(engine)


def test_listing_bad_lines_are_reported_and_skipped(engine: Engine) -> None:
    reported: list[tuple[str, int, str]] = []
    counts = import_listing(
        engine,
        BAD / "2025-03-21.jsonl",
        on_bad_line=lambda path, line, reason: reported.append((path.name, line, reason)),
    )
    assert counts == ImportCounts(new=3, skipped=4)
    assert [(name, line) for name, line, _ in reported] == [
        ("2025-03-21.jsonl", 2),
        ("2025-03-21.jsonl", 4),
        ("2025-03-21.jsonl", 5),
        ("2025-03-21.jsonl", 6),
    ]
    reasons = [reason for _, _, reason in reported]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1:] == [
        "missing or empty 'summary'",
        "expected a JSON object",
        "'authors' must be a list of names",
    ]
    days = table(engine, "SELECT DISTINCT announced_on FROM papers")
    assert {str(day) for (day,) in days} == {"2025-03-21"}
    assert_consistent(engine)


def test_listing_without_a_date_in_its_name(engine: Engine) -> None:
    undated = BAD / "listing-undated.jsonl"
    with pytest.raises(ImportFileError, match="cannot tell the announce date"):
        import_listing(engine, undated)
    counts = import_listing(engine, undated, announced_on=date(2025, 3, 18))
    assert counts == ImportCounts(new=2)


def test_listing_progress_counts_every_byte(engine: Engine, tmp_path: Path) -> None:
    plain = tmp_path / "2025-03-21.jsonl"
    shutil.copy(BAD / "2025-03-21.jsonl", plain)
    advanced: list[int] = []
    import_listing(engine, plain, on_progress=advanced.append)
    assert sum(advanced) == plain.stat().st_size


# --- snapshot ---------------------------------------------------------------------------------


def test_snapshot_import_and_reimport(engine: Engine) -> None:
    assert import_snapshot(engine, SNAPSHOT) == ImportCounts(new=30)
    first = paper(engine, "0704.0001")
    assert (first["version"], first["doi"]) == (2, "10.1103/PhysRevD.76.013009")
    assert str(first["announced_on"]) == "2007-04-02"
    assert categories_of(engine, "0704.0002") == ["cs.CG", "math.CO"]
    assert_consistent(engine)
    before = table(engine)
    assert import_snapshot(engine, SNAPSHOT) == ImportCounts(unchanged=30)
    assert table(engine) == before


def test_snapshot_in_a_second_process_matches(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_snapshot(engine, SNAPSHOT)
    expected = snapshot_values(engine)
    other = make_engine(f"sqlite:///{tmp_path / 'background.db'}")
    upgrade(other)
    monkeypatch.setattr(parse_pool, "BACKGROUND_MIN_BYTES", 0)
    monkeypatch.setattr(parse_pool, "usable_cpus", lambda: 2)
    try:
        assert import_snapshot(other, SNAPSHOT) == ImportCounts(new=30)
        assert snapshot_values(other) == expected
        assert_consistent(other)
    finally:
        other.dispose()


def test_snapshot_bad_lines(engine: Engine) -> None:
    reported: list[tuple[int, str]] = []
    counts = import_snapshot(
        engine,
        BAD / "snapshot-bad-lines.jsonl",
        on_bad_line=lambda _path, line, reason: reported.append((line, reason)),
    )
    assert counts == ImportCounts(new=3, skipped=5)
    assert [line for line, _ in reported] == [2, 3, 4, 6, 8]
    assert reported[2] == (4, "missing or empty 'title'")
    assert "not an arXiv id" in reported[3][1]
    assert_consistent(engine)


def test_snapshot_then_listing_keeps_what_the_listing_lacks(engine: Engine, tmp_path: Path) -> None:
    import_snapshot(engine, SNAPSHOT)
    listing = tmp_path / "2008-01-01.jsonl"
    listing.write_text(
        '{"id": "0704.0001v3", "authors": ["C. Balazs"], "title": "Diphoton production", '
        '"categories": ["hep-ph", "hep-ex"], "comment": null, "summary": "New abstract."}\n'
    )
    assert import_listing(engine, listing) == ImportCounts(updated=1)
    stored = paper(engine, "0704.0001")
    assert (stored["version"], stored["title"]) == (3, "Diphoton production")
    assert stored["doi"] == "10.1103/PhysRevD.76.013009"  # the listing has no DOI: kept
    assert stored["journal_ref"] == "Phys.Rev.D76:013009,2007"
    assert str(stored["announced_on"]) == "2007-04-02"
    assert categories_of(engine, "0704.0001") == ["hep-ex", "hep-ph"]
    assert_consistent(engine)


# --- unreadable files -------------------------------------------------------------------------


@pytest.mark.parametrize("importer", ["listing", "snapshot"])
def test_unreadable_files(engine: Engine, tmp_path: Path, importer: str) -> None:
    def run(path: Path) -> ImportCounts:
        if importer == "listing":
            return import_listing(engine, path, announced_on=date(2025, 3, 18))
        return import_snapshot(engine, path)

    with pytest.raises(ImportFileError, match=r"missing\.jsonl: no such file"):
        run(tmp_path / "missing.jsonl")
    with pytest.raises(ImportFileError, match="is a directory, not a file"):
        run(tmp_path)
    with pytest.raises(ImportFileError, match=r"snapshot-truncated\.jsonl\.gz: unreadable gzip"):
        run(BAD / "snapshot-truncated.jsonl.gz")
    assert_consistent(engine)


def test_truncated_gzip_keeps_whole_batches_before_the_damage(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upsert, "BATCH_SIZE", 4)
    monkeypatch.setattr(parse_pool, "BATCH_SIZE", 4)
    with pytest.raises(ImportFileError, match="unreadable gzip"):
        import_snapshot(engine, BAD / "snapshot-truncated.jsonl.gz")
    # 15 whole lines came out before the damage: three batches of four were committed.
    assert count(engine, "SELECT count(*) FROM papers") == 12
    assert_consistent(engine)  # and indexed, although the import failed


# --- the real data set ------------------------------------------------------------------------


def test_all_shared_listings(engine: Engine) -> None:
    folder = shared_data("arxiv-listings-2025")
    paths = sorted(folder.glob("*.jsonl.gz"))
    assert len(paths) == 81
    totals = ImportCounts()
    for path in paths:
        totals.add(import_listing(engine, path))
    assert totals.total + totals.skipped == 41_074
    assert count(engine, "SELECT count(*) FROM papers") == 33_641
    assert totals.new == 33_641
    assert count(engine, "SELECT count(DISTINCT arxiv_id) FROM papers") == 33_641
    with engine.begin() as conn:
        keyword_index.integrity_check(conn)
        assert keyword_index.pending(conn) == 0
    like = count(
        engine,
        "SELECT count(*) FROM papers WHERE lower(title) LIKE '%transformer%' "
        "OR lower(abstract) LIKE '%transformer%'",
    )
    with engine.connect() as conn:
        match = keyword_engine(conn).count(conn, Phrase.of("transformer"), after=0)
    assert match is not None and 0 < like <= match  # stemming finds "transformed" too
    orphans = count(
        engine,
        "SELECT count(*) FROM papers p WHERE NOT EXISTS "
        "(SELECT 1 FROM paper_categories c WHERE c.paper_id = p.id) AND p.categories != ''",
    )
    assert orphans == 0
    # Importing everything again changes nothing.
    again = ImportCounts()
    for path in paths[:10]:
        again.add(import_listing(engine, path))
    assert again.new == again.updated == 0
