"""Which clusters to merge, retire or drop: pure decisions over the cluster table."""

from __future__ import annotations

import numpy as np

from streamclust.cluster.table import ClusterTable


def find_merges(table: ClusterTable, merge_similarity: float) -> list[tuple[int, int]]:
    """Pairs of rows ``(absorbed, survivor)`` whose centroids are closer than ``merge_similarity``.

    The older cluster (smaller id) survives, so the id downstream readers already know lives on. Each cluster
    takes part in at most one merge per call; the closest pairs go first.
    """
    if len(table) < 2:
        return []
    similarity = table.centroids @ table.centroids.T
    first, second = np.nonzero(np.triu(similarity >= merge_similarity, k=1))
    if len(first) == 0:
        return []
    order = np.argsort(-similarity[first, second])
    used: set[int] = set()
    merges = []
    for a, b in zip(first[order].tolist(), second[order].tolist(), strict=True):
        if a in used or b in used:
            continue
        used.update((a, b))
        survivor, absorbed = (a, b) if table.ids[a] < table.ids[b] else (b, a)
        merges.append((absorbed, survivor))
    return merges


def merge_rows(table: ClusterTable, absorbed: int, survivor: int) -> None:
    """Fold the statistics of row ``absorbed`` into row ``survivor`` (the caller removes ``absorbed``)."""
    weights = np.array([table.counts[survivor], table.counts[absorbed]])
    weights = weights / max(weights.sum(), 1e-12)
    centroid = weights[0] * table.centroids[survivor] + weights[1] * table.centroids[absorbed]
    table.centroids[survivor] = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    for name in ("similarity_mean", "similarity_var"):
        values = getattr(table, name)
        values[survivor] = weights[0] * values[survivor] + weights[1] * values[absorbed]
    table.counts[survivor] += table.counts[absorbed]
    table.last_seen[survivor] = max(table.last_seen[survivor], table.last_seen[absorbed])
    table.last_seen_at[survivor] = max(table.last_seen_at[survivor], table.last_seen_at[absorbed])


def find_stale(table: ClusterTable, position: int, retire_after_posts: int) -> np.ndarray:
    """Rows of clusters that have accepted no post for ``retire_after_posts`` posts."""
    return np.flatnonzero(table.last_seen < position - retire_after_posts)


def find_excess(table: ClusterTable, max_clusters: int) -> np.ndarray:
    """Rows of the smallest clusters beyond the cap."""
    excess = len(table) - max_clusters
    if excess <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.argsort(table.counts, kind="stable")[:excess]
