"""A batch's assignment settled against the clusters as the batch itself leaves them.

Each post of a batch is first compared with the clusters as they were before the batch, and the posts none
took are grouped into new clusters (``cluster/births.py``). Within a batch that is not what a post-by-post
clusterer would see: when a topic arrives, the clusters the batch's posts join and the groups they open move
with every one of its posts, and a post compared with where a young cluster *was* may miss it, open a
duplicate, or stay in an older cluster. Settling is a local k-means over the batch: every post is scored
against the clusters the batch touched and the groups it opened, as the batch leaves them (with the post's own
contribution taken out), and moves to the most similar one if that one takes it (similarity at least the join
bar of its size, ``JoinBar``; a number is the same bar for every size). A post whose best is below it keeps its
place.

Similarities are the engine's blend, ``semantic_weight * latent cosine + (1 - semantic_weight) * lexical
cosine``, computed from sums: a cluster is ``count * centroid + the latents of the batch's posts in it`` and
``profile + their TF-IDF rows``, which is what the centroid update (``cluster/centroids.py``, rate ``m / n``)
and the profile update will make of it. An existing cluster is only a post's option when it is among the post's
candidates (the FAISS neighbours ``Clusters.nearest`` scored), whose similarity before the batch is known; a
pass costs one product of the batch with the sums of its local clusters, not a search.

>>> import numpy as np
>>> from scipy.sparse import csr_matrix
>>> # two posts of one topic: the first joined an old cluster of 1 member, the second opened a group
>>> latents = np.array([[1.0, 0.0], [0.8, 0.6]])
>>> nothing = csr_matrix((2, 4))
>>> near = Candidates(
...     rows=np.array([[0], [0]]), latent=np.array([[0.6], [0.0]]), lexical=np.zeros((2, 1)),
...     counts=np.array([1.0]), lexical_norms=np.zeros(1),
... )
>>> settled = settle(Choice(np.array([0, -1]), np.array([-1, 0])), latents, nothing, near, 1.0, 0.5)
>>> settled.rows.tolist(), settled.groups.tolist()
([-1, -1], [0, 0])

Post 0 had joined the old cluster (cosine 0.6, enough before the batch); against the second post's group
(cosine 0.8) it fits better, so it moves there and both open one new cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from streamclust.cluster.join_similarity import JoinBar

NOT_AN_OPTION = -np.inf


@dataclass(frozen=True)
class Choice:
    """Where each post of a batch goes: an existing cluster's row, or a new group (the other one is -1)."""

    rows: np.ndarray
    groups: np.ndarray


@dataclass(frozen=True)
class Candidates:
    """Each post's candidate clusters and its similarities to them before the batch.

    ``latent[i, k]`` is the cosine of post ``i`` to the centroid of row ``rows[i, k]``, ``lexical[i, k]`` the
    cosine of its TF-IDF row to that cluster's profile; ``counts`` and ``lexical_norms`` are per cluster row.
    """

    rows: np.ndarray
    latent: np.ndarray
    lexical: np.ndarray
    counts: np.ndarray
    lexical_norms: np.ndarray


def settle(
    choice: Choice,
    latents: np.ndarray,
    weighted: csr_matrix,
    candidates: Candidates,
    semantic_weight: float,
    threshold: float | JoinBar,
    passes: int = 2,
) -> Choice:
    """The batch's choice after up to ``passes`` rounds of moving each post to its best cluster or group;
    groups numbered again from 0 in order of their first post.

    The local clusters are those of the first choice (a group may end empty, a touched cluster may keep no
    batch post). Each post's dots with the local clusters' batch sums are computed once; after a pass only the
    columns of the clusters that gained or lost a post are brought up to date."""
    latents = np.ascontiguousarray(latents, dtype=np.float32)
    rows, groups = choice.rows.copy(), choice.groups.copy()
    touched, opened = np.unique(rows[groups < 0]), np.unique(groups[groups >= 0])
    n_local = len(touched) + len(opened)
    before_latent, before_lexical = similarities_before(candidates, touched)
    before_lexical_dots = before_lexical * candidates.lexical_norms[touched]
    latent_side = BatchSums(latents, local_index(rows, groups, touched, opened), n_local)
    lexical_side = BatchSums(weighted, local_index(rows, groups, touched, opened), n_local)
    for _ in range(passes):
        own = local_index(rows, groups, touched, opened)
        latent = leave_one_out_cosine(latent_side, own, before_latent, candidates.counts[touched])
        lexical = leave_one_out_cosine(
            lexical_side,
            own,
            before_lexical_dots,
            np.ones(len(touched)),
            candidates.lexical_norms[touched],
        )
        blend = semantic_weight * latent + (1.0 - semantic_weight) * lexical
        blend[~options(own, before_latent, n_local)] = NOT_AN_OPTION
        sizes = np.bincount(own, minlength=n_local).astype(np.float64)
        sizes[: len(touched)] += candidates.counts[touched]
        moves = compatible_moves(blend, own, JoinBar.fixed(threshold).of(sizes))
        if not moves.any():
            break
        best = blend.argmax(axis=1)
        moved = np.flatnonzero(moves)
        latent_side.move(moved, own[moved], best[moved])
        lexical_side.move(moved, own[moved], best[moved])
        to_cluster = moves & (best < len(touched))
        to_group = moves & (best >= len(touched))
        rows[to_cluster], groups[to_cluster] = touched[best[to_cluster]], -1
        rows[to_group], groups[to_group] = -1, opened[best[to_group] - len(touched)]
    return Choice(rows, renumber(groups))


