"""Claimed authors: claims (pending until an admin decides), conflicts, the CLI and admin page,
profiles with upvotes received, and the marks on cards, paper pages and author pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.db.engine import make_engine
from dailypapers.db.models import Paper
from dailypapers.services.accounts import add_user
from dailypapers.services.claims import (
    claim_author,
    claimed_authors,
    decide,
    pending_claims,
    profile,
)
from dailypapers.services.errors import Conflict, Invalid, NotFound
from tests.helpers import add_papers, post, record, sign_in_as

DAY = "2025-06-17"
AUTHORS = ["Ada Lovelace", "Charles Babbage", "Mary Somerville"]


def _papers(engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00001", DAY, authors=AUTHORS),
        record("2506.00002", DAY, authors=["Ada Lovelace"]),
    )
    with Session(engine) as session, session.begin():
        session.execute(update(Paper).where(Paper.arxiv_id == "2506.00001").values(upvotes=5))
        session.execute(update(Paper).where(Paper.arxiv_id == "2506.00002").values(upvotes=2))


def _paper(session: Session, arxiv_id: str) -> Paper:
    return session.scalars(select(Paper).where(Paper.arxiv_id == arxiv_id)).one()


def test_claims_wait_for_an_admin_and_conflict(engine: Engine) -> None:
    _papers(engine)
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org", display_name="Ada")
        eve = add_user(session, "eve@example.org", display_name="Eve")
        paper = _paper(session, "2506.00001")
        first = claim_author(session, ada, paper, 0)
        assert (first.status, first.name) == ("pending", "Ada Lovelace")
        assert claim_author(session, ada, paper, 0).id == first.id  # asked twice: one claim
        with pytest.raises(Conflict, match="Ada Lovelace on paper 2506.00001 is already claimed"):
            claim_author(session, eve, paper, 0)
        for bad in (-1, 3, 10_000):
            with pytest.raises(Invalid):
                claim_author(session, eve, paper, bad)
        assert claimed_authors(session, [paper.id]) == {}  # pending: not marked yet
        assert [c.id for c, _, _ in pending_claims(session)] == [first.id]
        decide(session, first.id, approve=True)
        assert claimed_authors(session, [paper.id]) == {paper.id: {0: ada.id}}
        with pytest.raises(Invalid, match="already approved"):
            decide(session, first.id, approve=False)
        with pytest.raises(NotFound):
            decide(session, 999, approve=True)
        # a rejected claim frees the name for someone else
        other = claim_author(session, eve, paper, 2)
        decide(session, other.id, approve=False)
        assert claim_author(session, ada, paper, 2).status == "pending"
        mine = profile(session, ada.id)
        assert [p.arxiv_id for p in mine.papers] == ["2506.00001"] and mine.upvotes == 5
        with pytest.raises(NotFound):
            profile(session, 999)


def test_the_web_claim_admin_page_profile_and_marks(client: TestClient, engine: Engine) -> None:
    _papers(engine)
    assert post(client, "/papers/2506.00001/claim", {"position": "0"}).status_code in (303, 401)
    ada = sign_in_as(client, engine, "ada@example.org", name="Ada")
    page = client.get("/papers/2506.00001")
    assert 'action="/papers/2506.00001/claim"' in page.text and "I am an author" in page.text
    assert post(client, "/papers/2506.00001/claim", {"position": "0"}).status_code == 303
    assert post(client, "/papers/2506.00002/claim", {"position": "0"}).status_code == 303
    for bad in ("9", "-1", "x", ""):
        assert post(client, "/papers/2506.00001/claim", {"position": bad}).status_code == 400
    assert post(client, "/papers/2506.99999/claim", {"position": "0"}).status_code == 404
    assert post(client, "/papers/nonsense/claim", {"position": "0"}).status_code == 404
    assert client.get("/admin/claims").status_code == 403
    assert post(client, "/admin/claims/1", {"decision": "approve"}).status_code == 403

    sign_in_as(client, engine, "eve@example.org", name="Eve")
    taken = post(client, "/papers/2506.00001/claim", {"position": "0"})
    assert taken.status_code == 409 and "already claimed" in taken.text

    sign_in_as(client, engine, "root@example.org", admin=True)
    queue = client.get("/admin/claims")
    assert queue.status_code == 200 and "Ada Lovelace" in queue.text
    with Session(engine) as session:
        ids = [c.id for c, _, _ in pending_claims(session)]
    assert post(client, f"/admin/claims/{ids[0]}", {"decision": "maybe"}).status_code == 400
    assert post(client, f"/admin/claims/{ids[0]}", {"decision": "approve"}).status_code == 303
    assert post(client, f"/admin/claims/{ids[1]}", {"decision": "approve"}).status_code == 303
    assert post(client, f"/admin/claims/{ids[1]}", {"decision": "reject"}).status_code == 400
    assert post(client, "/admin/claims/999", {"decision": "approve"}).status_code == 404
    assert post(client, "/admin/claims/" + "9" * 30, {"decision": "approve"}).status_code == 404

    mark = f'href="/users/{ada}"'
    profile_page = client.get(f"/users/{ada}")
    assert profile_page.status_code == 200
    assert "Ada" in profile_page.text and "7 upvotes received" in profile_page.text
    assert "2506.00001" in profile_page.text and "2506.00002" in profile_page.text
    assert client.get("/users/999").status_code == 404
    assert client.get("/users/x").status_code == 404
    assert client.get("/users/99999999999999999999999").status_code == 404
    assert mark in client.get(f"/papers/date/{DAY}").text  # cards mark the claimed author
    assert mark in client.get("/papers/2506.00001").text
    author = client.get("/authors/Ada%20Lovelace")
    assert mark in author.text and 'class="claimants"' in author.text
    assert 'class="claimants"' not in client.get("/authors/Charles%20Babbage").text  # Ada only


def _cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_lists_approves_and_rejects(tmp_path: Path) -> None:
    code, out, _ = _cli(tmp_path, "users", "claims")
    assert code == 0 and "no claims" in out
    engine = make_engine(f"sqlite:///{tmp_path / 'dailypapers.db'}")
    try:
        _papers(engine)
        with Session(engine) as session, session.begin():
            ada = add_user(session, "ada@example.org")
            paper = _paper(session, "2506.00001")
            first = claim_author(session, ada, paper, 0).id
            second = claim_author(session, ada, paper, 1).id
    finally:
        engine.dispose()
    code, out, _ = _cli(tmp_path, "users", "claims")
    assert code == 0 and f"{first}  ada@example.org claims 'Ada Lovelace' on 2506.00001" in out
    assert (
        _cli(tmp_path, "users", "claims", "--approve", str(first))[1].strip().endswith("approved")
    )
    assert "rejected" in _cli(tmp_path, "users", "claims", "--reject", str(second))[1]
    code, _, err = _cli(tmp_path, "users", "claims", "--approve", str(first))
    assert code == 2 and "already approved" in err
    code, _, err = _cli(tmp_path, "users", "claims", "--approve", "999")
    assert code == 2 and "no claim 999" in err
    code, _, err = _cli(tmp_path, "users", "claims", "--approve", "1", "--reject", "2")
    assert code == 2 and "not both" in err
    assert _cli(tmp_path, "users", "claims", "--approve", "x")[0] == 2


def test_cached_feed_pages_show_a_new_approval(client: TestClient, engine: Engine) -> None:
    """Anonymous feed pages are cached until the data changes: an approved claim must show
    (SQLite's data_version; on PostgreSQL the triggers of migration 0011)."""
    _papers(engine)
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org")
        claim_id = claim_author(session, ada, _paper(session, "2506.00001"), 0).id
        mark = f'href="/users/{ada.id}"'
    url = f"/papers/date/{DAY}"
    assert mark not in client.get(url).text
    assert client.get(url).status_code == 200  # served from the cache now
    with Session(engine) as session, session.begin():
        decide(session, claim_id, approve=True)
    assert mark in client.get(url).text
