"""Submissions ("daily picks") through the ASGI client: the form, the day's feed, pending papers
and the API's index endpoint."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from sqlalchemy import Engine

from tests.helpers import post, sign_in_as


def test_submission_shows_in_the_days_feed(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org", name="Ada <Lovelace>")
    form = client.get("/submit")
    assert form.status_code == 200 and '<label for="arxiv">' in form.text
    done = post(client, "/submit", {"arxiv": "https://arxiv.org/abs/2506.00003v1"})
    # a paper the instance has: marked on its own announce day, no feed day at today's date
    assert done.status_code == 303 and done.headers["location"] == "/papers/2506.00003"
    page = client.get(done.headers["location"]).text
    assert "Submitted by Ada &lt;Lovelace&gt;" in page
    assert "2506.00003 is marked as your pick in the feed of the day it was announced" in page
    day = client.get("/papers/date/2025-06-19").text
    assert "submitted by Ada &lt;Lovelace&gt;" in day and "An older paper" in day
    entries = client.get("/api/daily_papers", params={"date": "2025-06-19"}).json()
    assert PaperInfo(**entries[0]).submitted_by.fullname == "Ada <Lovelace>"  # type: ignore[union-attr]
    today = datetime.now(UTC).date().isoformat()
    assert client.get("/api/daily_papers", params={"date": today}).json() == []
    newest = client.get("/papers/date/2025-06-20").text  # the → arrow stays off
    assert 'rel="next"' not in newest.split('<nav class="tabs"')[0]
    bad = post(client, "/submit", {"arxiv": "not a paper"})
    assert bad.status_code == 400 and "not an arXiv id" in unescape(bad.text)


def test_submission_of_an_unknown_paper_is_pending(client: TestClient, engine: Engine) -> None:
    sign_in_as(client, engine, "ada@example.org")
    done = post(client, "/submit", {"arxiv": "2507.00042"})
    today = datetime.now(UTC).date().isoformat()
    assert done.headers["location"] == f"/papers/date/{today}"  # new here: today's feed
    page = client.get(done.headers["location"]).text
    assert "appears in today&#39;s feed once it has been fetched from arXiv" in page


def test_submit_needs_sign_in(client: TestClient) -> None:
    page = client.get("/submit", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/submit&for=submit"


def test_api_index_submits_a_paper(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org", name="Ada Lovelace")
    token = re.search(r'value="(dp_[^"]+)"', post(client, "/settings/tokens").text).group(1)  # type: ignore[union-attr]
    auth = {"Authorization": f"Bearer {token}"}
    bearer = TestClient(client.app)
    known = bearer.post("/api/papers/index", json={"arxivId": "2506.00003"}, headers=auth)
    assert known.status_code == 200 and known.json()["id"] == "2506.00003"
    assert known.json()["submittedOnDailyBy"]["fullname"] == "Ada Lovelace"
    unknown = bearer.post("/api/papers/index", json={"arxivId": "2507.12345v2"}, headers=auth)
    assert unknown.status_code == 202 and unknown.json() == {
        "arxivId": "2507.12345",
        "status": "pending",
    }
    bad = bearer.post("/api/papers/index", json={"arxivId": "hello"}, headers=auth)
    assert bad.status_code == 400 and "error" in bad.json()
    assert bearer.post("/api/papers/index", json={}, headers=auth).status_code == 400
