"""Settling a batch: each post moves to the cluster or new group it fits best as the batch leaves them."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from streamclust.cluster.settle import Candidates, Choice, renumber, settle


def unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def candidates_for(latents: np.ndarray, centroids: np.ndarray, counts: list[float]) -> Candidates:
    """Every existing cluster is every post's candidate; no lexical side."""
    n, k = len(latents), len(centroids)
    return Candidates(
        rows=np.tile(np.arange(k), (n, 1)),
        latent=latents @ centroids.T,
        lexical=np.zeros((n, k)),
        counts=np.array(counts),
        lexical_norms=np.zeros(k),
    )


def no_words(n: int) -> csr_matrix:
    return csr_matrix((n, 8))


def test_a_post_that_joined_an_old_cluster_moves_to_the_new_group_of_its_topic() -> None:
    old = unit([[1.0, 0.0, 0.0]])
    latents = unit([[0.6, 0.8, 0.0], [0.1, 1.0, 0.0], [0.0, 1.0, 0.1]])
    first = Choice(
        rows=np.array([0, -1, -1]), groups=np.array([-1, 0, 0])
    )  # post 0 passed 0.5 for the old one
    settled = settle(first, latents, no_words(3), candidates_for(latents, old, [50.0]), 1.0, 0.5)
    assert settled.rows.tolist() == [-1, -1, -1]
    assert settled.groups.tolist() == [0, 0, 0]


def test_a_misfit_joins_a_cluster_the_batch_moved_towards_it() -> None:
    old = unit([[1.0, 0.0]])  # a young cluster of 1 post
    angle = np.radians(50)
    latents = unit([[np.cos(angle), np.sin(angle)], [np.cos(angle), np.sin(angle)], [0.0, 1.0]])
    # posts 0 and 1 joined it (cosine 0.64 >= 0.4); post 2 (cosine 0) opened a group of its own, but the
    # cluster with posts 0 and 1 in it is at cosine 0.56 from post 2
    first = Choice(rows=np.array([0, 0, -1]), groups=np.array([-1, -1, 0]))
    settled = settle(first, latents, no_words(3), candidates_for(latents, old, [1.0]), 1.0, 0.4)
    assert settled.rows.tolist() == [0, 0, 0]
    assert settled.groups.tolist() == [-1, -1, -1]


def test_a_post_alone_in_its_group_stays_when_nothing_else_takes_it() -> None:
    old = unit([[1.0, 0.0]])
    latents = unit([[1.0, 0.1], [0.0, 1.0]])
    first = Choice(rows=np.array([0, -1]), groups=np.array([-1, 0]))
    settled = settle(first, latents, no_words(2), candidates_for(latents, old, [10.0]), 1.0, 0.5)
    assert settled.rows.tolist() == [0, -1]
    assert settled.groups.tolist() == [-1, 0]


def test_a_cluster_that_is_not_among_a_posts_candidates_is_never_its_option() -> None:
    # clusters 0 = (1, 0) and 1 = (0, 1), 10 posts each
    latents = unit([[1.0, 0.0], [0.0, 1.0], [0.1, 1.0]])
    near = Candidates(
        rows=np.array([[0], [1], [0]]),  # post 2 was only scored against cluster 0
        latent=np.array([[1.0], [1.0], [0.1]]),
        lexical=np.zeros((3, 1)),
        counts=np.array([10.0, 10.0]),
        lexical_norms=np.zeros(2),
    )
    first = Choice(rows=np.array([0, 1, -1]), groups=np.array([-1, -1, 0]))
    settled = settle(first, latents, no_words(3), near, 1.0, 0.5)
    assert settled.rows.tolist() == [0, 1, -1]
    assert settled.groups.tolist() == [-1, -1, 0]


def test_the_words_count_as_much_as_the_semantic_weight_says() -> None:
    old = unit([[1.0, 0.0]])
    latents = unit([[1.0, 0.2], [1.0, 0.2]])
    # post 0 shares the old cluster's word (column 1), post 1 has a word nobody else has (column 0)
    words = csr_matrix(np.array([[0.0, 1.0], [1.0, 0.0]]))
    near = Candidates(
        rows=np.array([[0], [0]]),
        latent=latents @ old.T,
        lexical=np.array([[1.0], [0.0]]),
        counts=np.array([100.0]),
        lexical_norms=np.array([1.0]),
    )
    first = Choice(rows=np.array([0, -1]), groups=np.array([-1, 0]))
    latent_only = settle(first, latents, words, near, 1.0, 0.6)
    assert latent_only.rows.tolist() == [0, 0]  # latent cosine 0.98 to the old cluster
    half_words = settle(first, latents, words, near, 0.5, 0.6)
    assert half_words.rows.tolist() == [0, -1]  # 0.5 * 0.98 + 0.5 * 0 < 0.6: its word keeps it apart


def test_two_identical_posts_do_not_trade_places() -> None:
    old = unit([[1.0, 0.0]])
    latents = unit([[1.0, 0.2], [1.0, 0.2]])
    first = Choice(rows=np.array([0, -1]), groups=np.array([-1, 0]))  # one joined, its twin opened a group
    for passes in (1, 2, 3):
        settled = settle(first, latents, no_words(2), candidates_for(latents, old, [100.0]), 1.0, 0.6)
        assert settled.rows.tolist() == [0, 0], passes


def test_groups_are_numbered_in_the_order_of_their_first_post() -> None:
    assert renumber(np.array([-1, 4, 2, 4, -1, 2, 7])).tolist() == [-1, 0, 1, 0, -1, 1, 2]
