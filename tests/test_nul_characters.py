"""NUL characters (``\\x00``; SQLite stores them, PostgreSQL refuses them in text) from imports,
form fields, API calls and searches: never a 500, never a lost paper, never stored. On both
backends."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from dailypapers.db.models import ApiToken, Collection, Comment
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.imports import import_listing, import_snapshot
from dailypapers.upsert import ImportCounts
from tests.helpers import PAPER, post, sign_in_as

DATA = Path(__file__).parent / "data"
SNAPSHOT = DATA / "snapshot" / "kaggle-head30.jsonl.gz"
LISTING = sorted((DATA / "listings").glob("*.jsonl.gz"))[0]
NUL = "\x00"


def _no_nul_stored(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT title, abstract, comment FROM papers")).all()
    assert rows and not any(NUL in (value or "") for row in rows for value in row)


def test_imported_text_loses_its_nul_characters(engine: Engine, tmp_path: Path) -> None:
    lines = gzip.open(SNAPSHOT, "rt").read().splitlines()
    first = json.loads(lines[0])
    for field in ("title", "abstract", "authors", "comments", "journal-ref", "submitter"):
        first[field] = f"{NUL}{first[field]}{NUL}with{NUL}"
    damaged = tmp_path / "snapshot.jsonl"
    damaged.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    assert import_snapshot(engine, damaged) == ImportCounts(new=30)
    _no_nul_stored(engine)
    with engine.connect() as conn:
        title = conn.execute(
            text("SELECT title FROM papers WHERE arxiv_id = '0704.0001'")
        ).scalar_one()
    assert title.startswith("Calculation of prompt diphoton") and title.endswith("energieswith")


def test_a_listing_with_nul_characters_imports_every_paper(engine: Engine, tmp_path: Path) -> None:
    lines = gzip.open(LISTING, "rt").read().splitlines()
    damaged = tmp_path / LISTING.name.removesuffix(".gz")
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row["title"] = NUL + row["title"]
        row["summary"] = row["summary"] + NUL
    damaged.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert import_listing(engine, damaged).new == len(rows)
    _no_nul_stored(engine)


def test_form_fields_and_searches_with_nul_characters(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    done = post(client, f"/papers/{PAPER}/comments", {"body": f"nice{NUL} paper"})
    assert done.status_code == 303
    assert post(client, f"/papers/{PAPER}/comments", {"body": NUL}).status_code == 400
    saved = post(client, "/collections", {"name": f"Reading{NUL}", "description": f"a{NUL}b"})
    assert saved.status_code == 303
    assert post(client, "/collections/1/items", {"arxiv": PAPER, "note": NUL}).status_code < 400
    for url in ("/search?q=atten%00tion", "/api/papers/search?q=%00", "/search?q=%00%22"):
        assert client.get(url).status_code == 200, url
    with Session(engine) as session:
        assert session.scalars(select(Comment.body)).all() == ["nice paper"]
        collection = session.scalars(select(Collection)).one()
        assert (collection.name, collection.description) == ("Reading", "ab")


def test_api_token_names_lose_nul_characters(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        token, _raw = create_api_token(session, add_user(session, "bot@example.org"), f"ci{NUL}")
    with Session(engine) as session:
        assert session.scalars(select(ApiToken.name)).one() == "ci"
