"""Broad topics: a big cluster whose members form one broad mode keeps the posts of its facets that a smaller
cluster fits about as well; a cluster of several tight topics side by side gets no such preference."""

from __future__ import annotations

import doctest

import numpy as np
from scipy.sparse import csr_matrix

import streamclust.cluster.broad_topics
import streamclust.cluster.shape
from streamclust.cluster.broad_topics import MEASURE_EVERY, MIN_RECENT_MEMBERS, BroadTopics
from streamclust.cluster.lexical import LexicalProfiles
from streamclust.cluster.settle import Candidates, Choice, settle
from streamclust.cluster.shape import split_ratio
from streamclust.config import ClusterSettings
from streamclust.stages.clusters import Clusters

DIM = 64  # wide enough that one broad mode's spread is not along any one axis, as in the engine


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def one_broad_topic(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(np.eye(DIM)[0] + 0.2 * rng.standard_normal((n, DIM)))


def two_tight_topics(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.repeat(np.eye(DIM)[[1, 2]], n // 2, axis=0)
    return unit(centres + 0.15 * rng.standard_normal((n, DIM)))


def test_the_examples_in_the_docstrings_hold() -> None:
    for module in (streamclust.cluster.shape, streamclust.cluster.broad_topics):
        assert doctest.testmod(module).failed == 0


def test_one_broad_mode_splits_far_less_well_than_two_tight_topics() -> None:
    broad, tight = split_ratio(one_broad_topic(120)), split_ratio(two_tight_topics(120))
    assert broad < 0.35 < tight


def test_the_split_ratio_does_not_depend_on_the_order_of_the_members() -> None:
    members = two_tight_topics(80, seed=3)
    shuffled = members[np.random.default_rng(1).permutation(len(members))]
    assert abs(split_ratio(members) - split_ratio(shuffled)) < 1e-9


def test_fewer_than_two_members_have_no_ratio() -> None:
    assert np.isnan(split_ratio(one_broad_topic(1)))


def ring_with(clusters: dict[int, np.ndarray], capacity: int = 4_000) -> BroadTopics:
    broad = BroadTopics(dim=DIM, broad_ratio=0.35, capacity=capacity)
    for cluster_id, latents in clusters.items():
        broad.remember(latents, np.full(len(latents), cluster_id))
    return broad


def test_a_cluster_is_measured_once_it_has_enough_recent_members() -> None:
    broad = ring_with({1: one_broad_topic(100), 2: two_tight_topics(MIN_RECENT_MEMBERS - 2)})
    broad.measure_if_due(position=1_000, live_ids=np.array([1, 2]))
    assert broad.ratio_of(1) is not None
    assert broad.ratio_of(2) is None, "too few posts in the ring yet"
    assert broad.is_broad(np.array([1, 2])).tolist() == [True, False]


def test_several_tight_topics_side_by_side_are_not_a_broad_topic() -> None:
    broad = ring_with({5: two_tight_topics(100)})
    broad.measure_if_due(position=1_000, live_ids=np.array([5]))
    ratio = broad.ratio_of(5)
    assert ratio is not None and ratio > 0.35
    assert not broad.is_broad(np.array([5]))[0]


def test_a_broad_cluster_among_tight_topics_is_not_taken_for_a_broad_topic() -> None:
    # one cluster that splits poorly, three that split well and hold most of the ring's posts
    tight = {cluster_id: two_tight_topics(100, seed=cluster_id) for cluster_id in (2, 3, 4)}
    broad = ring_with({1: one_broad_topic(100), **tight})
    broad.measure_if_due(position=1_000, live_ids=np.array([1, 2, 3, 4]))
    ratio = broad.ratio_of(1)
    assert ratio is not None and ratio < 0.35
    assert broad.broad_share == 0.25
    assert not broad.is_broad(np.array([1, 2, 3, 4])).any()


def test_clusters_are_measured_again_only_every_so_many_posts() -> None:
    broad = ring_with({1: one_broad_topic(60)})
    broad.measure_if_due(position=1_000, live_ids=np.array([1]))
    broad.remember(two_tight_topics(MIN_RECENT_MEMBERS), np.full(MIN_RECENT_MEMBERS, 2))
    broad.measure_if_due(position=1_000 + MEASURE_EVERY - 1, live_ids=np.array([1, 2]))
    assert broad.ratio_of(2) is None
    broad.measure_if_due(position=1_000 + MEASURE_EVERY, live_ids=np.array([1, 2]))
    assert broad.ratio_of(2) is not None


def test_only_the_latest_posts_count_and_gone_clusters_are_forgotten() -> None:
    broad = ring_with({1: one_broad_topic(60), 2: two_tight_topics(100)}, capacity=100)
    broad.measure_if_due(position=1_000, live_ids=np.array([1, 2]))
    assert broad.ratio_of(1) is None, "cluster 1's posts were overwritten by cluster 2's"
    broad.measure_if_due(position=1_000 + MEASURE_EVERY, live_ids=np.array([1]))
    assert broad.ratio_of(2) is None, "cluster 2 is no longer live (merged or retired)"


def test_after_a_swap_the_ratios_stay_until_the_ring_fills_again() -> None:
    broad = ring_with({1: one_broad_topic(60)})
    broad.measure_if_due(position=1_000, live_ids=np.array([1]))
    before = broad.ratio_of(1)
    broad.forget_latents()
    broad.measure_if_due(position=1_000 + MEASURE_EVERY, live_ids=np.array([1]))
    assert broad.ratio_of(1) == before


def test_a_snapshot_restores_the_same_ring_and_ratios() -> None:
    broad = ring_with({1: one_broad_topic(60), 2: two_tight_topics(60)})
    broad.measure_if_due(position=1_000, live_ids=np.array([1, 2]))
    restored = BroadTopics(dim=DIM, broad_ratio=0.35)
    restored.restore(broad.snapshot())
    assert restored.ratios == broad.ratios and restored.measured_at == broad.measured_at
    assert np.array_equal(restored.latents, broad.latents)
    assert np.array_equal(restored.cluster_ids, broad.cluster_ids)
    assert restored.written == broad.written and restored.last_pass == broad.last_pass


# -- the preference in assignment -------------------------------------------------------------------------


def facet_and_topics(size_prior: float, broad: bool) -> Clusters:
    """A big cluster (1,000 members) along the first axis and a small one (20) along the second; the big one
    measured as a broad topic or not."""
    settings = ClusterSettings(
        join_similarity=0.3, semantic_weight=1.0, size_leniency=0.0, size_prior=size_prior
    )
    clusters = Clusters(settings, latent_dim=DIM, term_of=lambda column: None)
    clusters.lexical = LexicalProfiles(4, 1_000)
    clusters.table.add(
        np.eye(2, DIM, dtype=np.float32),
        np.array([1_000.0, 20.0]),
        np.full(2, 0.5),
        np.full(2, 0.01),
        position=0,
        now=0.0,
    )
    clusters.lexical.append(csr_matrix((2, 4)))
    clusters.index.refresh(clusters.table.centroids, structure_changed=True)
    clusters.broad.ratios = {0: 0.2 if broad else 0.8}
    clusters.broad.measured_at = {0: 0}
    clusters.broad.broad_ids = np.array([0] if broad else [], dtype=np.int64)
    clusters.broad.broad_share = 1.0 if broad else 0.0
    return clusters


def between(weight_on_small: float) -> np.ndarray:
    """A post between the two clusters, a little closer to the small one."""
    return unit(np.array([[1.0, weight_on_small] + [0.0] * (DIM - 2)]))


def test_a_post_both_take_goes_to_the_big_broad_topic() -> None:
    post, words = between(1.2), csr_matrix((1, 4))
    assert facet_and_topics(0.25, broad=True).nearest(post, words).rows.tolist() == [0]
    assert facet_and_topics(0.0, broad=True).nearest(post, words).rows.tolist() == [1], (
        "no prior: the nearest"
    )
    assert facet_and_topics(0.25, broad=False).nearest(post, words).rows.tolist() == [1], (
        "not one broad topic"
    )


def test_the_preference_only_counts_among_clusters_that_take_the_post() -> None:
    # far from the big cluster (cosine 0.2, below the bar of 0.3): the small one takes it, whatever the sizes
    post = between(4.9)
    nearest = facet_and_topics(0.25, broad=True).nearest(post, csr_matrix((1, 4)))
    assert nearest.rows.tolist() == [1]
    assert abs(float(nearest.similarities[0]) - float(post[0, 1])) < 1e-6, "the similarity is the plain one"


def test_settling_keeps_the_preference() -> None:
    # two posts between a big broad topic (row 0) and a small cluster (row 1) that each took one of them
    latents = np.vstack([between(1.2), between(1.1)])
    centroids = np.eye(2, DIM)
    near = Candidates(
        rows=np.tile([0, 1], (2, 1)),
        latent=latents @ centroids.T,
        lexical=np.zeros((2, 2)),
        counts=np.array([1_000.0, 20.0]),
        lexical_norms=np.zeros(2),
    )
    first = Choice(rows=np.array([0, 1]), groups=np.array([-1, -1]))
    plain = settle(first, latents, csr_matrix((2, 4)), near, 1.0, 0.3)
    preferred = settle(first, latents, csr_matrix((2, 4)), near, 1.0, 0.3, preference=np.array([0.5, 0.0]))
    assert plain.rows.tolist() == [1, 1]
    assert preferred.rows.tolist() == [0, 0]
