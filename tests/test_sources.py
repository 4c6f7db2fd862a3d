"""Pure parsing: arXiv ids, listing and snapshot lines, links, file reading, background parsing."""

from __future__ import annotations

import gzip
import json
import random
import re
from datetime import date
from functools import partial
from pathlib import Path

import pytest

from dailypapers.sources import parse_pool
from dailypapers.sources.arxiv.ids import InvalidArxivId, is_arxiv_id, parse_arxiv_id
from dailypapers.sources.arxiv.listing import (
    MalformedRecord,
    date_from_filename,
    parse_listing_line,
)
from dailypapers.sources.arxiv.records import (
    _URL_RE,
    FLAT_FIELDS,
    PaperRecord,
    _urls_in,
    clean_categories,
    extract_links,
    find_urls,
    flat_row,
    is_category,
    normalise_text,
    parse_flat,
)
from dailypapers.sources.arxiv.snapshot import parse_snapshot_flat, parse_snapshot_line
from dailypapers.sources.files import ImportFileError, iter_lines
from dailypapers.sources.parse_pool import parse_file

DATA = Path(__file__).parent / "data"
LISTINGS = DATA / "listings"
SNAPSHOT = DATA / "snapshot" / "kaggle-head30.jsonl.gz"
BAD = DATA / "bad"
DAY = date(2025, 3, 18)


def listing_line(**fields: object) -> bytes:
    base: dict[str, object] = {
        "id": "2503.11731",
        "pdf": "https://arxiv.org/pdf/2503.11731",
        "abs": "https://arxiv.org/abs/2503.11731",
        "authors": ["Ada Lovelace", "Alan  Turing"],
        "title": "A   title\n  on two lines",
        "categories": ["cs.CV", "cs.RO"],
        "comment": None,
        "summary": "First line\nsecond line.",
    }
    base.update(fields)
    return json.dumps(base).encode()


def snapshot_line(**fields: object) -> bytes:
    data = json.loads(gzip.decompress(SNAPSHOT.read_bytes()).splitlines()[0])
    data.update(fields)
    return json.dumps(data).encode()


# --- arXiv ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2503.11731", ("2503.11731", None)),
        ("2503.11731v2", ("2503.11731", 2)),
        ("0704.0001", ("0704.0001", None)),
        ("1501.00001v12", ("1501.00001", 12)),
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("cond-mat/0011123v1", ("cond-mat/0011123", 1)),
        ("  2503.11731v1 \n", ("2503.11731", 1)),
        ("arXiv:2503.11731", ("2503.11731", None)),
        ("arxiv:2503.11731v4", ("2503.11731", 4)),
        ("https://arxiv.org/abs/2503.11731", ("2503.11731", None)),
        ("http://arxiv.org/abs/2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/pdf/2503.11731v2", ("2503.11731", 2)),
        ("https://arxiv.org/pdf/2503.11731v2.pdf", ("2503.11731", 2)),
        ("https://www.arxiv.org/abs/hep-th/9901001", ("hep-th/9901001", None)),
        ("https://export.arxiv.org/abs/2503.11731/", ("2503.11731", None)),
        ("arxiv.org/html/2503.11731v1", ("2503.11731", 1)),
        ("HTTPS://ARXIV.ORG/ABS/2503.11731", ("2503.11731", None)),
    ],
)
def test_parse_arxiv_id(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected
    assert is_arxiv_id(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "2503.117",  # too few digits
        "2503.117311",  # too many
        "25031.1731",
        "2503.11731v",  # version without number
        "2503.11731x2",
        "hep-th/990100",  # old style needs seven digits
        "HEP-TH/9901001",
        "https://example.org/abs/2503.11731",
        "https://arxiv.org/list/cs.CV/new",
        "arXiv:",
        "2503.11731\n2503.11732",
        "٢٥٠٣.١١٧٣١",  # Arabic-Indic digits are digits to \d, not to arXiv
    ],
)
def test_parse_arxiv_id_rejects_garbage(text: str) -> None:
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        parse_arxiv_id(text)
    assert not is_arxiv_id(text)


# --- normalisation and links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "one",
        "  A fully differential calculation\nin perturbative QCD is\n  presented.\n",
        "tabs\tand\r\ncarriage returns" * 20,
        "long " * 100 + "  double  spaces  " * 10,
        "non-breaking\u00a0space and em\u2003space and line\u2028separator " * 10,
        "ascii control \x1c separator " * 20,
        "\n\n  " + "x" * 300 + "  \n",
        "naïve café résumé\n" * 30,
    ],
)
def test_normalise_text_is_split_join(text: str) -> None:
    assert normalise_text(text) == " ".join(text.split())


def test_normalise_text_none() -> None:
    assert normalise_text(None) == ""


def test_url_finder_matches_the_pattern_exactly() -> None:
    rng = random.Random(7)
    pieces = ["http", "https", "HTTPS", "hTtP", ":", "//", "://", "/", "a", ".", '"', " ", "s"]
    pieces += ["\n", "]", "x", "\u017f", "é", "<"]
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14)))
        assert _urls_in(text) == _URL_RE.findall(text), text


