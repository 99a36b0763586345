"""The 'auto' join similarity: how similar a post must be to a cluster to join it, set from the warm-up posts.

It is ``join_fraction`` of the median blended similarity of each warm-up post to its ``NEIGHBOR``-th nearest
neighbour among them: a post joins a cluster when it is at least that share as close to it as a typical post
is to its near neighbours, whatever the scale of the stream's similarities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamclust.cluster.lexical import LexicalProfiles
from streamclust.featurize.base import SparseRows

SAMPLE = 2_000  # warm-up posts whose neighbours set the join similarity
NEIGHBOR = 10  # ... through the similarity of each to its 10th nearest


def estimate_join_similarity(
    latents: np.ndarray,
    terms: SparseRows,
    lexical_half_life: int,
    semantic_weight: float,
    join_fraction: float,
) -> float:
    """The join similarity for posts with these unit ``latents`` and term counts (0.0 for fewer than 2)."""
    sample = np.arange(min(len(latents), SAMPLE))
    weighted = LexicalProfiles(terms.n_columns, lexical_half_life).weigh(terms.take(sample))
    blend = (
        semantic_weight * (latents[sample] @ latents[sample].T)
        + (1.0 - semantic_weight) * (weighted @ weighted.T).toarray()
    )
    np.fill_diagonal(blend, -np.inf)
    k = min(NEIGHBOR, len(sample) - 1)
    if k < 1:
        return 0.0
    kth = -np.partition(-blend, k - 1, axis=1)[:, k - 1]
    return float(join_fraction * np.median(kth))


@dataclass(frozen=True)
class JoinBar:
    """The similarity a cluster of ``n`` (decayed) members needs to take a post: ``similarity`` for an
    established cluster, lower for a young one.

    A post of a topic whose members lie at cosine ``R`` from the topic's mean is expected at about ``R**2`` from
    one member and about ``R`` from the mean of many: from the mean of ``n`` members, ``sqrt(n rho / (n rho + 1 -
    rho))`` of the large-``n`` value, with ``rho = R**2`` taken as the warm-up's neighbour similarity. One bar for
    every size is therefore strict with young clusters; ``leniency`` is the power of that factor applied to the
    bar (0: one bar for all).

    >>> bar = JoinBar(similarity=0.2, neighbour_similarity=0.4, leniency=2.0)
    >>> bar.of(np.array([1.0, 4.0, 1000.0])).round(3).tolist()
    [0.08, 0.145, 0.2]
    """

    similarity: float
    neighbour_similarity: float
    leniency: float = 0.0

    @classmethod
    def fixed(cls, threshold: float | JoinBar) -> JoinBar:
        """``threshold`` as a bar (a number: the same for every size)."""
        return threshold if isinstance(threshold, JoinBar) else cls(threshold, 1.0, 0.0)

    def of(self, counts: np.ndarray) -> np.ndarray:
        counts = np.asarray(counts, dtype=np.float64)
        if self.leniency == 0.0:
            return np.full(counts.shape, self.similarity)
        rho = min(max(self.neighbour_similarity, 1e-3), 1.0)
        n = np.maximum(counts, 1.0)
        return self.similarity * (n * rho / (n * rho + 1.0 - rho)) ** (self.leniency / 2.0)
