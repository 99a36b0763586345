"""A new topic that arrives close to a big old cluster: the cluster takes its posts, but only at its fringe (far
less closely than its members), and fringe posts like one another open a cluster of their own."""

from __future__ import annotations

import doctest

import numpy as np
from scipy.sparse import csr_matrix

import streamclust.cluster.births
from streamclust.cluster.table import ClusterTable
from streamclust.config import NoveltySettings
from streamclust.stages.births import Births

DIM = 8


def unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector, axis=-1, keepdims=True)).astype(np.float32)


def big_cluster(members: int = 400) -> ClusterTable:
    """One confirmed cluster along the first axis whose members sit at latent similarity 0.8 +- 0.05."""
    table = ClusterTable(dim=DIM)
    table.add(
        unit(np.eye(DIM)[:1]),
        counts=np.array([float(members)]),
        similarity_mean=np.array([0.8]),
        similarity_var=np.array([0.05**2]),
        position=0,
        now=0.0,
        members=np.array([members]),
        confirmed=np.array([True]),
    )
    return table


def batch(n_members: int, n_newcomers: int) -> np.ndarray:
    """Posts of the old topic (close to the first axis), then posts of a new topic between the first two axes
    (latent similarity about 0.48 to the old centroid: taken, but far below its members' 0.8)."""
    rng = np.random.default_rng(0)
    old = unit(np.eye(DIM)[0] + 0.05 * rng.normal(size=(n_members, DIM)) + 0.75 * np.eye(DIM)[2])
    new = unit(0.55 * np.eye(DIM)[0] + np.eye(DIM)[1] + 0.02 * rng.normal(size=(n_newcomers, DIM)))
    return np.vstack([old, new])


def group(births: Births, table: ClusterTable, latents: np.ndarray) -> np.ndarray:
    rows = np.zeros(len(latents), dtype=np.int64)
    similarity = latents @ table.centroids[0]
    accepted = np.ones(len(latents), dtype=bool)  # the old cluster took every post
    fringe = births.fringe(table, rows, similarity, accepted)
    no_terms = csr_matrix((len(latents), 4), dtype=np.float32)
    return births.group_newcomers(latents, no_terms, accepted, similarity, 0.5, fringe)


def test_fringe_posts_like_one_another_open_a_group_of_their_own() -> None:
    latents = batch(n_members=20, n_newcomers=4)
    groups = group(Births(NoveltySettings(), semantic_weight=1.0), big_cluster(), latents)
    assert groups[:20].tolist() == [-1] * 20, "the old topic's posts stay in their cluster"
    assert groups[20:].tolist() == [0, 0, 0, 0], "the new topic's posts open one group"


def test_too_few_fringe_posts_stay_in_the_cluster_that_took_them() -> None:
    latents = batch(n_members=20, n_newcomers=2)
    groups = group(Births(NoveltySettings(), semantic_weight=1.0), big_cluster(), latents)
    assert (groups == -1).all(), "two posts are not yet a topic (min_cluster_size - 1 = 3 are needed)"


def test_a_small_cluster_has_no_fringe_yet_and_the_fringe_can_be_turned_off() -> None:
    latents = batch(n_members=20, n_newcomers=4)
    small = big_cluster(members=NoveltySettings().fringe_min_members - 1)
    assert (group(Births(NoveltySettings(), semantic_weight=1.0), small, latents) == -1).all()
    off = Births(NoveltySettings(fringe_std=0), semantic_weight=1.0)
    assert (group(off, big_cluster(), latents) == -1).all()


def test_the_examples_in_the_grouping_module_hold() -> None:
    assert doctest.testmod(streamclust.cluster.births).failed == 0
