"""Each fast path held to the plain code it stands for (docs/PERFORMANCE.md lists them all).

A fast path is kept for a figure a benchmark measures; these tests keep it right: hypothesis feeds
the fast and the plain path the same inputs, many and odd ones, and they must agree. Where the
two differ on purpose (an empty trailing line in a mail, whitespace at a header's edge), the
comparison says so.
"""

from __future__ import annotations

import gzip
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from dailypapers import upsert
from dailypapers.config import Settings
from dailypapers.db import keyword_index
from dailypapers.db.engine import make_engine
from dailypapers.db.migrate import upgrade
from dailypapers.mail import Mail, message_bytes
from dailypapers.sources import jsonl, parse_pool
from dailypapers.sources.arxiv.listing import parse_listing_line
from dailypapers.sources.arxiv.records import (
    _URL_RE,
    FlatRow,
    PaperRecord,
    _urls_in,
    normalise_text,
    parse_flat,
)
from dailypapers.sources.arxiv.snapshot import (
    _author_name,
    _authors,
    _created_date,
    _update_date,
    parse_snapshot_flat,
)
from dailypapers.sources.parse_pool import ParsedBatch, from_wire, parse_file, to_wire
from dailypapers.web.app import create_app
from tests.conftest import enabled_backends
from tests.helpers import add_papers, record
from tests.postgres import PostgresServer

DATA = Path(__file__).parent / "data"
MANY = settings(max_examples=300, deadline=None)
FEW = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# --- text: normalise_text's ASCII path, _urls_in ------------------------------------------------

