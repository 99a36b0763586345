"""Mini-batch centroid updates and the adaptive radius of each cluster.

Each cluster moves towards the mean of the posts it accepted in a batch with learning rate ``m / n`` (``m`` new
members, ``n`` members so far, Sculley's mini-batch k-means), never below a floor set by a half-life in posts, so
old clusters keep following drift. Counts decay with their own half-life. Each cluster also keeps a running mean
and variance of its members' latent similarities (the mean is its tightness, which the merge test uses).
"""

from __future__ import annotations

import numpy as np

from streamclust.cluster.table import ClusterTable


def learning_rate_floor(half_life_posts: int) -> float:
    """Per-post rate at which a post's weight in a centroid halves after ``half_life_posts`` newer members."""
    return float(1.0 - 0.5 ** (1.0 / half_life_posts))


def group_means(values: np.ndarray, groups: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group sums of ``values`` rows and group sizes (the FAISS ``assign_to`` pattern: one sparse
    one-hot product instead of a Python loop)."""
    from scipy.sparse import csr_matrix

    sizes = np.bincount(groups, minlength=n_groups).astype(np.float64)
    one_hot = csr_matrix(
        (np.ones(len(groups)), (groups, np.arange(len(groups)))), shape=(n_groups, len(groups))
    )
    sums = np.asarray(one_hot @ values.astype(np.float64).reshape(len(groups), -1))
    return sums.reshape((n_groups, *values.shape[1:])), sizes


def update_centroids(
    table: ClusterTable, latents: np.ndarray, rows: np.ndarray, similarities: np.ndarray, rate_floor: float
) -> float:
    """Move the centroids of ``rows`` towards their new members; returns the mean (1 - cosine) shift."""
    if len(rows) == 0:
        return 0.0
    present, inverse = np.unique(rows, return_inverse=True)
    sums, sizes = group_means(latents, inverse, len(present))
    sim_sums, _ = group_means(similarities.astype(np.float64), inverse, len(present))
    sim_squares, _ = group_means(similarities.astype(np.float64) ** 2, inverse, len(present))
    table.counts[present] += sizes
    floor = 1.0 - (1.0 - rate_floor) ** sizes
    rate = np.maximum(sizes / table.counts[present], floor)
    old = table.centroids[present].astype(np.float64)
    moved = (1.0 - rate[:, None]) * old + rate[:, None] * (sums / sizes[:, None])
    moved /= np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)
    table.centroids[present] = moved.astype(np.float32)
    mean = table.similarity_mean[present]
    square = table.similarity_var[present] + mean**2
    new_mean = (1.0 - rate) * mean + rate * sim_sums / sizes
    new_square = (1.0 - rate) * square + rate * sim_squares / sizes
    table.similarity_mean[present] = new_mean
    table.similarity_var[present] = np.maximum(new_square - new_mean**2, 0.0)
    return float(np.mean(1.0 - np.sum(old * moved, axis=1)))


def decay_counts(table: ClusterTable, posts: int, half_life_posts: int) -> None:
    table.counts *= 0.5 ** (posts / half_life_posts)
