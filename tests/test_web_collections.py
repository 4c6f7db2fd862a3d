"""Collections through the ASGI client: saving from a card, private lists, public pages and their
Atom feeds."""

from __future__ import annotations

import feedparser
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.helpers import OTHER, PAPER, csrf, post, sign_in_as


def test_save_to_a_new_collection_from_a_card(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    partial = client.get(f"/papers/{PAPER}/save", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "<label for=" in partial.text
    page = client.get(f"/papers/{PAPER}/save")
    assert "<html" in page.text and "New collection" in page.text
    saved = post(
        client,
        f"/papers/{PAPER}/save",
        {"collection": "new", "new_name": "Reading <list>", "note": "read §3 first"},
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/collections/1"
    page = client.get("/collections/1").text
    assert "Reading &lt;list&gt;" in page and "read §3 first" in page and "Attention for" in page
    again = client.post(
        f"/papers/{OTHER}/save",
        data={"collection": "1"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
    )
    assert again.status_code == 200 and 'href="/collections/1"' in again.text
    assert "Sparse mixtures" in client.get("/collections/1").text
    assert "Reading &lt;list&gt;" in client.get("/collections").text


def test_private_collections_stay_private(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/collections", {"name": "Secret list", "description": "mine"})
    post(client, "/collections/1/items", {"arxiv": PAPER, "note": "a note"})
    assert "Secret list" in client.get("/collections/1").text

    sign_in_as(client, engine, "eve@example.org")
    assert client.get("/collections/1").status_code == 404
    assert client.get("/collections/1.atom").status_code == 404
    # every write answers a private collection exactly as it answers a missing one
    writes = [
        ("/collections/{}/edit", {"name": "pwned"}),
        ("/collections/{}/delete", {}),
        ("/collections/{}/items", {"arxiv": OTHER}),
        ("/collections/{}/items/remove", {"arxiv": PAPER}),
        (f"/papers/{OTHER}/save", {"collection": "{}"}),
    ]
    for url, form in writes:
        answers = []
        for target in ("1", "77"):  # Ada's private list, and no list at all
            fields = {name: value.format(target) for name, value in form.items()}
            answer = post(client, url.format(target), fields)
            answers.append((answer.status_code, answer.text.replace(f"collection {target}", "")))
        assert answers[0] == answers[1] and answers[0][0] == 404, url
    client.cookies.delete("dp_session")
    assert client.get("/collections/1").status_code == 404
    sign_in_as(client, engine, "ada@example.org")
    assert (
        "Secret list" in client.get("/collections/1").text
        and "a note" in client.get("/collections/1").text
    )


def test_public_collection_page_and_atom_feed(
    client: TestClient, engine: Engine, community_papers: None
) -> None:
    sign_in_as(client, engine, "ada@example.org")
    post(client, "/collections", {"name": "Good <reads>", "public": "true"})
    post(client, "/collections/1/items", {"arxiv": PAPER})
    post(client, "/collections/1/items", {"arxiv": OTHER})
    removed = post(client, "/collections/1/items/remove", {"arxiv": OTHER})
    assert removed.status_code == 303

    sign_in_as(client, engine, "eve@example.org")
    page = client.get("/collections/1")
    assert page.status_code == 200 and "Good &lt;reads&gt;" in page.text
    assert '<p class="owner">by ada</p>' in page.text
    assert "Attention for everyone" in page.text and "Sparse mixtures" not in page.text
    assert "Edit collection" not in page.text
    assert post(client, "/collections/1/edit", {"name": "mine now"}).status_code == 403
    assert post(client, "/collections/1/items", {"arxiv": OTHER}).status_code == 403

    atom = client.get("/collections/1.atom")
    assert atom.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and parsed.feed.title.endswith("Good <reads>")
    assert [entry.title for entry in parsed.entries] == ["Attention for everyone"]
