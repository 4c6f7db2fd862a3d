"""HF API parity: ``GET /api/papers`` with a cursor and a ``Link`` header, the ``submitter`` filter
of ``/api/daily_papers``, ``withdrawnAt``; and the bad inputs each of them meets."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from huggingface_hub.hf_api import PaperInfo
from pydantic import TypeAdapter
from sqlalchemy import Engine

from dailypapers.db.engine import make_session_factory
from dailypapers.services.accounts import add_user
from dailypapers.services.submissions import submit
from dailypapers.web.api_models import HfPaper
from dailypapers.web.api_papers import decode_cursor, encode_cursor
from tests.helpers import add_papers, record

NEXT = re.compile(r'^<(?P<url>[^>]+)>; rel="next"$')


def _walk(client: TestClient, url: str) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        answer = client.get(next_url)
        assert answer.status_code == 200, answer.text
        TypeAdapter(list[HfPaper]).validate_json(answer.content)
        seen += [paper["id"] for paper in answer.json()]
        pages += 1
        link = answer.headers.get("link")
        next_url = NEXT.match(link).group("url") if link else None  # type: ignore[union-attr]
    return seen, pages


def test_api_papers_walks_every_paper_newest_first_by_cursor(
    engine: Engine, client: TestClient
) -> None:
    add_papers(
        engine,
        *(record(f"2506.{n:05d}", f"2025-06-{16 + n % 3}") for n in range(1, 24)),
        record("2506.09999", "2025-06-18", categories=["cs.CL"]),
    )
    seen, pages = _walk(client, "/api/papers?limit=5")
    assert pages == 5 and len(seen) == len(set(seen)) == 24
    days = [client.get(f"/api/papers/{i}").json()["announcedOn"] for i in seen[:8]]
    assert days == sorted(days, reverse=True)
    assert _walk(client, "/api/papers?limit=100") == (seen, 1)  # one page, no Link
    assert _walk(client, "/api/papers?limit=2&category=cs.CL")[0] == ["2506.09999"]


def test_papers_arriving_meanwhile_neither_shift_nor_repeat_a_page(
    engine: Engine, client: TestClient
) -> None:
    add_papers(engine, *(record(f"2506.{n:05d}", "2025-06-17") for n in range(1, 11)))
    first = client.get("/api/papers", params={"limit": 4})
    link = NEXT.match(first.headers["link"]).group("url")  # type: ignore[union-attr]
    add_papers(engine, record("2506.00050", "2025-06-18"), record("2506.00000", "2025-06-17"))
    rest, _pages = _walk(client, link)
    ids = [p["id"] for p in first.json()] + rest
    assert ids[:4] == ["2506.00010", "2506.00009", "2506.00008", "2506.00007"]
    assert len(ids) == len(set(ids)) == 11 and "2506.00050" not in ids  # newer: on page one now


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor!"},
        {"cursor": encode_cursor(date(2025, 6, 1), "x")[:-2] + "!!"},
        {"cursor": "MjAyNS0wNi0xN3xub3QtYW4taWQ"},  # "2025-06-17|not-an-id"
        {"cursor": "OTk5OS0wMS0wMXwyNTA2LjAwMDAx"},  # the year 9999
        {"cursor": "x" * 201},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
    ],
)
def test_bad_cursors_and_limits_are_400s(client: TestClient, params: dict[str, str]) -> None:
    answer = client.get("/api/papers", params=params)
    assert answer.status_code == 400 and answer.json()["error"]


def test_cursors_round_trip() -> None:
    assert decode_cursor(encode_cursor(date(2025, 6, 17), "hep-th/9901001")) == (
        date(2025, 6, 17),
        "hep-th/9901001",
    )


def test_the_submitter_filter_keeps_that_users_papers(engine: Engine, client: TestClient) -> None:
    add_papers(engine, *(record(f"2506.{n:05d}", "2025-06-17") for n in range(1, 5)))
    with make_session_factory(engine)() as session:
        ada = add_user(session, "ada@example.org", display_name="Ada")
        bob = add_user(session, "bob@example.org", display_name="Bob")
        submit(session, ada, "2506.00001", day=date(2025, 6, 17))
        submit(session, ada, "2506.00003", day=date(2025, 6, 17))
        submit(session, bob, "2506.00002", day=date(2025, 6, 17))
        session.commit()
    for name in ("Ada", "ada"):
        answer = client.get("/api/daily_papers", params={"date": "2025-06-17", "submitter": name})
        assert sorted(e["paper"]["id"] for e in answer.json()) == ["2506.00001", "2506.00003"]
        assert all(PaperInfo(**e).submitted_by.fullname == "Ada" for e in answer.json())  # type: ignore[union-attr]
    nobody = client.get("/api/daily_papers", params={"date": "2025-06-17", "submitter": "Eve"})
    assert nobody.json() == []
    week = client.get("/api/daily_papers", params={"week": "2025-W25", "submitter": "Bob"})
    assert [e["paper"]["id"] for e in week.json()] == ["2506.00002"]
    for bad in ("", "x" * 201):
        answer = client.get("/api/daily_papers", params={"submitter": bad})
        assert answer.status_code == 400


def test_withdrawn_papers_say_when(engine: Engine, client: TestClient) -> None:
    add_papers(
        engine,
        record(
            "2506.00001",
            "2025-06-17",
            version=2,
            updated=date(2025, 6, 19),
            comment="This paper has been withdrawn by the authors due to an error",
        ),
        record("2506.00002", "2025-06-17", comment="12 pages; withdrawal dynamics of markets"),
    )
    withdrawn = client.get("/api/papers/2506.00001").json()
    assert withdrawn["withdrawnAt"] == "2025-06-19T00:00:00.000Z"
    assert "withdrawnAt" not in client.get("/api/papers/2506.00002").json()
    assert PaperInfo(**withdrawn).withdrawnAt == "2025-06-19T00:00:00.000Z"  # type: ignore[attr-defined]
    assert "comments say this paper was withdrawn" in client.get("/papers/2506.00001").text