# Long ASCII text (over 200 characters) takes the fast path when its only whitespace is spaces and
# line breaks: such text with at most one other whitespace character put in somewhere (which must
# send it down the plain path); and any text at all.
_PLAIN_PIECES = ["word", "x" * 40, " ", "  ", "   ", "\n", " \n ", "\n\n", "$x^2$", "\x00"]
_OTHER_SPACE = ["", "\t", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f"]
_texts = st.one_of(
    st.text(),
    st.tuples(
        st.lists(st.sampled_from(_PLAIN_PIECES), min_size=30, max_size=90),
        st.sampled_from(_OTHER_SPACE),
        st.integers(0, 90),
    ).map(lambda parts: "".join([*parts[0][: parts[2]], parts[1], *parts[0][parts[2] :]])),
    st.lists(st.sampled_from([*_PLAIN_PIECES, *_OTHER_SPACE, "\x85", "\xa0", "\u2028", "é"])).map(
        "".join
    ),
)


@MANY
@given(_texts)
def test_normalise_text_is_split_and_join(value: str) -> None:
    assert normalise_text(value) == " ".join(value.replace("\x00", "").split())


# Text with URLs and near-URLs: schemes right before "://" (or one letter off), and the characters
# that end a match.
_URL_PIECES = ["http", "https", "HTTPS", "hTtP", "xhttp", "ttps", ":", "//", "://", "/", "a", "."]
_URL_PIECES += ['"', " ", "s", "\n", "]", "\u017f", "é", "<", "{", "|", "github.com/a/b"]
_url_texts = st.lists(
    st.one_of(
        st.sampled_from(_URL_PIECES),
        st.tuples(st.sampled_from(_URL_PIECES[:6]), st.sampled_from(_URL_PIECES)).map(
            lambda pair: f"{pair[0]}://{pair[1]}"
        ),
    ),
    max_size=30,
).map("".join)


@MANY
@given(st.one_of(st.text(), _url_texts))
def test_url_finder_is_the_pattern(value: str) -> None:
    assert _urls_in(value) == _URL_RE.findall(value)


# --- the snapshot's fast paths: creation dates, update dates, authors ----------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _email_date(stamp: str) -> date | None:
    try:
        return parsedate_to_datetime(stamp).date()
    except (TypeError, ValueError, IndexError):
        return None


@MANY
@given(
    st.datetimes(min_value=datetime(1991, 1, 1), max_value=datetime(2040, 1, 1)),
    st.integers(1, 31),
    st.sampled_from(["GMT", "UT", "+0000", "-0700", "+0530", "EST"]),
    st.booleans(),
)
def test_created_date_is_the_email_parser(
    moment: datetime, day: int, zone: str, padded: bool
) -> None:
    # Any day of the month, 31 February too: both must then say None.
    number = f"{day:02d}" if padded else str(day)
    stamp = f"{_DAYS[moment.weekday()]}, {number} {_MONTHS[moment.month - 1]} {moment.year} "
    stamp += f"{moment:%H:%M:%S} {zone}"
    assert _created_date(stamp) == _email_date(stamp)


def _strptime_date(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


@MANY
@given(st.one_of(st.dates().map(date.isoformat), st.text("0123456789-", max_size=12)))
def test_update_date_is_strptime(value: str) -> None:
    # ASCII digits only: strptime also reads other scripts' digits, the fast path does not
    # (arXiv writes ASCII).
    assert _update_date(value) == _strptime_date(value)


_name_parts = st.lists(
    st.sampled_from(["A", "b.", "-", " ", "\n", "é", "Zoë", ""]), max_size=4
).map("".join)


@MANY
@given(st.lists(st.tuples(_name_parts, _name_parts, _name_parts), min_size=1, max_size=5))
def test_snapshot_authors_fast_path_is_author_name(parsed: list[tuple[str, str, str]]) -> None:
    plain = [name for parts in parsed if (name := _author_name(list(parts)))]
    if plain:  # no names at all: both fall back to the 'authors' text
        assert _authors({"authors_parsed": [list(parts) for parts in parsed]}) == plain


# --- JSON text: orjson against the standard library ---------------------------------------------


@MANY
@given(st.lists(st.text()))
def test_orjson_writes_and_reads_names_as_json_does(names: list[str]) -> None:
    written = jsonl.dumps(names)
    assert written == json.dumps(names, ensure_ascii=False, separators=(",", ":"))
    assert jsonl.loads(written) == json.loads(written) == names


# --- the MIME writer against email's generator ---------------------------------------------------


def _generated(mail: Mail, sender: str) -> bytes:
    """The same mail through ``email``'s own message classes and generator."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message.as_bytes()


def _lines(body: str) -> list[str]:
    found = body.splitlines()
    while found and not found[-1]:
        found.pop()
    return found


def _decoded_headers(raw: bytes) -> dict[str, str]:
    """The headers a test sets, as RFC 2047 decodes them."""
    # Through email.header: policy.default's address parser keeps the space between two encoded
    # words of a display name, which RFC 2047 (and mail clients) drop.
    headers = message_from_bytes(raw, policy=policy.compat32)
    return {
        name: str(make_header(decode_header(headers[name])))
        for name in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe")
    }


def _as_read(raw: bytes) -> dict[str, Any]:
    """What a mail client shows: the headers as RFC 2047 decodes them (whitespace aside: folding
    may move it, and email's generator loses a space it puts between two encoded words — the
    writer keeps it, which ``test_mime_writer_reads_as_emails_generator`` checks against the
    input), the message's type, and the lines of each part (empty lines at the end aside: the
    generator ends every part with a line break, the writer does not)."""
    seen: dict[str, Any] = {
        name: "".join(value.split()) for name, value in _decoded_headers(raw).items()
    }
    message = message_from_bytes(raw, policy=policy.default)
    seen["type"] = message.get_content_type()
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        seen[subtype] = None if part is None else _lines(part.get_content())
    return seen


_header_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=150)
_body = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=2000),
    st.lists(st.sampled_from(["ascii words ", "é", "\n", "\r\n", "x" * 500]), max_size=12).map(
        "".join
    ),
)
_display_name = st.text(
    st.characters(whitelist_categories=("L",)) | st.just(" "), min_size=1, max_size=40
).filter(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    subject=_header_text,
    unsubscribe=_header_text,
    body=_body,
    html=st.none() | _body,
    name=_display_name,
)
@example(  # email's generator dropped the space before the second encoded word here
    subject="0", unsubscribe="0" + "\u0800" * 11 + " \u00a1", body="", html=None, name="A"
)
def test_mime_writer_reads_as_emails_generator(
    subject: str, unsubscribe: str, body: str, html: str | None, name: str
) -> None:
    mail = Mail(
        to=f"{name} <reader@example.org>",
        subject=subject,
        text=body,
        html=html,
        headers={"List-Unsubscribe": unsubscribe},
        message_id="<fixed@example.org>",
    )
    sender = f"{name} Papers <dp@example.org>"
    written = message_bytes(mail, sender)
    assert _as_read(written) == _as_read(_generated(mail, sender))
    # what the reader sees is what was written, spaces included (runs of them aside: folding)
    decoded = _decoded_headers(written)
    for header, value in (("Subject", subject), ("List-Unsubscribe", unsubscribe)):
        assert decoded[header].split() == value.split()


# --- the upsert: SQLite driver path against SQLAlchemy Core --------------------------------------

_IDS = ("2503.00001", "2503.00002", "2503.00003")
_DAY = date(2025, 3, 3)
_records = st.builds(
    PaperRecord,
    arxiv_id=st.sampled_from(_IDS),
    title=st.sampled_from(["Sparse mixtures", "Gaussian splatting", "Zoë's networks"]),
    abstract=st.sampled_from(["We study attention.", "A survey of diffusion."]),
    authors=st.lists(st.sampled_from(["Ada Lovelace", "Zoë Ünicode", "Alan Turing"]), max_size=3),
    categories=st.lists(st.sampled_from(["cs.LG", "cs.CL", "stat.ML"]), min_size=1, max_size=3),
    announced_on=st.integers(0, 20).map(lambda n: _DAY + timedelta(days=n)),
    version=st.none() | st.integers(1, 3),
    published=st.none() | st.just(_DAY),
    updated=st.none() | st.integers(0, 30).map(lambda n: _DAY + timedelta(days=n)),
    comment=st.none() | st.just("10 pages"),
    doi=st.none() | st.sampled_from(["10.1/a", "10.1/b"]),
    announce_estimated=st.booleans(),
)


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty migrated database to copy (migrating per example would take most of the time)."""
    path = tmp_path_factory.mktemp("template") / "papers.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def _stored(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        papers = [
            dict(row) for row in conn.execute(text("SELECT * FROM papers ORDER BY id")).mappings()
        ]
        categories = conn.execute(
            text("SELECT paper_id, category FROM paper_categories ORDER BY 1, 2")
        ).all()
        found = {
            word: conn.execute(
                text("SELECT rowid FROM papers_fts WHERE papers_fts MATCH :w ORDER BY 1"),
                {"w": word},
            ).all()
            for word in ("sparse", "splatting", "networks", "zoe", "unicode", "attention")
        }
    for paper in papers:
        del paper["created_at"], paper["modified_at"]
        paper["authors"] = json.loads(paper["authors"])  # the Core path spells the JSON its way
    return {"papers": papers, "categories": categories, "keyword matches": found}


