"""New clusters from the posts of a batch that no cluster took: a single pass over them, in stream order.

Each such post joins the most similar group opened earlier in the same batch if its similarity to the group's
mean is at least ``threshold``; otherwise it opens a group of its own. Similarity is the same blend the engine
assigns with: ``semantic_weight * cosine(latents) + (1 - semantic_weight) * cosine(lexical TF-IDF)``. Every
post therefore has a cluster the moment it arrives; a group that later gathers enough members is confirmed
(``lifecycle``), one that does not is retired.

The pass needs only the posts' pairwise similarities: with ``S`` the sum of a group's unit rows,
``x . S = sum_j x . x_j`` and ``|S|^2 = sum_jk x_j . x_k``, both kept up to date as posts join.

>>> import numpy as np
>>> latents = np.array([[1.0, 0.0], [0.9, 0.436], [0.0, 1.0]], dtype=np.float32)
>>> group_posts(latents @ latents.T, np.zeros((3, 3)), semantic_weight=1.0, threshold=0.8).tolist()
[0, 0, 1]
"""

from __future__ import annotations

import numpy as np


def group_posts(
    latent_similarity: np.ndarray, lexical_similarity: np.ndarray, semantic_weight: float, threshold: float
) -> np.ndarray:
    """Group number of each post (0, 1, ... in order of opening), from the posts' pairwise similarities."""
    n = len(latent_similarity)
    groups = np.empty(n, dtype=np.int64)
    # per group: summed similarity of every post to the group's members, and the group's squared norm
    latent_dots = np.zeros((n, n), dtype=np.float64)
    lexical_dots = np.zeros((n, n), dtype=np.float64)
    latent_norm2 = np.zeros(n, dtype=np.float64)
    lexical_norm2 = np.zeros(n, dtype=np.float64)
    opened = 0
    for post in range(n):
        best = -1
        if opened:
            blend = semantic_weight * latent_dots[post, :opened] / np.sqrt(
                np.maximum(latent_norm2[:opened], 1e-12)
            ) + (1.0 - semantic_weight) * lexical_dots[post, :opened] / np.sqrt(
                np.maximum(lexical_norm2[:opened], 1e-12)
            )
            best = int(blend.argmax())
            if blend[best] < threshold:
                best = -1
        if best < 0:
            best, opened = opened, opened + 1
        latent_norm2[best] += 2.0 * latent_dots[post, best] + latent_similarity[post, post]
        lexical_norm2[best] += 2.0 * lexical_dots[post, best] + lexical_similarity[post, post]
        latent_dots[:, best] += latent_similarity[:, post]
        lexical_dots[:, best] += lexical_similarity[:, post]
        groups[post] = best
    return groups


def fringe_posts(similarity: np.ndarray, mean: np.ndarray, spread: np.ndarray, std: float) -> np.ndarray:
    """Posts whose similarity to the cluster that took them is ``std`` spreads or more below its members' mean
    (``mean`` and ``spread`` per post, of its cluster): taken, but less closely than nearly all its members.

    >>> fringe_posts(np.array([0.7, 0.4]), np.array([0.7, 0.7]), np.array([0.1, 0.1]), std=2.5).tolist()
    [False, True]
    """
    return similarity <= mean - std * spread


def without_thin_fringe_groups(groups: np.ndarray, fringe: np.ndarray, min_fringe_group: int) -> np.ndarray:
    """``groups`` with the fringe posts taken out of groups that would hold fringe posts only, fewer than
    ``min_fringe_group``, or the fringe post alone (they stay in the cluster that took them: -1); the other
    groups numbered again from 0, in their order.

    >>> groups = np.array([0, 0, 1, 2, 2, 2, 3])
    >>> fringe = np.array([True, True, True, True, True, True, False])
    >>> without_thin_fringe_groups(groups, fringe, 3).tolist()
    [-1, -1, -1, 0, 0, 0, 1]
    """
    opened = groups >= 0
    if not (fringe & opened).any():
        return groups
    group = np.maximum(groups, 0)
    sizes = np.bincount(groups[opened])
    others = np.bincount(groups[opened], weights=(~fringe[opened]).astype(np.float64), minlength=len(sizes))
    thin = (sizes == 1) | ((others == 0) & (sizes < min_fringe_group))
    groups = np.where(fringe & opened & thin[group], -1, groups)
    kept = groups >= 0
    groups[kept] = np.unique(groups[kept], return_inverse=True)[1]
    return groups
