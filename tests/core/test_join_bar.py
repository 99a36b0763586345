"""The join bar by size: a young cluster takes a post an established one of the same similarity would not."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from streamclust.cluster.join_similarity import JoinBar
from streamclust.cluster.settle import Candidates, Choice, settle
from streamclust.config import ClusterSettings
from streamclust.stages.clusters import Clusters

LENIENT = JoinBar(similarity=0.3, neighbour_similarity=0.5, leniency=2.0)


def test_the_bar_rises_with_the_members_towards_the_join_similarity() -> None:
    bars = LENIENT.of(np.array([1.0, 2.0, 5.0, 20.0, 10_000.0]))
    assert np.all(np.diff(bars) > 0)
    assert bars[0] == 0.15  # one member: the bar times rho / (rho + 1 - rho) = 0.5
    assert abs(bars[-1] - 0.3) < 1e-4


def test_a_decayed_count_below_one_is_held_at_the_bar_of_one_member() -> None:
    assert LENIENT.of(np.array([0.2]))[0] == LENIENT.of(np.array([1.0]))[0]


def test_no_leniency_is_one_bar_for_every_size() -> None:
    bar = JoinBar(similarity=0.3, neighbour_similarity=0.5, leniency=0.0)
    assert bar.of(np.array([1.0, 100.0])).tolist() == [0.3, 0.3]
    assert JoinBar.fixed(0.3).of(np.array([1.0, 100.0])).tolist() == [0.3, 0.3]
    assert JoinBar.fixed(LENIENT) is LENIENT


def clusters_with(counts: list[float], leniency: float) -> Clusters:
    settings = ClusterSettings(join_similarity=0.3, join_fraction=0.6, size_leniency=leniency)
    clusters = Clusters(settings, latent_dim=4, term_of=lambda column: None)
    clusters.table.add(
        np.eye(len(counts), 4, dtype=np.float32),
        np.array(counts),
        np.full(len(counts), 0.5),
        np.full(len(counts), 0.01),
        position=0,
        now=0.0,
    )
    return clusters


def test_a_young_cluster_takes_a_post_at_a_similarity_an_old_one_refuses() -> None:
    clusters = clusters_with([2.0, 500.0], leniency=2.0)
    rows, similarity = np.array([0, 1]), np.array([0.25, 0.25])
    assert clusters.accepts(rows, similarity).tolist() == [True, False]
    strict = clusters_with([2.0, 500.0], leniency=0.0)
    assert strict.accepts(rows, similarity).tolist() == [False, False]


def test_settling_moves_a_post_to_a_small_group_only_with_the_lower_bar() -> None:
    # post 0 opened a group of its own; the group of posts 1 and 2 is at cosine 0.25 from it: below 0.3, above
    # the bar of a group of two (0.2)
    latents = np.array([[1.0, 0.0], [0.25, np.sqrt(1 - 0.0625)], [0.25, np.sqrt(1 - 0.0625)]])
    first = Choice(rows=np.array([-1, -1, -1]), groups=np.array([0, 1, 1]))
    nothing = Candidates(
        np.zeros((3, 0), np.int64), np.zeros((3, 0)), np.zeros((3, 0)), np.zeros(0), np.zeros(0)
    )
    words = csr_matrix((3, 4))
    strict = settle(first, latents, words, nothing, 1.0, 0.3)
    lenient = settle(first, latents, words, nothing, 1.0, JoinBar(0.3, 0.5, 2.0))
    assert strict.groups.tolist() == [0, 1, 1]
    assert lenient.groups.tolist() == [0, 0, 0]
