"""Nearest-centroid search with FAISS over unit-length latents (inner product = cosine).

A flat index is exact and cheap to rebuild every batch: with 64-dimensional latents, rebuilding and searching it
stays faster than HNSW up to about 30,000 clusters (``benchmarks/index_crossover.py``). Above
``flat_max_clusters`` an HNSW (or IVF) index proposes a few candidates that are re-scored exactly against the
current centroids, so a slightly stale graph never yields a wrong similarity.

The tie rule: a post's nearest centroid and its similarity depend on the model and the post alone, never on
the batch it came in. FAISS (which takes other arithmetic paths for other batch sizes) only proposes
candidates; each candidate is re-scored in float64, one row at a time, the scores are rounded to a grid of
``SIMILARITY_GRID`` and the best wins, ties going to the lowest centroid row.
"""

from __future__ import annotations

import faiss
import numpy as np

CANDIDATES = 8  # proposed by an approximate index, re-scored exactly
TIE_CANDIDATES = 2  # proposed by the flat index: rounding differences only swap near-ties
SIMILARITY_GRID = 1e-6
REBUILD_EVERY_UPDATES = 50


class CentroidIndex:
    def __init__(self, dim: int, kind: str = "auto", flat_max_clusters: int = 20_000) -> None:
        self.dim = dim
        self.kind = kind
        self.flat_max_clusters = flat_max_clusters
        self.index: faiss.Index | None = None
        self.built_from = np.zeros((0, dim), dtype=np.float32)  # the centroids of the last build
        self.indexed = 0
        self.updates_since_build = 0

    def approximate(self, n_clusters: int) -> bool:
        return self.kind in ("hnsw", "ivf") or (self.kind == "auto" and n_clusters > self.flat_max_clusters)

    def build(self, centroids: np.ndarray) -> None:
        n = len(centroids)
        if n == 0 or not self.approximate(n):
            index: faiss.Index = faiss.IndexFlatIP(self.dim)
        elif self.kind == "ivf":
            lists = max(1, min(n // 8, int(4 * np.sqrt(n))))
            index = faiss.IndexIVFFlat(
                faiss.IndexFlatIP(self.dim), self.dim, lists, faiss.METRIC_INNER_PRODUCT
            )
            index.train(centroids)
            index.nprobe = min(lists, 8)
        else:
            index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 64
        index.add(centroids)
        self.index = index
        self.built_from = np.array(centroids, dtype=np.float32)
        self.indexed = n
        self.updates_since_build = 0

    def refresh(self, centroids: np.ndarray, structure_changed: bool) -> None:
        """Call after centroids moved; rebuilds when needed."""
        self.updates_since_build += 1
        stale = self.approximate(len(centroids)) and self.updates_since_build < REBUILD_EVERY_UPDATES
        if structure_changed or self.index is None or len(centroids) != self.indexed or not stale:
            self.build(centroids)

    def nearest(self, latents: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of the nearest centroid and its cosine similarity, for each latent (row -1 with no clusters).

        The same latent gets the same row and similarity whatever else is in the batch (see the tie rule)."""
        n = len(latents)
        if len(centroids) == 0 or self.index is None:
            return np.full(n, -1, dtype=np.int64), np.full(n, -1.0, dtype=np.float32)
        proposed = CANDIDATES if self.approximate(len(centroids)) else TIE_CANDIDATES
        _, candidates = self.index.search(latents, min(proposed, len(centroids)))
        return best_of(latents, centroids, candidates)

    def candidates(self, latents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the ``k`` centroids nearest each latent and FAISS's cosine for each, [n, k] each (exact up to
        float32 rounding for a flat index, which may differ between batches: see ``exact_similarities``)."""
        if self.index is None or k <= 0:
            return np.zeros((len(latents), 0), dtype=np.int64), np.zeros((len(latents), 0), dtype=np.float32)
        similarities, rows = self.index.search(np.ascontiguousarray(latents, dtype=np.float32), k)
        missing = rows < 0
        return np.where(missing, 0, rows).astype(np.int64), np.where(missing, -np.inf, similarities)


def best_of(
    latents: np.ndarray, centroids: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The best of each latent's candidate rows by exact similarity on the grid, ties to the lowest row.

    Each similarity is a float64 dot product of one latent and one centroid, summed in the same order for
    every row, so it does not depend on the batch; rounding to the grid makes scores that differ by less
    than float rounding equal, and equal scores go to the lowest row.

    >>> centroids = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    >>> latents = np.array([[0.6, 0.8], [np.sqrt(0.5), np.sqrt(0.5)]], dtype=np.float32)
    >>> rows, similarities = best_of(latents, centroids, np.array([[0, 1], [1, 0]]))
    >>> rows.tolist(), np.round(similarities.astype(float), 6).tolist()
    ([1, 0], [0.8, 0.707107])
    """
    candidates = np.sort(np.where(candidates < 0, candidates.max(axis=1, keepdims=True), candidates), axis=1)
    exact = exact_similarities(latents, centroids, candidates)
    on_grid = np.rint(exact / SIMILARITY_GRID)
    best = on_grid.argmax(axis=1)  # the first maximum: the lowest row among equal scores
    picked = np.arange(len(latents))
    similarities = (on_grid[picked, best] * SIMILARITY_GRID).astype(np.float32)
    return candidates[picked, best].astype(np.int64), similarities


def exact_similarities(latents: np.ndarray, centroids: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Float64 cosine of each latent to each of its candidate centroids, [n, k]: one dot product per pair,
    summed in the same order whatever the batch, so a post's similarities do not depend on its neighbours."""
    return np.einsum(
        "nd,nkd->nk", latents.astype(np.float64), centroids[candidates].astype(np.float64), optimize=False
    )
