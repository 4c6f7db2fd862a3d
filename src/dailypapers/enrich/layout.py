"""The map's 2D layout of paper vectors.

Laying out every paper with t-SNE or UMAP costs minutes per 10,000 papers on two cores (measured:
benchmarks/map_speed.py), so the layout is fitted on a sample of *anchors* (at most a few
thousand papers) with openTSNE (FFT-accelerated t-SNE on the vectors reduced to 50 dimensions by
PCA), and every other paper is placed among its nearest anchors: the average of the positions of
its :data:`NEIGHBOURS` most similar anchors, weighted by similarity. Placing a paper costs one
matrix product, so new papers join the map as they are embedded, without moving anyone else.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]
NEIGHBOURS = 8
SHARPNESS = 25.0  # weights exp(SHARPNESS * cosine): the nearest anchors dominate
PCA_DIMS = 50
MIN_TSNE = 60  # fewer anchors than this: PCA alone (t-SNE needs a neighbourhood)


def _normalised(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out: Matrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


def _pca(vectors: Matrix, dims: int) -> Matrix:
    centred = vectors - vectors.mean(axis=0, keepdims=True)
    _u, _s, components = np.linalg.svd(centred, full_matrices=False)
    out: Matrix = (centred @ components[:dims].T).astype(np.float32)
    return out


def fit_anchors(vectors: Matrix, *, seed: int = 0, threads: int = 1) -> Matrix:
    """2D positions of ``vectors`` (one row each), centred, about unit spread."""
    vectors = _normalised(np.asarray(vectors, dtype=np.float32))
    count = len(vectors)
    if count == 0:
        return np.zeros((0, 2), np.float32)
    if count < MIN_TSNE:
        if count < 3:
            return np.zeros((count, 2), np.float32) + np.arange(count, dtype=np.float32)[:, None]
        positions = _pca(vectors, 2)
    else:
        from openTSNE import TSNE  # imported here: only the layout job needs it

        reduced = _pca(vectors, min(PCA_DIMS, vectors.shape[1], count))
        tsne = TSNE(
            perplexity=min(30.0, (count - 1) / 3),
            n_jobs=threads if count >= 2000 else 1,  # threads cost more than they give below
            random_state=seed,
            neighbors="annoy" if count > 1000 else "exact",
            negative_gradient_method="fft" if count > 10_000 else "bh",
            verbose=False,
        )
        positions = np.asarray(tsne.fit(reduced), dtype=np.float32)
    positions -= positions.mean(axis=0, keepdims=True)
    spread = float(np.percentile(np.abs(positions), 99)) or 1.0
    return (positions / spread).astype(np.float32)


def place(vectors: Matrix, anchor_vectors: Matrix, anchor_xy: Matrix) -> Matrix:
    """Positions for ``vectors`` among the anchors: the similarity-weighted mean of the
    positions of their nearest anchors."""
    if len(vectors) == 0 or len(anchor_vectors) == 0:
        return np.zeros((len(vectors), 2), np.float32)
    anchors = _normalised(np.asarray(anchor_vectors, dtype=np.float32))
    out = np.empty((len(vectors), 2), np.float32)
    k = min(NEIGHBOURS, len(anchors))
    for start in range(0, len(vectors), 2048):
        block = _normalised(np.asarray(vectors[start : start + 2048], dtype=np.float32))
        similar = block @ anchors.T
        nearest = np.argpartition(-similar, k - 1, axis=1)[:, :k]
        sims = np.take_along_axis(similar, nearest, axis=1)
        weights = np.exp(SHARPNESS * (sims - sims.max(axis=1, keepdims=True)))
        weights /= weights.sum(axis=1, keepdims=True)
        out[start : start + len(block)] = np.einsum("nk,nkd->nd", weights, anchor_xy[nearest])
    return out
