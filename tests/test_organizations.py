"""Organizations: slugs, members, submissions on their behalf, their pages, feeds and API fields."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.db.models import Submission
from dailypapers.db.orgs import Organization
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.errors import Conflict, Invalid, NotAllowed, NotFound
from dailypapers.services.organizations import (
    add_organization,
    check_slug,
    list_organizations,
    organization_for_submission,
    remove_member,
    require_organization,
    set_member,
)
from dailypapers.web.api_models import FeedEntry, HfPaper
from tests.helpers import add_papers, count, post, record, sign_in_as

runner = CliRunner()
DAY = "2025-06-17"


@pytest.mark.parametrize("slug", ["ab", "sakana-ai", "lab42", "a" * 40])
def test_good_slugs(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    ["a", "a" * 41, "Sakana", "-lab", "lab-", "lab_x", "<b>x</b>", "a b", "la\nb", "ÿes", ""],
)
def test_bad_slugs_are_refused_with_a_reason(slug: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_slug(slug)
    assert "slug" in caught.value.message


def test_add_collide_members_and_submission_rights(engine: Engine) -> None:
    with Session(engine) as session:
        ada = add_user(session, "ada@example.org")
        bob = add_user(session, "bob@example.org")
        org = add_organization(session, "sakana", "Sakana AI", site_url="https://sakana.ai")
        with pytest.raises(Conflict, match="already taken"):
            add_organization(session, "sakana", "Another")
        for bad in ({"site_url": "javascript:alert(1)"}, {"logo_url": "https://x/<script>"}):
            with pytest.raises(Invalid):
                add_organization(session, "other", "Other", **bad)
        with pytest.raises(Invalid):
            add_organization(session, "other", "<b>Other</b>")
        set_member(session, org, ada, "owner")
        assert organization_for_submission(session, ada, "sakana") == org.id
        assert organization_for_submission(session, ada, None) is None
        with pytest.raises(NotAllowed):
            organization_for_submission(session, bob, "sakana")
        with pytest.raises(NotFound):
            organization_for_submission(session, ada, "nobody")
        with pytest.raises(Invalid):
            set_member(session, org, bob, "emperor")
        with pytest.raises(NotFound):
            remove_member(session, org, bob)
        set_member(session, org, bob)
        assert [(o.slug, o.members, o.papers) for o in list_organizations(session)] == [
            ("sakana", 2, 0)
        ]
        remove_member(session, org, bob)
        assert list_organizations(session)[0].members == 1
        assert require_organization(session, "sakana").name == "Sakana AI"


def _cli(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    return result.exit_code, result.stdout, result.stderr


def test_cli_add_member_list_and_bad_input(tmp_path: Path) -> None:
    assert _cli(tmp_path, "users", "add", "ada@example.org")[0] == 0
    code, out, _ = _cli(
        tmp_path, "orgs", "add", "sakana", "--name", "Sakana AI", "--url", "https://sakana.ai"
    )
    assert code == 0 and "sakana" in out
    code, _, err = _cli(tmp_path, "orgs", "add", "sakana", "--name", "Again")
    assert code == 2 and "already taken" in err and "Traceback" not in err
    for bad in ("<b>x</b>", "[/]", "X"):
        code, _, err = _cli(tmp_path, "orgs", "add", bad, "--name", "Bad")
        assert code == 2 and "slug" in err and len(err.strip().splitlines()) == 1, err
    assert _cli(tmp_path, "orgs", "member", "sakana", "ada@example.org", "--owner")[0] == 0
    code, _, err = _cli(tmp_path, "orgs", "member", "sakana", "nobody@example.org")
    assert code == 2 and "no account" in err
    code, _, err = _cli(tmp_path, "orgs", "member", "nope", "ada@example.org")
    assert code == 2 and "no organization" in err
    code, out, _ = _cli(tmp_path, "orgs", "list")
    assert code == 0 and "sakana  Sakana AI  (1 members, 0 papers)" in out
    assert _cli(tmp_path, "orgs", "member", "sakana", "ada@example.org", "--remove")[0] == 0
    assert "(0 members" in _cli(tmp_path, "orgs", "list")[1]
    code, _, err = _cli(tmp_path, "orgs", "member", "sakana", "ada@example.org", "--remove")
    assert code == 2 and "not a member" in err


def _setup(engine: Engine) -> tuple[str, str]:
    """Papers of a day, Sakana with Ada as member; API tokens of Ada and of Bob (no member)."""
    add_papers(engine, record("2506.00001", DAY), record("2506.00002", DAY))
    with Session(engine) as session, session.begin():
        ada = add_user(session, "ada@example.org", display_name="Ada")
        bob = add_user(session, "bob@example.org", display_name="Bob")
        org = add_organization(session, "sakana", "Sakana AI", logo_url="https://sakana.ai/l.png")
        set_member(session, org, ada)
        ada_token = create_api_token(session, ada, "t")[1]
        bob_token = create_api_token(session, bob, "t")[1]
    return ada_token, bob_token


def test_api_submission_on_behalf_and_the_organization_field(
    client: TestClient, engine: Engine
) -> None:
    ada, bob = (_auth(t) for t in _setup(engine))
    refused = client.post(
        "/api/papers/index", json={"arxivId": "2506.00001", "organizationId": "sakana"}, headers=bob
    )
    assert refused.status_code == 403 and "members of sakana" in refused.json()["error"]
    missing = client.post(
        "/api/papers/index", json={"arxivId": "2506.00001", "organizationId": "nope"}, headers=ada
    )
    assert missing.status_code == 404
    markup = client.post(
        "/api/papers/index",
        json={"arxivId": "2506.00001", "organizationId": "<b>" * 20},
        headers=ada,
    )
    assert markup.status_code in (400, 404)
    assert count(engine, Submission) == 0  # nothing was submitted by the refused requests
    done = client.post(
        "/api/papers/index", json={"arxivId": "2506.00001", "organizationId": "sakana"}, headers=ada
    )
    assert done.status_code == 200, done.text
    expected = {
        "_id": "sakana",
        "name": "sakana",
        "fullname": "Sakana AI",
        "avatar": "https://sakana.ai/l.png",
    }
    assert done.json()["organization"] == expected
    one = TypeAdapter(HfPaper)
    assert done.content == orjson.dumps(
        one.dump_python(one.validate_json(done.content), by_alias=True, exclude_unset=True)
    )

    entries = TypeAdapter(list[FeedEntry])
    listing = client.get("/api/daily_papers", params={"date": DAY})
    assert listing.content == orjson.dumps(
        entries.dump_python(
            entries.validate_json(listing.content), by_alias=True, exclude_unset=True
        )
    )
    by_id = {e["paper"]["id"]: e for e in listing.json()}
    assert by_id["2506.00001"]["organization"] == expected
    assert by_id["2506.00001"]["paper"]["organization"] == expected
    assert "organization" not in by_id["2506.00002"]
    only = client.get("/api/daily_papers", params={"date": DAY, "organization": "sakana"})
    assert [e["paper"]["id"] for e in only.json()] == ["2506.00001"]
    assert (
        client.get("/api/daily_papers", params={"date": DAY, "organization": "nope"}).status_code
        == 404
    )
    assert client.get("/api/daily_papers", params={"organization": "x" * 41}).status_code == 400


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_pages_feed_form_and_cards(client: TestClient, engine: Engine) -> None:
    _setup(engine)
    assert client.get("/organizations/nope").status_code == 404
    assert client.get("/organizations/a%00b").status_code == 404
    assert client.get("/organizations/" + "<script>" * 10).status_code == 404
    sign_in_as(client, engine, "ada@example.org")
    answer = post(client, "/submit", {"arxiv": "2506.00002", "organization": "sakana"})
    assert answer.status_code == 303, answer.text
    page = client.get("/organizations/sakana")
    assert page.status_code == 200
    assert "Sakana AI" in page.text and "2506.00002" in page.text and "Ada" in page.text
    feed = client.get("/organizations/sakana.atom")
    assert feed.status_code == 200 and "2506.00002" in feed.text
    assert feed.headers["content-type"].startswith("application/atom+xml")
    day = client.get(f"/papers/date/{DAY}")
    assert 'href="/organizations/sakana"' in day.text  # the card names the organization
    form = client.get("/submit")
    assert '<option value="sakana">Sakana AI</option>' in form.text
    # a user who is not a member cannot pick it
    sign_in_as(client, engine, "bob@example.org")
    assert (
        post(client, "/submit", {"arxiv": "2506.00001", "organization": "sakana"}).status_code
        == 403
    )
    # only admins create organizations; bad slugs are a 400 with the form again
    assert post(client, "/organizations", {"slug": "lab", "name": "Lab"}).status_code == 403
    sign_in_as(client, engine, "root@example.org", admin=True)
    assert 'action="/organizations"' in client.get("/organizations").text
    bad = post(client, "/organizations", {"slug": "<b>lab</b>", "name": "Lab"})
    assert bad.status_code == 400 and "not a valid slug" in bad.text and "<b>lab" not in bad.text
    taken = post(client, "/organizations", {"slug": "sakana", "name": "Again"})
    assert taken.status_code == 400 and "already taken" in taken.text
    made = post(client, "/organizations", {"slug": "lab", "name": "Lab", "url": "https://lab.org"})
    assert made.status_code == 303 and made.headers["location"] == "/organizations/lab"
    assert count(engine, Organization) == 2