def _upserted(template: Path, batches: list[list[PaperRecord]], fast: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(template, Path(folder) / "papers.db")
        engine = make_engine(f"sqlite:///{folder}/papers.db")
        was, upsert.FAST_PATH = upsert.FAST_PATH, fast
        try:
            counts = [upsert.upsert_records(engine, batch) for batch in batches]
            with engine.begin() as conn:
                keyword_index.integrity_check(conn)
            return {"counts": counts, **_stored(engine)}
        finally:
            upsert.FAST_PATH = was
            engine.dispose()


@FEW
@given(st.lists(st.lists(_records, min_size=1, max_size=6), min_size=1, max_size=4))
def test_upsert_fast_path_stores_what_the_core_path_stores(
    migrated: Path, batches: list[list[PaperRecord]]
) -> None:
    assert _upserted(migrated, batches, fast=True) == _upserted(migrated, batches, fast=False)


@pytest.fixture(scope="module")
def postgres_papers(postgres_server: PostgresServer) -> Iterator[Engine]:
    """One PostgreSQL database for the module, emptied before each example."""
    if "postgresql" not in enabled_backends():
        pytest.skip("PostgreSQL is not among DAILYPAPERS_TEST_BACKENDS")
    with postgres_server.database() as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _upserted_pg(engine: Engine, batches: list[list[PaperRecord]], fast: bool) -> dict[str, Any]:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE papers RESTART IDENTITY CASCADE"))
    was, upsert.FAST_PATH = upsert.FAST_PATH, fast
    try:
        counts = [upsert.upsert_records(engine, batch) for batch in batches]
    finally:
        upsert.FAST_PATH = was
    with engine.connect() as conn:
        papers = [
            dict(row)
            for row in conn.execute(
                text("SELECT *, search_vector::text AS words FROM papers ORDER BY id")
            ).mappings()
        ]
        categories = conn.execute(
            text("SELECT paper_id, category FROM paper_categories ORDER BY 1, 2")
        ).all()
    for paper in papers:
        del paper["created_at"], paper["modified_at"], paper["search_vector"]
    return {"counts": counts, "papers": papers, "categories": categories}


@pytest.mark.postgresql
@FEW
@given(st.lists(st.lists(_records, min_size=1, max_size=6), min_size=1, max_size=4))
def test_upsert_array_path_on_postgresql_stores_what_the_core_path_stores(
    postgres_papers: Engine, batches: list[list[PaperRecord]]
) -> None:
    """PostgreSQL's driver path (whole columns as arrays) against Core: the same rows, ids,
    categories and keyword vectors."""
    fast = _upserted_pg(postgres_papers, batches, fast=True)
    assert fast == _upserted_pg(postgres_papers, batches, fast=False)


# --- the parse pool: batches parsed in child processes against this process ----------------------


@pytest.mark.parametrize("parsers", [1, 2])
@pytest.mark.parametrize(
    ("path", "parse"),
    [
        (DATA / "snapshot" / "kaggle-head30.jsonl.gz", parse_snapshot_flat),
        (DATA / "bad" / "snapshot-bad-lines.jsonl", parse_snapshot_flat),
        (
            DATA / "listings" / "2025-03-18.jsonl.gz",
            partial(parse_flat, partial(parse_listing_line, announced_on=_DAY)),
        ),
    ],
    ids=["snapshot", "bad-lines", "listing"],
)
def test_parse_pool_children_give_this_process_batches(
    path: Path, parse: Callable[[bytes], FlatRow], parsers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse_pool, "PARSERS", parsers)
    here = list(parse_file(path, parse, batch_size=4, background=False))
    there = list(parse_file(path, parse, batch_size=4, background=True))
    assert there == here and len(here) > 1
    # Equal tuples are not enough: the rows must come back as FlatRow, fields and all.
    assert {type(row) for batch in there for row in batch.records} == {FlatRow}
    assert [row.arxiv_id for b in there for row in b.records] == [
        row.arxiv_id for b in here for row in b.records
    ]


def test_wire_form_round_trips() -> None:
    rows = [parse_snapshot_flat(line) for line in _snapshot_lines()[:3]]
    plain, kind = to_wire(rows)
    assert kind is not None and all(type(row) is tuple for row in plain)
    made = from_wire(plain, kind)
    assert made == rows and all(type(row) is FlatRow for row in made)
    assert to_wire([(1, "a")]) == ([(1, "a")], None) and to_wire([]) == ([], None)
    assert ParsedBatch(from_wire(plain, kind)) == ParsedBatch(rows)


def _snapshot_lines() -> list[bytes]:
    return gzip.decompress((DATA / "snapshot" / "kaggle-head30.jsonl.gz").read_bytes()).splitlines()


# --- the page cache: a kept page against a page built with the cache off -------------------------

_FEED_PATHS = (
    "/",
    "/papers/date/2025-06-20",
    "/papers/week/2025-W25",
    "/papers/month/2025-06",
    "/papers/trending",
    "/api/daily_papers",
    "/api/daily_papers?date=2025-06-19&sort=trending",
)


@pytest.fixture
def two_apps(settings: Settings, engine: Engine) -> Iterator[tuple[TestClient, TestClient]]:
    add_papers(
        engine,
        record("2506.00001", "2025-06-20", title="Attention for everyone"),
        record("2506.00002", "2025-06-19", title="Sparse mixtures", categories=["cs.CL"]),
    )
    off = settings.model_copy(update={"page_cache_mb": 0})
    with TestClient(create_app(settings)) as cached, TestClient(create_app(off)) as plain:
        assert plain.app.state.page_cache is None  # type: ignore[attr-defined]
        yield cached, plain


@pytest.mark.parametrize("path", _FEED_PATHS)
def test_a_kept_page_is_the_page_built_without_the_cache(
    two_apps: tuple[TestClient, TestClient], path: str
) -> None:
    cached, plain = two_apps
    cached.get(path)
    kept = cached.get(path)
    built = plain.get(path)
    assert kept.headers["x-page-cache"] == "hit" and "x-page-cache" not in built.headers
    assert kept.status_code == built.status_code == 200
    # Each browser has its own CSRF token; apart from it the bytes are the same.
    mine, theirs = cached.cookies.get("dp_csrf", ""), plain.cookies.get("dp_csrf", "")
    assert kept.text.replace(mine, "TOKEN") == built.text.replace(theirs, "TOKEN")
    assert kept.headers["content-type"] == built.headers["content-type"]


def _first_imported_pg(
    engine: Engine, records: list[PaperRecord], writers: int
) -> tuple[int, int, dict[str, Any]]:
    """(new, total) of one import into an empty table, and what it stored, by arXiv id."""
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE papers RESTART IDENTITY CASCADE"))
    was = upsert.FIRST_IMPORT_WRITERS, upsert.BATCH_SIZE
    upsert.FIRST_IMPORT_WRITERS, upsert.BATCH_SIZE = writers, 2  # repeats across batches
    try:
        counts = upsert.upsert_records(engine, records)
    finally:
        upsert.FIRST_IMPORT_WRITERS, upsert.BATCH_SIZE = was
    with engine.connect() as conn:
        papers = {
            row["arxiv_id"]: dict(row)
            for row in conn.execute(
                text("SELECT *, search_vector::text AS words FROM papers")
            ).mappings()
        }
        categories = conn.execute(
            text(
                "SELECT p.arxiv_id, c.category FROM paper_categories c "
                "JOIN papers p ON p.id = c.paper_id ORDER BY 1, 2"
            )
        ).all()
        authors = conn.execute(
            text(
                "SELECT p.arxiv_id, a.position, a.name_key FROM paper_authors a "
                "JOIN papers p ON p.id = a.paper_id ORDER BY 1, 2"
            )
        ).all()
    for paper in papers.values():
        del paper["id"], paper["created_at"], paper["modified_at"], paper["search_vector"]
    return counts.new, counts.total, {"p": papers, "c": categories, "a": authors}


@pytest.mark.postgresql
@FEW
@given(st.lists(_records, min_size=1, max_size=14))
def test_first_import_on_parallel_writers_stores_what_one_writer_stores(
    postgres_papers: Engine, records: list[PaperRecord]
) -> None:
    """A first import into PostgreSQL on two connections (db/ordered_writes.py; batches of 2, so
    an id repeats within a batch, in the batch before, and further back) against one connection:
    the same papers, categories, keyword vectors and author rows (ids aside: a repeat may leave a
    gap in the sequence)."""
    assert _first_imported_pg(postgres_papers, records, 2) == _first_imported_pg(
        postgres_papers, records, 1
    )
