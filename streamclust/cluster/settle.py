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
candidates (the FAISS neighbours ``Clusters.nearest`` scored), whose similarity before the batch is known. So
each post has few options (its candidates the batch touched, and the batch's new groups), and a pass scores only
those: a gather of the local sums per post, not a product of the batch with every local cluster.

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
    preference: np.ndarray | None = None,
) -> Choice:
    """The batch's choice after up to ``passes`` rounds of moving each post to its best cluster or group;
    groups numbered again from 0 in order of their first post. ``preference`` (per cluster row, as
    ``Clusters.size_preference``) is added to a cluster's similarity where the cluster takes the post.

    The local clusters are those of the first choice (a group may end empty, a touched cluster may keep no
    batch post): the touched rows first, then the opened groups."""
    latents = np.ascontiguousarray(latents, dtype=np.float32)
    bar = JoinBar.fixed(threshold)
    rows, groups = choice.rows.copy(), choice.groups.copy()
    touched, opened = np.unique(rows[groups < 0]), np.unique(groups[groups >= 0])
    n_touched, n_local = len(touched), len(touched) + len(opened)
    options = Options.of(candidates, touched, n_local)
    latent_side = Channel(latents, options, candidates.latent, candidates.counts[touched])
    lexical_side = Channel(
        weighted,
        options,
        candidates.lexical * candidates.lexical_norms[candidates.rows],
        np.ones(n_touched),
        candidates.lexical_norms[touched],
    )
    changed: np.ndarray | None = None  # local clusters whose posts changed in the last pass (None: all)
    for _ in range(passes):
        own = local_index(rows, groups, touched, opened)
        own_slot = options.slot_of(own)
        members = membership(own, n_local)
        latent_side.refresh(members, changed)
        lexical_side.refresh(members, changed)
        latent = latent_side.leave_one_out_cosine(own, own_slot)
        lexical = lexical_side.leave_one_out_cosine(own, own_slot)
        blend = semantic_weight * latent + (1.0 - semantic_weight) * lexical
        blend[~options.allowed(own, own_slot)] = NOT_AN_OPTION
        sizes = np.bincount(own, minlength=n_local).astype(np.float64)
        sizes[:n_touched] += candidates.counts[touched]
        if preference is not None:
            blend = blend + preferred(blend, options.local, preference[touched], bar.of(sizes))
        best_slot = first_best_slot(blend, options.local)
        best = options.local[np.arange(len(own)), best_slot]
        best_similarity = blend[np.arange(len(own)), best_slot]
        own_similarity = blend[np.arange(len(own)), own_slot]
        moves = compatible_moves(best_similarity, own_similarity, best, own, bar.of(sizes))
        if not moves.any():
            break
        changed = np.unique(np.concatenate([own[moves], best[moves]]))
        to_cluster = moves & (best < n_touched)
        to_group = moves & (best >= n_touched)
        rows[to_cluster], groups[to_cluster] = touched[best[to_cluster]], -1
        rows[to_group], groups[to_group] = -1, opened[best[to_group] - n_touched]
    return Choice(rows, renumber(groups))


@dataclass(frozen=True)
class Options:
    """Each post's options as slots: its candidate rows (``local`` is the touched cluster's local index, -1 when
    the batch did not touch it), then every opened group (local ``n_touched ..``), [posts, candidates + groups]."""

    local: np.ndarray
    n_candidates: int
    n_touched: int

    @classmethod
    def of(cls, candidates: Candidates, touched: np.ndarray, n_local: int) -> Options:
        n, k = candidates.rows.shape
        local_of_row = np.full(
            max(int(candidates.rows.max(initial=-1)), int(touched.max(initial=-1))) + 1, -1
        )
        local_of_row[touched] = np.arange(len(touched))
        local = np.empty((n, k + n_local - len(touched)), dtype=np.int64)
        local[:, :k] = local_of_row[candidates.rows]
        local[:, k:] = np.arange(len(touched), n_local)[None, :]
        return cls(local, k, len(touched))

    def slot_of(self, own: np.ndarray) -> np.ndarray:
        """The slot holding each post's own local cluster (always one of its options)."""
        hit = self.local == own[:, None]
        return hit.argmax(axis=1)

    def allowed(self, own: np.ndarray, own_slot: np.ndarray) -> np.ndarray:
        """Valid slots: touched candidates, and opened groups holding a post other than the one scored."""
        sizes = np.bincount(own, minlength=self.n_touched + self.local.shape[1] - self.n_candidates)
        allowed = self.local >= 0
        allowed[:, self.n_candidates :] &= (sizes[self.n_touched :] > 0)[None, :]
        alone = np.flatnonzero((own >= self.n_touched) & (sizes[own] == 1))
        allowed[alone, own_slot[alone]] = False
        return allowed