class BatchSums:
    """Per local cluster, the squared norm of the sum of the batch's posts in it (one channel: latents or TF-IDF
    rows), and each post's dot with every such sum, kept up to date as posts move."""

    def __init__(self, vectors: np.ndarray | csr_matrix, own: np.ndarray, n_local: int) -> None:
        self.vectors = vectors
        sums = self._product(membership(own, n_local, +1), vectors)
        self.dots = self._dots(sums)
        self.squared_sums = squared_norms(sums)
        self.self_dots = squared_norms(vectors)

    def move(self, posts: np.ndarray, sources: np.ndarray, destinations: np.ndarray) -> None:
        """Posts leave their sources for their destinations: ``|S + D|^2 = |S|^2 + 2 S.D + |D|^2``, where each
        ``S.D`` is a sum of the moving posts' dots with ``S``."""
        n_posts, n_local = self.dots.shape
        change = membership(destinations, n_local, +1, posts, n_posts)
        change = csr_matrix(change + membership(sources, n_local, -1, posts, n_posts))
        changed = np.unique(np.concatenate([sources, destinations]))
        change = csr_matrix(change[changed])
        delta = self._product(change, self.vectors)
        sum_dot_delta = np.asarray(change.multiply(self.dots[:, changed].T).sum(axis=1)).ravel()
        self.squared_sums[changed] += 2.0 * sum_dot_delta + squared_norms(delta)
        self.dots[:, changed] += self._dots(delta)

    @staticmethod
    def _product(members: csr_matrix, vectors: np.ndarray | csr_matrix) -> np.ndarray | csr_matrix:
        if isinstance(vectors, np.ndarray):
            return np.asarray(members @ vectors, dtype=np.float32)
        return csr_matrix(members @ vectors)

    def _dots(self, sums: np.ndarray | csr_matrix) -> np.ndarray:
        if isinstance(sums, np.ndarray):
            return np.asarray(self.vectors @ sums.T, dtype=np.float64)
        return np.asarray((self.vectors @ sums.T).toarray(), dtype=np.float64)


def squared_norms(vectors: np.ndarray | csr_matrix) -> np.ndarray:
    if isinstance(vectors, np.ndarray):
        return np.einsum("nd,nd->n", vectors, vectors).astype(np.float64)
    return np.asarray(vectors.multiply(vectors).sum(axis=1), dtype=np.float64).ravel()


def compatible_moves(blend: np.ndarray, own: np.ndarray, bars: np.ndarray) -> np.ndarray:
    """Which posts move to their best option this pass: it takes them (at least its entry of ``bars``, the join
    bar of each local cluster at its size) and beats their own cluster; by largest gain first, a move is left for
    the next pass when its destination lost a post or its source gained one in this pass. Moves decided together
    must not swap two posts that each looked at the other's old place (identical posts would trade places for
    ever)."""
    n = len(own)
    best = blend.argmax(axis=1)
    best_similarity = blend[np.arange(n), best]
    wanted = np.flatnonzero((best_similarity >= bars[best]) & (best != own))
    moves = np.zeros(n, dtype=bool)
    if len(wanted) == 0:
        return moves
    gain = best_similarity[wanted] - blend[wanted, own[wanted]]
    lost: set[int] = set()
    gained: set[int] = set()
    for post in wanted[np.argsort(-gain, kind="stable")].tolist():
        source, destination = int(own[post]), int(best[post])
        if destination in lost or source in gained:
            continue
        moves[post] = True
        lost.add(source)
        gained.add(destination)
    return moves


