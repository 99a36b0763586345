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


def settle_by_hand(
    first: Choice, latents: np.ndarray, near: Candidates, centroids: np.ndarray, threshold: float
) -> Choice:
    """One pass of settling written out post by post: each post's cosine to every option's members (without
    itself) plus, for an existing cluster, its ``count`` times its old centroid; the best move by gain wins."""
    rows, groups = first.rows.copy(), first.groups.copy()
    places = [("row", int(r)) for r in np.unique(rows[groups < 0])] + [
        ("group", int(g)) for g in np.unique(groups[groups >= 0])
    ]
    place_of = [("row", int(r)) if g < 0 else ("group", int(g)) for r, g in zip(rows, groups, strict=True)]
    scores = np.full((len(latents), len(places)), -np.inf)
    for i in range(len(latents)):
        for p, place in enumerate(places):
            members = [j for j in range(len(latents)) if place_of[j] == place and j != i]
            total = latents[members].sum(axis=0) if members else np.zeros(latents.shape[1])
            if place[0] == "row":
                k = np.flatnonzero(near.rows[i] == place[1])
                if len(k) == 0:
                    continue  # not among the post's candidates
                old_centroid = near.latent[i, k[0]]  # the post's cosine to it
                dot = latents[i] @ total + near.counts[place[1]] * old_centroid
                base = near.counts[place[1]] * centroids[place[1]]
                norm = np.linalg.norm(total + base)
            else:
                if not members:
                    continue
                dot, norm = latents[i] @ total, np.linalg.norm(total)
            scores[i, p] = dot / norm if norm > 1e-12 else 0.0
    own = np.array([places.index(place) for place in place_of])
    best = scores.argmax(axis=1)
    gain = scores[np.arange(len(own)), best] - scores[np.arange(len(own)), own]
    lost: set[int] = set()
    gained: set[int] = set()
    for i in np.argsort(-gain, kind="stable"):
        if best[i] == own[i] or scores[i, best[i]] < threshold or best[i] in lost or own[i] in gained:
            continue
        lost.add(int(own[i]))
        gained.add(int(best[i]))
        kind, value = places[best[i]]
        rows[i], groups[i] = (value, -1) if kind == "row" else (-1, value)
    return Choice(rows, renumber(groups))


def test_one_pass_is_the_post_by_post_computation_on_random_batches() -> None:
    generator = np.random.default_rng(7)
    moved = 0
    for _ in range(5):
        centroids = unit(generator.normal(size=(6, 5)).tolist())
        latents = unit(
            (centroids[generator.integers(0, 6, 40)] + 0.7 * generator.normal(size=(40, 5))).tolist()
        )
        counts = generator.integers(1, 30, 6).astype(float)
        similarity = latents @ centroids.T
        nearest = np.argsort(-similarity, axis=1)[:, :3]  # three candidates each
        near = Candidates(
            rows=nearest,
            latent=np.take_along_axis(similarity, nearest, axis=1),
            lexical=np.zeros((40, 3)),
            counts=counts,
            lexical_norms=np.zeros(6),
        )
        taken = similarity[np.arange(40), nearest[:, 0]] >= 0.5
        first = Choice(np.where(taken, nearest[:, 0], -1), np.where(taken, -1, np.cumsum(~taken) % 4))
        got = settle(first, latents, no_words(40), near, 1.0, 0.3, passes=1)
        expected = settle_by_hand(first, latents, near, centroids, 0.3)
        assert got.rows.tolist() == expected.rows.tolist()
        assert got.groups.tolist() == expected.groups.tolist()
        moved += int((got.rows != first.rows).sum())
    assert moved > 10  # the batches are not settled already