@pytest.mark.parametrize(
    ("texts", "code", "project"),
    [
        (("Code: https://github.com/owner/repo.",), "https://github.com/owner/repo", None),
        (
            ("See https://github.com/owner/repo/tree/main/src",),
            "https://github.com/owner/repo",
            None,
        ),
        (("(https://www.github.com/Owner/Repo.git)",), "https://www.github.com/Owner/Repo", None),
        (("https://gitlab.com/group/project, and",), "https://gitlab.com/group/project", None),
        (("Project page: https://example.org/proj/.",), None, "https://example.org/proj/"),
        (("https://arxiv.org/abs/2401.00001 and https://doi.org/10.1/x",), None, None),
        (
            ("page https://site.io/x; code https://github.com/a/b",),
            "https://github.com/a/b",
            "https://site.io/x",
        ),
        (("no links here",), None, None),
        (("abstract", "Comment: code at https://github.com/a/b"), "https://github.com/a/b", None),
        (("https://github.com/only-owner",), None, "https://github.com/only-owner"),
        ((None, ""), None, None),
    ],
)
def test_extract_links(
    texts: tuple[str | None, ...], code: str | None, project: str | None
) -> None:
    assert extract_links(*texts) == (code, project)


def test_find_urls_trims_and_dedupes() -> None:
    text = 'see "https://a.org/x", (https://a.org/x) and https://b.org/y]. http://c.org'
    assert find_urls(text, "again https://b.org/y") == [
        "https://a.org/x",
        "https://b.org/y",
        "http://c.org",
    ]


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("cs.CL", True),
        ("hep-th", True),
        ("cond-mat.stat-mech", True),
        ("q-bio.BM", True),
        ("math.GT", True),
        ("physics.comp-ph", True),
        ("I.2.7", False),
        ("68T45", False),
        ("(Primary),", False),
        ("acmart", False),
        ("na", False),
        ("cs.", False),
        ("", False),
    ],
)
def test_is_category(name: str, ok: bool) -> None:
    assert is_category(name) is ok


def test_clean_categories_keeps_order_and_drops_classes() -> None:
    assert clean_categories([" cs.CL", "cs.AI", "68T45 (Primary)", "I.2.7", "cs.CL", ""]) == [
        "cs.CL",
        "cs.AI",
    ]


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


# --- parsing in batches, here or in a second process ---------------------------------------------


@pytest.mark.parametrize("background", [False, True])
def test_parse_file_batches_bad_lines_and_sizes(background: bool) -> None:
    path = BAD / "snapshot-bad-lines.jsonl"
    parse = partial(parse_flat, parse_snapshot_line)
    batches = list(parse_file(path, parse, batch_size=3, background=background))
    rows = [row for batch in batches for row in batch.records]
    bad = [item for batch in batches for item in batch.bad]
    assert [row[0] for row in rows] == ["0704.0001", "0704.0002", "0704.0003"]
    assert [number for number, _ in bad] == [2, 3, 4, 6, 8]
    assert "invalid JSON" in bad[0][1]
    assert bad[1][1] == "expected a JSON object"
    assert bad[2][1] == "missing or empty 'title'"
    assert "not an arXiv id" in bad[3][1]
    assert sum(batch.size for batch in batches) == path.stat().st_size - 1  # the blank line
    assert [len(b.records) + len(b.bad) for b in batches] == [3, 3, 2]


@pytest.mark.parametrize("parsers", [1, 2, 3])
def test_parse_file_background_matches_in_process(
    parsers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSERS", parsers)
    parse = partial(parse_flat, partial(parse_listing_line, announced_on=DAY))
    path = LISTINGS / "2025-03-18.jsonl.gz"
    here = list(parse_file(path, parse, batch_size=7, background=False))
    there = list(parse_file(path, parse, batch_size=7, background=True))
    assert here == there
    assert [len(batch.records) for batch in here] == [7, 7, 7, 7, 2]


@pytest.mark.parametrize("parsers", [2, 3])
def test_parse_file_several_parsers_keep_order_and_errors(
    parsers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSERS", parsers)
    parse = partial(parse_flat, parse_snapshot_line)
    path = BAD / "snapshot-bad-lines.jsonl"
    assert list(parse_file(path, parse, batch_size=2, background=True)) == list(
        parse_file(path, parse, batch_size=2, background=False)
    )
    seen: list[str] = []
    with pytest.raises(ImportFileError, match="unreadable gzip"):
        for batch in parse_file(
            BAD / "snapshot-truncated.jsonl.gz", parse, batch_size=4, background=True
        ):
            seen.extend(row[0] for row in batch.records)
    assert len(seen) == 12  # three whole batches before the damage, in order
    head = [
        parse_snapshot_line(line).arxiv_id
        for line in gzip.decompress(SNAPSHOT.read_bytes()).splitlines()
    ]
    assert seen == head[:12]


def test_parse_file_background_truncated_gzip_after_good_batches() -> None:
    parse = partial(parse_flat, parse_snapshot_line)
    seen: list[str] = []
    with pytest.raises(ImportFileError, match="unreadable gzip"):
        for batch in parse_file(
            BAD / "snapshot-truncated.jsonl.gz", parse, batch_size=5, background=True
        ):
            seen.extend(row[0] for row in batch.records)
    assert seen and len(seen) % 5 == 0


def test_parse_file_background_reports_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"{}\n")
    # An error other than MalformedRecord is a bug: the caller gets the child's traceback.
    with pytest.raises(RuntimeError, match="(?s)parsing failed in the background.*ValueError"):
        list(parse_file(path, int, background=True))
    with pytest.raises(ValueError):
        list(parse_file(path, int, background=False))


def test_parse_file_stops_the_child_when_the_reader_stops() -> None:
    parse = partial(parse_flat, parse_snapshot_line)
    batches = parse_file(SNAPSHOT, parse, batch_size=1, background=True)
    first = next(batches)
    assert first.records[0][0] == "0704.0001"
    batches.close()  # must not hang or leave the child running


def test_parse_file_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        next(parse_file(tmp_path / "missing.jsonl", parse_snapshot_line))
