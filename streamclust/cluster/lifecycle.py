"""Which clusters to merge, retire or drop: pure decisions over the cluster table."""

from __future__ import annotations

import numpy as np

from streamclust.cluster.table import ClusterTable


def find_merges(
    table: ClusterTable,
    first: np.ndarray,
    second: np.ndarray,
    member_similarity: np.ndarray,
    tightness: np.ndarray,
) -> list[tuple[int, int]]:
    """Pairs of rows ``(absorbed, survivor)`` that are one topic, among the candidate pairs
    ``(first[k], second[k])``: the members of the smaller cluster are, on average, as similar to the larger
    one as the larger one's own members are (``member_similarity[k] >= tightness[second[k]]``).

    ``member_similarity[k]`` is the mean similarity of the members of ``first[k]`` to the centroid of
    ``second[k]``, ``tightness`` that of each cluster's members to its own centroid; for normalised means the
    first is ``tightness(a) * cosine(a, b)``. The test is about the pair's members, not only about how close
    the two centroids are, and needs no threshold of its own. The older cluster (smaller id) survives, so the
    id downstream readers already know lives on. Each cluster takes part in at most one merge per call; the
    most similar pairs go first.
    """
    if len(table) < 2 or len(first) == 0:
        return []
    fits = (
        (first != second)
        & (table.members[first] <= table.members[second])
        & (member_similarity >= tightness[second])
    )
    candidates = np.flatnonzero(fits)
    order = candidates[np.argsort(-member_similarity[candidates], kind="stable")]
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
    table.members[survivor] += table.members[absorbed]
    table.confirmed[survivor] |= table.confirmed[absorbed]
    table.last_seen[survivor] = max(table.last_seen[survivor], table.last_seen[absorbed])
    table.last_seen_at[survivor] = max(table.last_seen_at[survivor], table.last_seen_at[absorbed])


def find_stale(
    table: ClusterTable, position: int, retire_after_posts: int, provisional_after_posts: int | None = None
) -> np.ndarray:
    """Rows of clusters that have accepted no post for ``retire_after_posts`` posts (provisional ones: for
    ``provisional_after_posts``, when given)."""
    limit = np.full(len(table), retire_after_posts, dtype=np.int64)
    if provisional_after_posts is not None:
        limit[~table.confirmed] = provisional_after_posts
    return np.flatnonzero(table.last_seen < position - limit)


def find_excess(table: ClusterTable, max_clusters: int) -> np.ndarray:
    """Rows of the smallest clusters beyond the cap."""
    excess = len(table) - max_clusters
    if excess <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.argsort(table.counts, kind="stable")[:excess]
