"""Exports: a collection and the For-you list as BibTeX, RIS and CSL-JSON, from the pages and the
API; private collections only for their owner; LaTeX and special characters kept parseable."""

from __future__ import annotations

import json
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dailypapers.rendering.citations import Citable, bibtex, csl_json, ris
from dailypapers.services.accounts import add_user, create_api_token
from dailypapers.services.collections import add_item, create_collection
from dailypapers.sources.library import parse_library
from tests.helpers import add_papers, record, sign_in_as

ITEM = Citable(
    arxiv_id="2506.00100",
    title=r"Fast $O(n \log n)$ & 100% {robust} attention",
    authors=("Ada Lovelace", "Alan Turing"),
    abstract="An abstract.",
    announced_on=date(2025, 6, 20),
    primary_category="cs.LG",
    categories=("cs.LG", "cs.AI"),
    doi="10.1000/xyz",
)


def test_the_three_formats_and_bibtex_reads_back() -> None:
    text = bibtex([ITEM, ITEM])
    assert "lovelace2025fast" in text and "lovelace2025fastb" in text and r"100\%" in text
    parsed = parse_library(text.encode(), "x.bib")  # our own importer reads it back
    assert [i.arxiv_id for i in parsed.items] == ["2506.00100", "2506.00100"]
    assert "TY  - UNPB" in ris([ITEM]) and "AU  - Lovelace, Ada" in ris([ITEM])
    data = json.loads(csl_json([ITEM]))
    assert data[0]["id"] == "arXiv:2506.00100" and data[0]["DOI"] == "10.1000/xyz"


def test_collection_and_for_you_exports(client: TestClient, engine: Engine) -> None:
    add_papers(
        engine,
        record("2506.00100", "2025-06-20", title="Saved paper"),
        record("2506.00101", "2025-06-20", title="Graphs & nodes"),
    )
    with Session(engine) as session, session.begin():
        owner = add_user(session, "owner@example.org")
        private = create_collection(session, owner, "Mine")
        add_item(session, owner, private.id, "2506.00100", "read §3")
        collection_id = private.id
        _, raw = create_api_token(session, owner, "t")
    assert client.get(f"/collections/{collection_id}/export").status_code == 404  # private
    auth = {"Authorization": f"Bearer {raw}"}
    answer = client.get(f"/api/collections/{collection_id}/export?format=ris", headers=auth)
    assert answer.status_code == 200 and "read §3" in answer.text
    assert answer.headers["content-type"].startswith("application/x-research-info-systems")
    assert "attachment" in answer.headers["content-disposition"]
    assert (
        client.get(f"/api/collections/{collection_id}/export?format=doc", headers=auth).status_code
        == 400
    )
    exported = client.get("/api/recommendations/export?format=csl-json", headers=auth)
    assert exported.status_code == 200 and json.loads(exported.text)[0]["title"] == "Graphs & nodes"
    assert client.get("/papers/for-you/export", follow_redirects=False).status_code in (302, 303)
    sign_in_as(client, engine, "owner@example.org")
    page = client.get(f"/collections/{collection_id}")
    assert "format=bibtex" in page.text
    assert "@misc{" in client.get(f"/collections/{collection_id}/export").text
    assert "format=csl-json" in client.get("/papers/for-you").text
