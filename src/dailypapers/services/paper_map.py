"""The map of the papers: a 2D layout of the embeddings, computed in the background and stored.

One layout per embedding model (``map_layouts``) with a position per paper (``paper_map_points``).
A run (the job after each embedding run; ``dailypapers map``) fits a new layout when there is
none for the serving model, or when the papers have grown to more than twice the anchors it was
fitted on (while that is under :data:`ANCHORS`), and otherwise only places the papers embedded
since. Fitting: a random sample of at most :data:`ANCHORS` papers laid out with t-SNE, then every
other paper placed among its nearest anchors (:mod:`dailypapers.enrich.layout`), committed in
chunks (the run owns its transactions). A new layout is written beside the old one and replaces it
when complete, so the map never shows half a layout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.orm import Session

from dailypapers.clock import utcnow
from dailypapers.config import Settings
from dailypapers.cpus import usable_cpus
from dailypapers.db.extras import MapLayout, PaperMapPoint
from dailypapers.db.models import PaperEmbedding
from dailypapers.enrich.layout import fit_anchors, place
from dailypapers.vectors.live import read_vectors, read_vectors_of, serving_model

log = logging.getLogger(__name__)
ANCHORS = 5_000  # t-SNE over 5,000 papers: ~50 s of CPU on 2 cores (benchmarks/map_speed.py)
CHUNK = 5_000
METHOD = "opentsne-anchors+knn"


@dataclass
class MapRun:
    fitted: int = 0  # anchors of a new layout (0: the layout was kept)
    placed: int = 0
    seconds: float = 0.0
    note: str = ""

    def line(self) -> str:
        if self.note:
            return self.note
        fit = f"new layout fitted on {self.fitted:,} papers; " if self.fitted else ""
        return f"map: {fit}{self.placed:,} papers placed in {self.seconds:.1f} s"


def current_layout(session: Session) -> MapLayout | None:
    """The newest complete layout."""
    return session.scalar(select(MapLayout).order_by(MapLayout.id.desc()).limit(1))


def _embedded(engine: Engine, model: str) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(PaperEmbedding.model == model)) or 0)


def update_map(engine: Engine, settings: Settings, *, refit: bool = False, seed: int = 0) -> MapRun:
    """Fit a layout when needed, then place every embedded paper that has no position."""
    start = time.monotonic()
    model = serving_model(engine, settings.embedding_model)
    if model is None:
        return MapRun(note="map: no paper is embedded yet")
    with Session(engine) as session:
        layout = current_layout(session)
        layout_id, anchors = (layout.id, layout.anchors) if layout is not None else (None, 0)
        same_model = layout is not None and layout.model == model
    embedded = _embedded(engine, model)
    grown = anchors < ANCHORS and embedded > 2 * anchors
    run = MapRun()
    if refit or not same_model or grown or layout_id is None:
        layout_id = _fit(engine, model, seed)
        run.fitted = min(embedded, ANCHORS)
    run.placed = _place_missing(engine, model, layout_id)
    run.seconds = time.monotonic() - start
    return run


def _fit(engine: Engine, model: str, seed: int) -> int:
    ids_all: list[int] = []
    for _rows, paper_ids, _vectors in read_vectors(engine, model):
        ids_all.extend(int(i) for i in paper_ids)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(ids_all, min(ANCHORS, len(ids_all)), replace=False).tolist())
    found = read_vectors_of(engine, model, chosen)
    chosen = [i for i in chosen if i in found]
    positions = fit_anchors(
        np.stack([found[i] for i in chosen]), seed=seed, threads=max(1, usable_cpus())
    )
    with Session(engine) as session, session.begin():  # the new layout and its anchors
        now = utcnow()
        layout = MapLayout(
            model=model, anchors=len(chosen), method=METHOD, created_at=now, placed_at=now
        )
        session.add(layout)
        session.flush()
        # a paper has one point: the new layout takes over the anchors' rows now, and the
        # rest as they are placed (until then they still show at their old positions)
        session.execute(delete(PaperMapPoint).where(PaperMapPoint.paper_id.in_(chosen)))
        session.execute(
            insert(PaperMapPoint),
            [
                {
                    "paper_id": i,
                    "layout_id": layout.id,
                    "x": float(x),
                    "y": float(y),
                    "anchor": True,
                }
                for i, (x, y) in zip(chosen, positions.tolist(), strict=True)
            ],
        )
        return layout.id


def _anchors(engine: Engine, model: str, layout_id: int) -> tuple[np.ndarray, np.ndarray]:
    with Session(engine) as session:
        rows = session.execute(
            select(PaperMapPoint.paper_id, PaperMapPoint.x, PaperMapPoint.y).where(
                PaperMapPoint.layout_id == layout_id, PaperMapPoint.anchor.is_(True)
            )
        ).all()
    found = read_vectors_of(engine, model, [r[0] for r in rows])
    kept = [r for r in rows if r[0] in found]
    vectors = np.stack([found[r[0]] for r in kept]) if kept else np.zeros((0, 1), np.float32)
    positions = np.array([[r[1], r[2]] for r in kept], np.float32).reshape(-1, 2)
    return vectors, positions


def _place_missing(engine: Engine, model: str, layout_id: int) -> int:
    """Place the papers embedded under ``model`` that have no point in this layout."""
    anchor_vectors, anchor_xy = _anchors(engine, model, layout_id)
    if len(anchor_vectors) == 0:
        return 0
    with Session(engine) as session:
        done = set(
            session.scalars(
                select(PaperMapPoint.paper_id).where(PaperMapPoint.layout_id == layout_id)
            )
        )
    placed = 0
    for _rows, paper_ids, vectors in read_vectors(engine, model, chunk=CHUNK):
        keep = [n for n, pid in enumerate(paper_ids.tolist()) if pid not in done]
        if not keep:
            continue
        ids = [int(paper_ids[n]) for n in keep]
        positions = place(vectors[keep], anchor_vectors, anchor_xy)
        with Session(engine) as session, session.begin():  # one chunk, one commit
            session.execute(delete(PaperMapPoint).where(PaperMapPoint.paper_id.in_(ids)))
            session.execute(
                insert(PaperMapPoint),
                [
                    {"paper_id": i, "layout_id": layout_id, "x": x, "y": y, "anchor": False}
                    for i, (x, y) in zip(ids, positions.tolist(), strict=True)
                ],
            )
            session.execute(
                update(MapLayout).where(MapLayout.id == layout_id).values(placed_at=utcnow())
            )
        placed += len(ids)
    with Session(engine) as session, session.begin():  # older layouts have no points left
        session.execute(delete(PaperMapPoint).where(PaperMapPoint.layout_id < layout_id))
        session.execute(delete(MapLayout).where(MapLayout.id < layout_id))
    return placed
