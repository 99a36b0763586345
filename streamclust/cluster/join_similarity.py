"""The 'auto' join similarity: how similar a post must be to a cluster to join it, set from the warm-up posts.

It is ``join_fraction`` of the median blended similarity of each warm-up post to its ``NEIGHBOR``-th nearest
neighbour among them: a post joins a cluster when it is at least that share as close to it as a typical post
is to its near neighbours, whatever the scale of the stream's similarities.
"""

from __future__ import annotations

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