class Channel:
    """One channel of the similarity (latents, or TF-IDF rows): each local cluster's sum of the batch's posts in
    it, each post's dot with every such sum, and what is known of the touched clusters from before the batch.

    A touched cluster ``t`` has a base from before the batch, ``weights[t] * base[t]`` with ``|base| =
    norms_before`` (1 when None): ``dots_before[i, k]`` is post ``i``'s dot with the base of its ``k``-th
    candidate.
    """

    def __init__(
        self,
        vectors: np.ndarray | csr_matrix,
        options: Options,
        dots_before: np.ndarray,
        weights: np.ndarray,
        norms_before: np.ndarray | None = None,
    ) -> None:
        self.vectors, self.options = vectors, options
        k = options.n_candidates
        self.safe = np.maximum(options.local, 0)
        self.touched_slot = options.local[:, :k] >= 0
        self.base = np.zeros(options.local.shape)
        # per candidate slot, its touched cluster, or one past them (the padding) where the batch did not touch it
        self.candidate_touched = np.where(self.touched_slot, options.local[:, :k], options.n_touched)
        padded_weights = np.append(weights, 0.0)
        self.base[:, :k] = np.where(
            self.touched_slot, dots_before * padded_weights[self.candidate_touched], 0.0
        )
        self.base_norms = weights if norms_before is None else weights * norms_before
        self.self_dots = squared_norms(vectors)
        self.every = np.zeros((options.local.shape[0], 0))  # [posts, local clusters]: dot with each sum
        self.squared_sums = np.zeros(0)

    def refresh(self, members: csr_matrix, changed: np.ndarray | None) -> None:
        """The sums of the local clusters in ``changed`` (None: all) made again from ``members``."""
        if changed is None:
            self.every, self.squared_sums = self._dots_and_norms(members)
        elif len(changed):
            self.every[:, changed], self.squared_sums[changed] = self._dots_and_norms(members[changed])

    def _dots_and_norms(self, members: csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        vectors = self.vectors
        if isinstance(vectors, np.ndarray):
            sums = np.asarray(members @ vectors, dtype=np.float32)
            return np.asarray(vectors @ sums.T, dtype=np.float64), squared_norms(sums)
        sparse_sums = csr_matrix(members @ vectors)
        return np.asarray((vectors @ sparse_sums.T).toarray(), dtype=np.float64), squared_norms(sparse_sums)

    def leave_one_out_cosine(self, own: np.ndarray, own_slot: np.ndarray) -> np.ndarray:
        """Cosine of each post to each of its option slots as the batch leaves them, without the post itself."""
        options, safe = self.options, self.safe
        k, n_touched = options.n_candidates, options.n_touched
        posts = np.arange(len(own))
        dots = np.take_along_axis(self.every, safe, axis=1) + self.base
        norms2 = self.squared_sums[safe]
        in_touched = own < n_touched
        base_of_members = np.bincount(
            own[in_touched], weights=self.base[posts[in_touched], own_slot[in_touched]], minlength=n_touched
        )[:n_touched]
        norms2[:, :k] += np.where(
            self.touched_slot,
            np.append(self.base_norms**2 + 2.0 * base_of_members, 0.0)[self.candidate_touched],
            0.0,
        )
        norms2[posts, own_slot] += self.self_dots - 2.0 * dots[posts, own_slot]
        dots[posts, own_slot] -= self.self_dots
        return np.where(norms2 > 1e-12, dots / np.sqrt(np.maximum(norms2, 1e-12)), 0.0)


def squared_norms(vectors: np.ndarray | csr_matrix) -> np.ndarray:
    if isinstance(vectors, np.ndarray):
        return np.einsum("nd,nd->n", vectors, vectors, dtype=np.float64)
    per_row = np.diff(vectors.indptr)
    squares = np.asarray(vectors.data, dtype=np.float64) ** 2
    rows = np.repeat(np.arange(vectors.shape[0]), per_row)
    return np.bincount(rows, weights=squares, minlength=vectors.shape[0]).astype(np.float64)


def first_best_slot(blend: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Each post's best slot; among equal bests the lowest local cluster (the touched rows, in row order, then
    the groups), whatever order the slots are in."""
    best = blend.max(axis=1, keepdims=True)
    tied = np.where((blend == best) & (local >= 0), local, np.iinfo(np.int64).max)
    return tied.argmin(axis=1)


def preferred(blend: np.ndarray, local: np.ndarray, preference: np.ndarray, bars: np.ndarray) -> np.ndarray:
    """The preference of each post's option (``preference`` per touched cluster, none for a new group) where
    that option takes the post."""
    bonus = np.concatenate([preference, np.zeros(len(bars) - len(preference))])
    slot = np.maximum(local, 0)
    return np.where((local >= 0) & (blend >= bars[slot]), bonus[slot], 0.0)


def compatible_moves(
    best_similarity: np.ndarray,
    own_similarity: np.ndarray,
    best: np.ndarray,
    own: np.ndarray,
    bars: np.ndarray,
) -> np.ndarray:
    """Which posts move to their best option (local cluster ``best``) this pass: it takes them (at least its
    entry of ``bars``, the join bar of each local cluster at its size) and beats their own cluster; by largest
    gain first, a move is left for the next pass when its destination lost a post or its source gained one in
    this pass. Moves decided together must not swap two posts that each looked at the other's old place
    (identical posts would trade places for ever)."""
    n = len(own)
    wanted = np.flatnonzero((best_similarity >= bars[best]) & (best != own))
    moves = np.zeros(n, dtype=bool)
    if len(wanted) == 0:
        return moves
    gain = best_similarity[wanted] - own_similarity[wanted]
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


def membership(local: np.ndarray, n_local: int) -> csr_matrix:
    """One row per local cluster, one column per post: 1 where post ``k`` is in ``local[k]``."""
    counts = np.bincount(local, minlength=n_local)
    indptr = np.concatenate([[0], np.cumsum(counts)])
    posts = np.argsort(local, kind="stable")
    ones = np.ones(len(local), dtype=np.float32)
    return csr_matrix((ones, posts, indptr), shape=(n_local, len(local)))


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
