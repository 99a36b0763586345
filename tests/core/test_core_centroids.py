"""Mini-batch centroid updates and acceptance radii, checked against a reference written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.cluster.centroids import (
    decay_counts,
    learning_rate_floor,
    update_centroids,
)
from streamclust.cluster.table import ClusterTable


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)).astype(np.float32)


def make_table(
    centroids: np.ndarray, counts: list[float], mean: float = 0.8, var: float = 0.01
) -> ClusterTable:
    table = ClusterTable(dim=centroids.shape[1])
    n = len(centroids)
    table.add(unit(centroids), np.array(counts, float), np.full(n, mean), np.full(n, var), 0, 0.0)
    return table


def reference_update(
    centroid: np.ndarray,
    count: float,
    mean: float,
    var: float,
    members: np.ndarray,
    sims: np.ndarray,
    floor: float,
) -> tuple[np.ndarray, float, float, float]:
    """One cluster's mini-batch step, one formula per line (Sculley: rate m / n, at least the floor)."""
    m = len(members)
    count = count + m
    rate = max(m / count, 1.0 - (1.0 - floor) ** m)
    moved = (1.0 - rate) * centroid + rate * members.mean(axis=0)
    moved = moved / np.linalg.norm(moved)
    new_mean = (1.0 - rate) * mean + rate * sims.mean()
    new_square = (1.0 - rate) * (var + mean**2) + rate * np.mean(sims**2)
    return moved, count, new_mean, max(new_square - new_mean**2, 0.0)


def test_update_centroids_matches_the_reference_on_seeded_data() -> None:
    rng = np.random.default_rng(0)
    centroids = rng.normal(size=(5, 8))
    counts = [1.0, 10.0, 1e5, 3.0, 40.0]
    table = make_table(centroids, counts)
    before = table.centroids.copy()
    latents = unit(rng.normal(size=(60, 8)))
    rows = rng.choice([0, 1, 2, 4], size=60)  # cluster 3 gets nothing
    sims = rng.uniform(0.3, 1.0, size=60).astype(np.float32)
    floor = learning_rate_floor(200)

    shift = update_centroids(table, latents, rows, sims, floor)

    shifts = []
    for row in range(5):
        if row == 3:
            np.testing.assert_array_equal(table.centroids[3], before[3])
            assert table.counts[3] == 3.0
            continue
        mine = rows == row
        centroid, count, mean, var = reference_update(
            before[row].astype(np.float64),
            counts[row],
            0.8,
            0.01,
            latents[mine],
            sims[mine].astype(float),
            floor,
        )
        np.testing.assert_allclose(table.centroids[row], centroid, atol=1e-6)
        assert table.counts[row] == pytest.approx(count)
        assert table.similarity_mean[row] == pytest.approx(mean, abs=1e-9)
        assert table.similarity_var[row] == pytest.approx(var, abs=1e-9)
        shifts.append(1.0 - float(before[row].astype(np.float64) @ centroid))
    assert shift == pytest.approx(np.mean(shifts), abs=1e-6)


def test_a_big_old_cluster_still_moves_at_the_floor_rate() -> None:
    floor = learning_rate_floor(100)
    table = make_table(np.array([[1.0, 0.0]]), [1e9])
    post = np.array([[0.0, 1.0]], dtype=np.float32)

    update_centroids(table, post, np.array([0]), np.array([0.0], np.float32), floor)

    expected = unit(np.array([1.0 - floor, floor]))
    np.testing.assert_allclose(table.centroids[0], expected, atol=1e-7)
    assert table.centroids[0, 1] > 0.0069  # 1 - 0.5 ** (1 / 100)


def test_the_floor_halves_an_old_posts_weight_after_a_half_life() -> None:
    floor = learning_rate_floor(250)
    assert (1.0 - floor) ** 250 == pytest.approx(0.5)


def test_a_young_cluster_moves_to_the_mean_of_its_members() -> None:
    table = make_table(np.array([[1.0, 0.0]]), [0.0])
    posts = unit(np.array([[0.0, 1.0], [0.0, 1.0]]))
    update_centroids(
        table, posts, np.array([0, 0]), np.array([0.9, 0.9], np.float32), learning_rate_floor(1000)
    )
    np.testing.assert_allclose(table.centroids[0], [0.0, 1.0], atol=1e-7)


def test_no_members_no_change() -> None:
    table = make_table(np.array([[1.0, 0.0]]), [5.0])
    empty = np.zeros((0, 2), np.float32)
    assert update_centroids(table, empty, np.zeros(0, np.int64), np.zeros(0, np.float32), 0.01) == 0.0
    assert table.counts[0] == 5.0


def test_counts_halve_after_their_half_life() -> None:
    table = make_table(np.eye(2), [8.0, 2.0])
    decay_counts(table, posts=500, half_life_posts=250)
    np.testing.assert_allclose(table.counts, [2.0, 0.5])
