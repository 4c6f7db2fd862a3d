"""The map of the papers: the layout job (t-SNE on anchors, the rest placed near their nearest
anchors, new papers placed without moving the others, a refit when the corpus has grown) and
what /map and its JSON answer, bad input included."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dailypapers.config import Settings
from dailypapers.db.extras import MapLayout, PaperMapPoint
from dailypapers.db.models import Paper
from dailypapers.embeddings.store import embed_pending
from dailypapers.enrich.clusters import cluster_labels, kmeans
from dailypapers.enrich.layout import fit_anchors, place
from dailypapers.services import paper_map
from dailypapers.services.paper_map import update_map
from dailypapers.services.summaries import summarize_pending
from dailypapers.web import paper_map as paper_map_web
from tests.fake_embedder import fake_embedder
from tests.helpers import add_papers, csrf, record, sign_in_as

TOPICS = {
    "graphs": "graph neural networks message passing over graph nodes and graph edges",
    "speech": "speech recognition audio acoustic speech models spoken audio",
    "vision": "image segmentation pixels vision images convolution image masks",
}


def _corpus(engine: Engine, per_topic: int = 30, day: str = "2025-06-17", start: int = 1) -> None:
    records = []
    n = start
    for topic, words in TOPICS.items():
        for k in range(per_topic):
            records.append(
                record(
                    f"2506.{n:05d}",
                    day,
                    title=f"{topic.title()} study {k}",
                    abstract=f"We study {words}. Variant {k} of {topic}.",
                    categories=["cs.CV" if topic == "vision" else "cs.LG"],
                )
            )
            n += 1
    add_papers(engine, *records)
    embed_pending(engine, fake_embedder())
    summarize_pending(engine)


def speech_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Paper.arxiv_id).where(Paper.title.like("Speech%"))))


def _points(engine: Engine) -> dict[int, tuple[float, float]]:
    with Session(engine) as session:
        return {
            r[0]: (r[1], r[2])
            for r in session.execute(
                select(PaperMapPoint.paper_id, PaperMapPoint.x, PaperMapPoint.y)
            )
        }


def test_similar_papers_land_together_and_new_ones_join_without_moving_anyone(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper_map, "ANCHORS", 60)
    _corpus(engine)
    run = update_map(engine, settings)
    assert run.fitted == 60 and run.placed == 30  # 90 papers: 60 anchors, 30 placed
    points = _points(engine)
    assert len(points) == 90
    centre = {
        t: np.mean([points[i + 1 + 30 * n] for i in range(30)], axis=0)
        for n, t in enumerate(TOPICS)
    }
    spread = {
        t: np.mean(
            [np.linalg.norm(np.subtract(points[i + 1 + 30 * n], centre[t])) for i in range(30)]
        )
        for n, t in enumerate(TOPICS)
    }
    apart = min(np.linalg.norm(centre[a] - centre[b]) for a in TOPICS for b in TOPICS if a < b)
    assert apart > 2 * max(spread.values())  # three topics, three separate islands

    add_papers(
        engine,
        record(
            "2506.00500",
            "2025-06-18",
            title="Speech again",
            abstract=f"We study {TOPICS['speech']}.",
        ),
    )
    embed_pending(engine, fake_embedder())
    again = update_map(engine, settings)
    assert (again.fitted, again.placed) == (0, 1)  # kept the layout, placed the newcomer
    after = _points(engine)
    assert {k: after[k] for k in points} == points
    new = np.array(after[91])
    assert np.linalg.norm(new - centre["speech"]) < np.linalg.norm(new - centre["vision"])


def test_a_grown_corpus_or_a_new_model_gets_a_new_layout(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(paper_map, "ANCHORS", 500)
    _corpus(engine, per_topic=5)
    assert update_map(engine, settings).fitted == 15
    _corpus(engine, per_topic=20, start=100)  # 75 papers: more than twice the 15 anchors
    assert update_map(engine, settings).fitted == 75
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(MapLayout)) == 1  # old one gone
        assert session.scalar(select(func.count()).select_from(PaperMapPoint)) == 75
    assert update_map(engine, settings, refit=True).fitted == 75


def test_no_embeddings_no_map(engine: Engine, settings: Settings, client: TestClient) -> None:
    assert "no paper is embedded yet" in update_map(engine, settings).line()
    assert client.get("/map").status_code == 200
    add_papers(engine, record("2506.00001", "2025-06-17"))
    assert client.get("/map/points.json").json()["count"] == 0


def test_the_map_page_and_its_data(engine: Engine, settings: Settings, client: TestClient) -> None:
    _corpus(engine)
    update_map(engine, settings)
    page = client.get("/map")
    assert page.status_code == 200 and '<canvas id="map-canvas"' in page.text
    assert (
        '<script src="/static/map.js" defer></script>' in page.text and "onclick" not in page.text
    )
    points = client.get("/map/points.json", headers={"Accept-Encoding": "br"})
    assert points.headers.get("content-encoding") == "br"
    data = points.json()
    assert data["period"] == "2025-06" and data["count"] == 90
    assert len(data["x"]) == len(data["y"]) == len(data["cat"]) == 90
    assert all(0 <= v <= data["grid"] for v in data["x"] + data["y"])
    assert data["cats"] == ["cs.LG", "cs.CV"] and set(data["cat"]) == {0, 1}
    labels = " ".join(c["label"] for c in data["clusters"])
    assert any(word in labels for word in ("graph", "speech", "image"))
    titles = client.get("/map/titles.json").json()
    assert len(titles["ids"]) == len(titles["titles"]) == 90 and titles["ids"][0].startswith(
        "2506."
    )
    assert client.get("/map/mine.json").json() == {"upvoted": [], "picks": []}
    found = client.get("/map/search.json", params={"q": "speech recognition"}).json()
    ids = titles["ids"]
    assert found["hits"] and all(ids[i] in speech_ids(engine) for i in found["hits"])
    assert client.get("/map/search.json", params={"q": ""}).json()["hits"] == []
    week = client.get("/map/points.json", params={"week": "2025-W25"}).json()
    assert week["count"] == 90 and week["period"] == "2025-W25"
    other = client.get("/map/points.json", params={"month": "2024-01"}).json()
    assert other["count"] == 0
    only = client.get("/map/points.json", params={"category": "cs.CV"}).json()
    assert only["count"] == 30


def test_points_and_titles_are_compressed_once_and_preloaded(
    engine: Engine, settings: Settings, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The map's data is packed once per encoding and kept with the cached map (gzipping 0.6 MB
    of points on every answer held the first paint back); the page asks for the points early."""
    _corpus(engine)
    update_map(engine, settings)
    packed: list[str] = []
    real = paper_map_web.compress

    def counted(body: bytes, encoding: str) -> bytes:
        packed.append(encoding)
        return real(body, encoding)

    monkeypatch.setattr(paper_map_web, "compress", counted)
    plain = client.get("/map/points.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json()["count"] == 90
    for encoding in ("gzip", "br", "gzip", "br"):
        for path in ("/map/points.json", "/map/titles.json"):
            answer = client.get(path, headers={"Accept-Encoding": encoding})
            assert answer.headers["content-encoding"] == encoding  # once: not packed twice
            assert "accept-encoding" in answer.headers["vary"].lower()
            if path == "/map/points.json":
                assert answer.content == plain.content  # httpx undoes the encoding
    assert sorted(packed) == ["br", "br", "gzip", "gzip"]  # each answer, each encoding: once
    page = client.get("/map", params={"month": "2025-06", "category": "cs.CV"}).text
    assert (
        '<link rel="preload" href="/map/points.json?month=2025-06&amp;category=cs.CV" as="fetch"'
        " crossorigin>" in page
    )


def test_the_readers_upvotes_are_marked(
    engine: Engine, settings: Settings, client: TestClient
) -> None:
    _corpus(engine, per_topic=3)
    update_map(engine, settings)
    sign_in_as(client, engine, "ada@example.org")

    token = csrf(client)
    client.post("/api/papers/2506.00002/upvote", headers={"X-CSRF-Token": token})
    titles = client.get("/map/titles.json").json()["ids"]
    marked = client.get("/map/mine.json").json()["upvoted"]
    assert [titles[i] for i in marked] == ["2506.00002"]


@pytest.mark.parametrize(
    "params",
    [
        {"month": "2025-13"},
        {"week": "2025-W99"},
        {"date": "yesterday"},
        {"month": "2025-06", "week": "2025-W25"},
        {"category": "x" * 40},
    ],
)
def test_bad_periods_are_400s(client: TestClient, params: dict[str, str]) -> None:
    for path in (
        "/map",
        "/map/points.json",
        "/map/titles.json",
        "/map/mine.json",
        "/map/search.json",
    ):
        assert client.get(path, params=params).status_code == 400, (path, params)


def test_layout_and_clusters_on_their_own() -> None:
    rng = np.random.default_rng(1)
    assert fit_anchors(np.zeros((0, 8), np.float32)).shape == (0, 2)
    assert fit_anchors(rng.normal(size=(2, 8)).astype(np.float32)).shape == (2, 2)
    small = fit_anchors(rng.normal(size=(20, 8)).astype(np.float32))  # PCA below 60
    assert small.shape == (20, 2) and np.isfinite(small).all()
    anchors = np.eye(4, dtype=np.float32)
    xy = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], np.float32)
    placed = place(np.array([[1, 0.1, 0, 0]], np.float32), anchors, xy)
    assert np.linalg.norm(placed[0] - xy[0]) < 1.0
    points = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 0.1, (20, 2))]).astype(
        np.float32
    )
    labels = kmeans(points, 2)
    assert len(set(labels[:20].tolist())) == 1 and labels[0] != labels[-1]
    names = cluster_labels(labels, [["graphs", "x"]] * 20 + [["speech", "x"]] * 20)
    assert sorted(names.values()) == ["graphs", "speech"]  # "x" is everywhere: no label
