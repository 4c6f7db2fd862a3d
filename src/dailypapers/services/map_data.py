"""What the map page draws for a period: every paper's position, category and title, and the
clusters' labels (k-means on the positions, named by shared key phrases).

Built for a period at most :data:`MAX_POINTS` papers at a time (the newest), kept per process
(:data:`_CACHE`) while the layout is the same and no point was added since (its ``placed_at``),
for at most :data:`CACHE_S` (papers deleted meanwhile leave the map then): a 50,000-paper month
costs seconds to build, and checking the stamp is one row.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from dailypapers.db.extras import MapLayout, PaperMapPoint
from dailypapers.db.models import Paper, PaperCategory, User, Vote
from dailypapers.enrich.clusters import cluster_count, cluster_labels, kmeans
from dailypapers.services.periods import Period
from dailypapers.services.summaries import summaries_for

MAX_POINTS = 50_000
GRID = 4095  # positions are sent as integers 0..GRID on each axis
CACHE_S = 600.0
_CACHE: OrderedDict[tuple[object, ...], tuple[float, MapData]] = OrderedDict()
_CACHE_SIZE = 8
_LOCK = threading.Lock()


@dataclass(frozen=True)
class MapCluster:
    x: int
    y: int
    label: str
    size: int


@dataclass(frozen=True)
class MapData:
    paper_ids: list[int]
    arxiv_ids: list[str]
    titles: list[str]
    x: list[int]
    y: list[int]
    category: list[int]  # index into categories
    categories: list[str]  # most common first
    clusters: list[MapCluster] = field(default_factory=list)
    truncated: bool = False  # the period has more than MAX_POINTS papers: the newest are shown
    # the web layer's encodings of this data (JSON bytes), kept with it while it is cached
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, hash=False)


def _where(period: Period, category: str | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = [
        Paper.announced_on.between(period.start, period.end),
        Paper.deleted_at.is_(None),
    ]
    if category:
        clauses.append(
            exists().where(PaperCategory.paper_id == Paper.id, PaperCategory.category == category)
        )
    return clauses


def map_data(session: Session, period: Period, category: str | None = None) -> MapData:
    """The map of ``period`` (and ``category``), from this process's cache when unchanged."""
    where = _where(period, category)
    stamp = session.execute(
        select(MapLayout.id, MapLayout.placed_at).order_by(MapLayout.id.desc()).limit(1)
    ).first()
    key = (period.kind, period.label, category, *(stamp or ()))
    now = time.monotonic()
    with _LOCK:
        if key in _CACHE and _CACHE[key][0] > now - CACHE_S:
            _CACHE.move_to_end(key)
            return _CACHE[key][1]
    data = _build(session, where)
    with _LOCK:
        _CACHE[key] = (now, data)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return data


def _build(session: Session, where: list[ColumnElement[bool]]) -> MapData:
    rows = session.execute(
        select(
            Paper.id,
            Paper.arxiv_id,
            Paper.title,
            Paper.primary_category,
            PaperMapPoint.x,
            PaperMapPoint.y,
        )
        .join(PaperMapPoint, PaperMapPoint.paper_id == Paper.id)
        .where(*where)
        .order_by(Paper.announced_on.desc(), Paper.arxiv_id.desc())
        .limit(MAX_POINTS + 1)
    ).all()
    truncated = len(rows) > MAX_POINTS
    rows = rows[:MAX_POINTS]
    if not rows:
        return MapData([], [], [], [], [], [], [])
    xy = np.array([[r.x, r.y] for r in rows], np.float32)
    low, high = xy.min(axis=0), xy.max(axis=0)
    scaled = np.rint((xy - low) / np.maximum(high - low, 1e-6) * GRID).astype(np.int32)
    names = [name for name, _n in _most_common(r.primary_category for r in rows)]
    index = {name: n for n, name in enumerate(names)}
    paper_ids = [int(r.id) for r in rows]
    labels = kmeans(scaled.astype(np.float32), cluster_count(len(rows)))
    found = summaries_for(session, paper_ids)
    named = cluster_labels(labels, [found.get(pid, ([], ""))[0] for pid in paper_ids])
    clusters = []
    for label, text in sorted(named.items()):
        members = scaled[labels == label]
        centre = members.mean(axis=0)
        clusters.append(MapCluster(int(centre[0]), int(centre[1]), text, len(members)))
    return MapData(
        paper_ids,
        [r.arxiv_id for r in rows],
        [" ".join(r.title.split()) for r in rows],
        scaled[:, 0].tolist(),
        scaled[:, 1].tolist(),
        [index[r.primary_category] for r in rows],
        names,
        clusters,
        truncated=truncated,
    )


def upvoted_indices(session: Session, user: User, data: MapData) -> list[int]:
    """Positions in ``data`` of the papers ``user`` upvoted."""
    voted = set(session.scalars(select(Vote.paper_id).where(Vote.user_id == user.id)))
    return [n for n, paper_id in enumerate(data.paper_ids) if paper_id in voted]


def _most_common(values: object) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for value in values:  # type: ignore[attr-defined]
        counts[value] = counts.get(value, 0) + 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
