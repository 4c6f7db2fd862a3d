"""Clusters on the map and their labels: k-means on the 2D positions, each cluster named by the
key phrases its papers share more than the rest of the map does."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float32]


def cluster_count(points: int) -> int:
    return max(1, min(24, round(math.sqrt(points / 25))))


def kmeans(points: Points, k: int, *, iterations: int = 12, seed: int = 0) -> npt.NDArray[np.int32]:
    """Cluster index of each point (k-means++ start, a few Lloyd iterations)."""
    count = len(points)
    if count == 0:
        return np.zeros(0, np.int32)
    k = min(k, count)
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(count)]]
    distance = np.sum((points - centres[0]) ** 2, axis=1)
    for _ in range(1, k):
        total = float(distance.sum())
        pick = rng.choice(count, p=distance / total) if total > 0 else rng.integers(count)
        centres.append(points[pick])
        distance = np.minimum(distance, np.sum((points - points[pick]) ** 2, axis=1))
    centre = np.stack(centres)
    labels = np.zeros(count, np.int32)
    for _ in range(iterations):
        squared = (points**2).sum(1)[:, None] - 2 * points @ centre.T + (centre**2).sum(1)[None]
        labels = np.argmin(squared, axis=1).astype(np.int32)
        for index in range(k):
            members = points[labels == index]
            if len(members):
                centre[index] = members.mean(axis=0)
    return labels


def cluster_labels(
    labels: npt.NDArray[np.int32], phrases: Sequence[Sequence[str]], per_cluster: int = 2
) -> dict[int, str]:
    """cluster -> "phrase · phrase": the phrases most over-represented in the cluster."""
    overall: Counter[str] = Counter()
    by_cluster: dict[int, Counter[str]] = {}
    for label, own in zip(labels.tolist(), phrases, strict=True):
        words = {p.lower() for p in own}
        overall.update(words)
        by_cluster.setdefault(label, Counter()).update(words)
    total = max(len(phrases), 1)
    names: dict[int, str] = {}
    for label, counts in by_cluster.items():
        size = int(np.sum(labels == label))
        ranked = sorted(
            (
                (count * math.log(total * count / (size * overall[p])) if count > 1 else 0.0, p)
                for p, count in counts.items()
            ),
            reverse=True,
        )
        chosen = [p for score, p in ranked if score > 0][:per_cluster]
        if chosen:
            names[label] = " · ".join(chosen)
    return names
