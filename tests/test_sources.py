"""Pure parsing of import files: listing lines, snapshot lines, reading plain and gzip files.
(arXiv ids and links: test_arxiv_records.py; batches and parser processes:
test_parse_pool.py.)
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from pathlib import Path

import pytest

from dailypapers.sources.arxiv.listing import (
    MalformedRecord,
    date_from_filename,
    parse_listing_line,
)
from dailypapers.sources.arxiv.records import FLAT_FIELDS, PaperRecord, flat_row
from dailypapers.sources.arxiv.snapshot import parse_snapshot_flat, parse_snapshot_line
from dailypapers.sources.files import ImportFileError, iter_lines
from tests.source_lines import BAD, DAY, LISTINGS, SNAPSHOT, listing_line, snapshot_line

# --- listing lines --------------------------------------------------------------------------------


def test_parse_listing_line() -> None:
    record = parse_listing_line(
        listing_line(comment="  Code: https://github.com/a/b.  "), announced_on=DAY
    )
    assert record == PaperRecord(
        arxiv_id="2503.11731",
        title="A title on two lines",
        abstract="First line second line.",
        authors=["Ada Lovelace", "Alan Turing"],
        categories=["cs.CV", "cs.RO"],
        announced_on=DAY,
        comment="Code: https://github.com/a/b.",
        code_url="https://github.com/a/b",
    )
    assert record.primary_category == "cs.CV"
    assert record.version is None and record.published is None


def test_parse_listing_line_real_file() -> None:
    lines = gzip.decompress((LISTINGS / "2025-03-18.jsonl.gz").read_bytes()).splitlines()
    records = [parse_listing_line(line, DAY) for line in lines]
    assert len(records) == 30
    first = records[0]
    assert first.arxiv_id == "2503.11731"
    assert first.title.startswith("Industrial-Grade Sensor Simulation via Gaussian Splatting")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.authors[:2] == ["Xianming Zeng", "Sicong Du"]
    assert first.categories == ["cs.CV", "cs.RO"]
    assert all(r.announced_on == DAY for r in records)


def test_parse_listing_line_versioned_id_and_class_categories() -> None:
    line = listing_line(id="2503.11731v3", categories=["cs.CL", "68T50 (Primary)", "I.2.7"])
    record = parse_listing_line(line, DAY)
    assert (record.arxiv_id, record.version) == ("2503.11731", 3)
    assert record.categories == ["cs.CL"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (b'"text"', "expected a JSON object"),
        (b"null", "expected a JSON object"),
        (b"\xff\xfe{}", "invalid JSON"),
        (listing_line(title="  "), "missing or empty 'title'"),
        (listing_line(title=None), "missing or empty 'title'"),
        (listing_line(summary=""), "missing or empty 'summary'"),
        (listing_line(id="abc"), "not an arXiv id"),
        (listing_line(id=None), "missing or empty 'id'"),
        (listing_line(authors="A. Person"), "'authors' must be a list"),
        (listing_line(authors=[1]), "'authors' must be a list"),
        (listing_line(categories="cs.CL"), "'categories' must be a list"),
    ],
)
def test_parse_listing_line_rejects(line: bytes, reason: str) -> None:
    with pytest.raises(MalformedRecord, match=re.escape(reason)):
        parse_listing_line(line, DAY)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2025-03-18.jsonl.gz", date(2025, 3, 18)),
        ("listing-2025-07-04.jsonl", date(2025, 7, 4)),
        ("2025-13-01.jsonl", None),
        ("listing.jsonl", None),
    ],
)
def test_date_from_filename(name: str, expected: date | None) -> None:
    assert date_from_filename(Path(name)) == expected


# --- snapshot lines -------------------------------------------------------------------------------


def test_parse_snapshot_line_real_head() -> None:
    records = [
        parse_snapshot_line(line) for line in gzip.decompress(SNAPSHOT.read_bytes()).splitlines()
    ]
    assert len(records) == 30
    first = records[0]
    assert first.arxiv_id == "0704.0001"
    assert first.version == 2
    assert first.published == date(2007, 4, 2)
    assert first.announced_on == date(2007, 4, 2)
    assert first.updated == date(2008, 11, 26)
    assert first.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert first.abstract.startswith("A fully differential calculation in perturbative")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert first.categories == ["hep-ph"]
    assert first.comment == "37 pages, 15 figures; published version"
    assert first.journal_ref == "Phys.Rev.D76:013009,2007"
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert first.license is None
    second = records[1]
    assert second.categories == ["math.CO", "cs.CG"]
    assert second.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert second.doi is None and second.journal_ref is None


def test_parse_snapshot_line_versions_and_dates() -> None:
    versions = [
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
        {"version": "v1", "created": "Mon, 2 Apr 2007 23:18:42 -0700"},
        {"version": "v10", "created": "Fri, 1 Jan 2010 00:00:00 GMT"},
        "junk",
    ]
    record = parse_snapshot_line(snapshot_line(versions=versions, update_date="2010-01-02"))
    assert record.version == 10
    # The calendar date as written, whatever the zone.
    assert record.published == record.announced_on == date(2007, 4, 2)
    assert record.updated == date(2010, 1, 2)


def test_parse_snapshot_line_odd_version_date_falls_back() -> None:
    versions = [{"version": "v1", "created": "2 Apr 2007 19:18:42 +0000"}]
    record = parse_snapshot_line(snapshot_line(versions=versions))
    assert record.published == date(2007, 4, 2)
    unreadable = [{"version": "v1", "created": "sometime"}]
    record = parse_snapshot_line(snapshot_line(versions=unreadable, update_date="2008-11-26"))
    assert record.published is None
    assert record.announced_on == date(2008, 11, 26)


def test_parse_snapshot_line_authors_fallback() -> None:
    record = parse_snapshot_line(
        snapshot_line(authors_parsed=[], authors="A. One, B.  Two and C. Three")
    )
    assert record.authors == ["A. One", "B. Two", "C. Three"]
    record = parse_snapshot_line(
        snapshot_line(authors_parsed=[["Doe", "Jane", "Jr"], ["Solo"], ["", "", ""]])
    )
    assert record.authors == ["Jane Doe Jr", "Solo"]


def test_parse_snapshot_line_links_and_blank_optionals() -> None:
    record = parse_snapshot_line(
        snapshot_line(
            comments="  ", doi="", **{"journal-ref": None}, abstract="Code: https://github.com/x/y"
        )
    )
    assert record.comment is None and record.doi is None and record.journal_ref is None
    assert record.code_url == "https://github.com/x/y"


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (snapshot_line(categories=""), "missing or empty 'categories'"),
        (snapshot_line(categories="68T45 I.2.7"), "missing or empty 'categories'"),
        (snapshot_line(abstract=None), "missing or empty 'abstract'"),
        (snapshot_line(title=""), "missing or empty 'title'"),
        (snapshot_line(id="0704.1"), "not an arXiv id"),
        (snapshot_line(versions=[], update_date=None), "no version dates"),
        (b'{"id": "0704.0001", "title": "NaN", "x": NaN}', "invalid JSON"),
    ],
)
def test_parse_snapshot_line_rejects(line: bytes, reason: str) -> None:
    with pytest.raises(MalformedRecord, match=re.escape(reason)):
        parse_snapshot_line(line)


def test_parse_snapshot_flat_is_flat_row_of_the_record() -> None:
    lines = gzip.decompress(SNAPSHOT.read_bytes()).splitlines()
    lines += [snapshot_line(authors_parsed=[], doi="", license=None, versions=[])]
    for line in lines:
        assert parse_snapshot_flat(line) == flat_row(parse_snapshot_line(line))
    with pytest.raises(MalformedRecord, match="missing or empty 'title'"):
        parse_snapshot_flat(snapshot_line(title=" "))


def test_flat_row() -> None:
    record = parse_snapshot_line(gzip.decompress(SNAPSHOT.read_bytes()).splitlines()[0])
    row = flat_row(record)
    assert len(row) == len(FLAT_FIELDS)
    values = dict(zip(FLAT_FIELDS, row, strict=True))
    assert values["arxiv_id"] == "0704.0001"
    assert json.loads(values["authors"]) == record.authors
    assert values["published"] == "2007-04-02"
    assert values["updated"] == "2008-11-26"
    assert values["categories"] == "hep-ph" and values["primary_category"] == "hep-ph"
    listing = parse_listing_line(listing_line(), DAY)
    assert dict(zip(FLAT_FIELDS, flat_row(listing), strict=True))["updated"] == "2025-03-18"


# --- files ----------------------------------------------------------------------------------------


def test_iter_lines_plain_and_gzip_agree(tmp_path: Path) -> None:
    plain = tmp_path / "x.jsonl"
    plain.write_bytes(b'{"a": 1}\n\n   \n{"b": 2}\n{"c": 3}')
    packed = tmp_path / "x.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    expected = [(1, b'{"a": 1}\n'), (4, b'{"b": 2}\n'), (5, b'{"c": 3}')]
    assert list(iter_lines(plain)) == expected
    assert list(iter_lines(packed)) == expected


def test_iter_lines_detects_gzip_by_content(tmp_path: Path) -> None:
    disguised = tmp_path / "listing.jsonl"
    disguised.write_bytes(gzip.compress(b"{}\n"))
    assert list(iter_lines(disguised)) == [(1, b"{}\n")]


def test_iter_lines_truncated_gzip() -> None:
    lines = iter_lines(BAD / "snapshot-truncated.jsonl.gz")
    with pytest.raises(ImportFileError, match=r"snapshot-truncated\.jsonl\.gz: unreadable gzip"):
        for _ in lines:
            pass


def test_iter_lines_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        list(iter_lines(tmp_path / "nope.jsonl"))
    with pytest.raises(ImportFileError, match="is a directory"):
        list(iter_lines(tmp_path))


def test_iter_lines_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert list(iter_lines(empty)) == []
