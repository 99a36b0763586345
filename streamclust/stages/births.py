"""The births stage: new clusters from the posts of a batch that no cluster took, and the provisional ones
among them until they are confirmed.

Posts no cluster took are grouped in one pass (``cluster/births.py``); each group opens a cluster. So are the
posts on a big cluster's fringe (it took them, but far less closely than its members): a new topic that
arrives close to an old one would otherwise be taken by it, post by post, and never be found. A group of fringe
posts alone opens a cluster only when it is one post short of a confirmed topic; a fringe post the grouping
left alone stays where it was. A cluster born with fewer than ``min_cluster_size`` members is provisional: its
posts are labelled with it (as outliers) and their ids are kept, so that the ``created`` event that confirms
it can list them.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from streamclust.cluster.births import fringe_posts, group_posts, without_thin_fringe_groups
from streamclust.cluster.table import ClusterTable
from streamclust.config import NoveltySettings
from streamclust.encode.autoencoder import normalize
from streamclust.stages import Snapshot
from streamclust.stages.clusters import Clusters

Created = tuple[int, list[str]]  # a confirmed cluster's id and the posts it had while provisional


class Births:
    def __init__(
        self, novelty: NoveltySettings, semantic_weight: float = 0.5, spread_floor: float = 0.08
    ) -> None:
        self.novelty = novelty
        self.semantic_weight = semantic_weight
        self.spread_floor = spread_floor  # a cluster's similarity spread is taken as at least this
        self.provisional_members: dict[int, list[str]] = {}  # post ids of clusters not yet confirmed

    @property
    def min_cluster_size(self) -> int:
        return self.novelty.min_cluster_size

    def fringe(
        self, table: ClusterTable, rows: np.ndarray, latent_similarity: np.ndarray, accepted: np.ndarray
    ) -> np.ndarray:
        """Whether each post is on the fringe of the cluster that took it (``cluster/births.py``)."""
        novelty = self.novelty
        if novelty.fringe_std <= 0 or len(table) == 0:
            return np.zeros(len(rows), dtype=bool)
        row = np.maximum(rows, 0)
        big = accepted & table.confirmed[row] & (table.members[row] >= novelty.fringe_min_members)
        spread = np.sqrt(np.maximum(table.similarity_var[row], self.spread_floor**2))
        return big & fringe_posts(latent_similarity, table.similarity_mean[row], spread, novelty.fringe_std)

    def group_newcomers(
        self,
        latents: np.ndarray,
        weighted: csr_matrix,
        accepted: np.ndarray,
        similarities: np.ndarray,
        threshold: float,
        fringe: np.ndarray | None = None,
    ) -> np.ndarray:
        """The new group of each post that opens or joins a new cluster in this batch (-1: an existing one).

        Posts no cluster took, and those on a cluster's ``fringe``, are grouped in one pass
        (``births.group_posts``); groups of fringe posts alone that are too small to be a topic are dropped. A
        post an existing cluster took moves to a new group it is more similar to: within a batch, the posts of
        a topic that arrives with it must not scatter into older clusters only because theirs did not exist
        yet.
        """
        weight = self.semantic_weight
        if fringe is None:
            fringe = np.zeros(len(latents), dtype=bool)
        accepted = accepted & ~fringe
        misfits = np.flatnonzero(~accepted)
        misfit_latents, misfit_rows = latents[misfits], weighted[misfits]
        groups = np.full(len(latents), -1, dtype=np.int64)
        groups[misfits] = group_posts(
            # two copies, as before: numpy computes a @ a.T of one array by another BLAS routine (other roundings)
            misfit_latents @ latents[misfits].T,
            (misfit_rows @ misfit_rows.T).toarray(),
            weight,
            threshold,
        )
        groups = without_thin_fringe_groups(groups, fringe, self.min_cluster_size - 1)
        accepted = groups < 0
        if not (~accepted).any():
            return groups
        still = groups[misfits] >= 0  # the misfits not dropped with a thin fringe group
        misfits, misfit_latents, misfit_rows = misfits[still], misfit_latents[still], misfit_rows[still]
        taken = np.flatnonzero(accepted)
        if len(taken) == 0:
            return groups
        sums, lexical_sums = group_sums(misfit_latents, misfit_rows, groups[misfits])
        blend = weight * (latents[taken] @ normalize(sums).T) + (1.0 - weight) * cosine_to_sums(
            weighted[taken], lexical_sums
        )
        best = blend.argmax(axis=1)
        moves = blend[np.arange(len(taken)), best] > similarities[taken]
        groups[taken[moves]] = best[moves]
        return groups

    def joined(self, post_ids: list[str], cluster_ids: list[int]) -> None:
        """Posts that joined provisional clusters (in order)."""
        for post_id, cluster_id in zip(post_ids, cluster_ids, strict=True):
            self.provisional_members.setdefault(cluster_id, []).append(post_id)

    def open(
        self,
        clusters: Clusters,
        post_ids: list[str],
        latents: np.ndarray,
        weighted: csr_matrix,
        groups: np.ndarray,
        position: int,
        now: float,
    ) -> tuple[np.ndarray, np.ndarray, list[Created]]:
        """New clusters, one per group of posts: the posts' new cluster ids, their similarities to them, and
        the clusters born confirmed (with ``min_cluster_size`` members or more)."""
        weight = self.semantic_weight
        sums, lexical_sums = group_sums(latents, weighted, groups)
        sizes = np.bincount(groups).astype(np.float64)
        centroids = normalize(sums)
        latent_similarity = np.sum(latents * centroids[groups], axis=1)
        lexical_norms = np.sqrt(np.asarray(lexical_sums.multiply(lexical_sums).sum(axis=1)).ravel())
        lexical_dots = np.asarray(weighted.multiply(lexical_sums[groups]).sum(axis=1)).ravel()
        similarities = weight * latent_similarity + (1.0 - weight) * lexical_dots / np.maximum(
            lexical_norms[groups], 1e-12
        )
        means = np.bincount(groups, weights=latent_similarity) / sizes
        confirmed = sizes >= self.min_cluster_size
        new_ids = clusters.add(centroids, sizes, means, lexical_sums, confirmed, position, now)
        born: list[Created] = []
        for group, cluster_id in enumerate(new_ids.tolist()):
            members = [post_ids[i] for i in np.flatnonzero(groups == group).tolist()]
            if confirmed[group]:
                born.append((cluster_id, members))
            else:
                self.provisional_members[cluster_id] = members
        return new_ids[groups], similarities.astype(np.float32), born

    def confirm(self, table: ClusterTable, born: list[Created]) -> list[Created]:
        """The clusters born confirmed, then those that just reached ``min_cluster_size`` members."""
        ready = np.flatnonzero(~table.confirmed & (table.members >= self.min_cluster_size))
        created = list(born)
        for row in ready.tolist():
            table.confirmed[row] = True
            cluster_id = int(table.ids[row])
            created.append((cluster_id, self.provisional_members.pop(cluster_id, [])))
        return created

    def take(self, cluster_id: int) -> list[str] | None:
        """The members of a provisional cluster that is merged, confirmed or ended (None: it was not one)."""
        return self.provisional_members.pop(cluster_id, None)

    def keep(self, cluster_id: int, members: list[str]) -> None:
        self.provisional_members[cluster_id] = members

    def snapshot(self) -> Snapshot:
        return {
            "provisional_members": [
                [cluster_id, list(ids)] for cluster_id, ids in self.provisional_members.items()
            ]
        }

    def restore(self, snapshot: Snapshot) -> None:
        self.provisional_members = {
            int(cluster_id): [str(post_id) for post_id in ids]
            for cluster_id, ids in snapshot["provisional_members"]
        }


def group_sums(
    latents: np.ndarray, weighted: csr_matrix, groups: np.ndarray
) -> tuple[np.ndarray, csr_matrix]:
    """Per group (0 .. max): the sum of its posts' latents and of their weighted lexical rows."""
    n_groups = int(groups.max()) + 1
    one_hot = csr_matrix(
        (np.ones(len(groups), dtype=np.float32), (groups, np.arange(len(groups)))),
        shape=(n_groups, len(groups)),
    )
    return np.asarray(one_hot @ latents, dtype=np.float32), csr_matrix(one_hot @ weighted)


def cosine_to_sums(weighted: csr_matrix, sums: csr_matrix) -> np.ndarray:
    """Cosine of each weighted row to each summed row, dense [rows, sums]."""
    norms = np.sqrt(np.asarray(sums.multiply(sums).sum(axis=1)).ravel())
    return (weighted @ sums.T).toarray() / np.maximum(norms, 1e-12)[None, :]
