"""Nearest-centroid search with FAISS over unit-length latents (inner product = cosine).

A flat index is exact and cheap to rebuild every batch: with 64-dimensional latents, rebuilding and searching it
stays faster than HNSW up to about 30,000 clusters (``benchmarks/index_crossover.py``). Above
``flat_max_clusters`` an HNSW (or IVF) index proposes a few candidates that are re-scored exactly against the
current centroids, so a slightly stale graph never yields a wrong similarity.
"""

from __future__ import annotations

import faiss
import numpy as np

CANDIDATES = 8
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
        """Row of the nearest centroid and its cosine similarity, for each latent (row -1 with no clusters)."""
        n = len(latents)
        if len(centroids) == 0 or self.index is None:
            return np.full(n, -1, dtype=np.int64), np.full(n, -1.0, dtype=np.float32)
        if not self.approximate(len(centroids)):
            similarities, rows = self.index.search(latents, 1)
            return rows[:, 0].astype(np.int64), similarities[:, 0]
        _, candidates = self.index.search(latents, min(CANDIDATES, len(centroids)))
        candidates = np.where(candidates < 0, 0, candidates)
        exact = np.einsum("nd,nkd->nk", latents, centroids[candidates])
        best = exact.argmax(axis=1)
        picked = np.arange(n)
        return candidates[picked, best].astype(np.int64), exact[picked, best].astype(np.float32)

    def candidates(self, latents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of the ``k`` centroids nearest each latent and their cosine similarities, [n, k] each, nearest
        first (exact for a flat index; an approximate one's may be up to a rebuild old: re-score them)."""
        if self.index is None or k <= 0:
            empty = np.zeros((len(latents), 0))
            return empty.astype(np.int64), empty.astype(np.float32)
        similarities, rows = self.index.search(np.ascontiguousarray(latents, dtype=np.float32), k)
        return np.where(rows < 0, 0, rows).astype(np.int64), similarities