def local_index(rows: np.ndarray, groups: np.ndarray, touched: np.ndarray, opened: np.ndarray) -> np.ndarray:
    """Each post's own cluster among the batch's local ones: the touched rows first, then the opened groups."""
    in_row = groups < 0
    own = np.empty(len(rows), dtype=np.int64)
    own[in_row] = np.searchsorted(touched, rows[in_row])
    own[~in_row] = len(touched) + np.searchsorted(opened, groups[~in_row])
    return own


def similarities_before(candidates: Candidates, touched: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each post's latent and lexical cosines to the touched clusters before the batch, [posts, touched];
    ``NOT_AN_OPTION`` where a touched cluster is not among the post's candidates."""
    n, k = candidates.rows.shape
    latent = np.full((n, len(touched)), NOT_AN_OPTION)
    lexical = np.zeros((n, len(touched)))
    if len(touched) == 0:
        return latent, lexical
    position = np.searchsorted(touched, candidates.rows)
    found = (position < len(touched)) & (touched[np.minimum(position, len(touched) - 1)] == candidates.rows)
    post = np.repeat(np.arange(n), k).reshape(n, k)
    latent[post[found], position[found]] = candidates.latent[found]
    lexical[post[found], position[found]] = candidates.lexical[found]
    return latent, lexical


def membership(
    local: np.ndarray,
    n_local: int,
    sign: float,
    posts: np.ndarray | None = None,
    n_posts: int | None = None,
) -> csr_matrix:
    """One row per local cluster, one column per post: ``sign`` where post ``posts[k]`` is in ``local[k]``."""
    posts = np.arange(len(local)) if posts is None else posts
    n_posts = len(local) if n_posts is None else n_posts
    return csr_matrix((np.full(len(local), sign, dtype=np.float32), (local, posts)), shape=(n_local, n_posts))


def leave_one_out_cosine(
    side: BatchSums,
    own: np.ndarray,
    dots_before: np.ndarray,
    weights: np.ndarray,
    norms_before: np.ndarray | None = None,
) -> np.ndarray:
    """Cosine of each post to each local cluster as the batch leaves it, without the post itself, [posts, local].

    A local cluster is the sum of the batch's posts in it (``side``); a touched cluster ``t`` also has a base
    from before the batch, ``weights[t] * base[t]`` with ``|base| = norms_before`` (1 when None):
    ``dots_before[i, t]`` is post ``i``'s dot with ``base[t]``, -inf where it is not known.
    """
    n, n_touched = dots_before.shape
    rows = np.arange(n)
    base = np.where(np.isfinite(dots_before), dots_before, 0.0) * weights
    dots = side.dots.copy()
    dots[:, :n_touched] += base
    norms2 = np.repeat(side.squared_sums[None, :], n, axis=0)
    in_touched = np.flatnonzero(own < n_touched)
    base_of_members = np.bincount(
        own[in_touched], weights=base[in_touched, own[in_touched]], minlength=n_touched
    )[:n_touched]
    base_norms = weights if norms_before is None else weights * norms_before
    norms2[:, :n_touched] += base_norms**2 + 2.0 * base_of_members
    norms2[rows, own] += side.self_dots - 2.0 * dots[rows, own]
    dots[rows, own] -= side.self_dots
    return np.where(norms2 > 1e-12, dots / np.sqrt(np.maximum(norms2, 1e-12)), 0.0)


def options(own: np.ndarray, latent_before: np.ndarray, n_local: int) -> np.ndarray:
    """Which local clusters each post may move to, [posts, local]: the touched ones among its candidates, and
    every opened group that holds a post other than itself."""
    n, n_touched = latent_before.shape
    sizes = np.bincount(own, minlength=n_local)
    allowed = np.repeat((sizes > 0)[None, :], n, axis=0)
    allowed[:, :n_touched] = np.isfinite(latent_before)
    alone = np.flatnonzero((own >= n_touched) & (sizes[own] == 1))
    allowed[alone, own[alone]] = False
    return allowed


def renumber(groups: np.ndarray) -> np.ndarray:
    """Groups numbered 0, 1, ... in the order of their first post (-1 stays -1)."""
    numbered = groups.copy()
    present = groups >= 0
    if not present.any():
        return numbered
    values, first = np.unique(groups[present], return_index=True)
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(values))
    numbered[present] = rank[np.searchsorted(values, groups[present])]
    return numbered
