"""Lifecycle decisions: which clusters merge (the older id survives), retire when stale, or go beyond the cap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.cluster.lifecycle import (
    find_excess,
    find_merges,
    find_stale,
    merge_rows,
)
from streamclust.cluster.table import ClusterTable


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def table_of(centroids: np.ndarray, counts: list[float] | None = None) -> ClusterTable:
    table = ClusterTable(dim=centroids.shape[1])
    n = len(centroids)
    counts_array = np.ones(n) if counts is None else np.array(counts, float)
    table.add(unit(centroids), counts_array, np.full(n, 0.8), np.full(n, 0.01), 0, 0.0)
    return table


def merges_of(table: ClusterTable) -> list[tuple[int, int]]:
    """Every pair a candidate; latent side only: tightness (mean member similarity) times centroid cosine."""
    first, second = (pair.ravel() for pair in np.indices((len(table), len(table))))
    return find_merges(table, first, second, *member_test_of(table, first, second))


def member_test_of(
    table: ClusterTable, first: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    cosine = np.sum(table.centroids[first] * table.centroids[second], axis=1)
    return table.similarity_mean[first] * cosine, table.similarity_mean


def test_two_clusters_whose_members_fit_each_other_merge_into_the_older_id() -> None:
    table = table_of(np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 0.05, 0.0]]))
    table.ids[:] = [7, 9, 4]  # the row order is not the age order
    table.similarity_mean[:] = [0.8, 0.9, 0.8]  # row 1's members fit row 2 (0.9 * 0.999) better than its own

    merges = merges_of(table)

    assert merges == [(1, 2)], "row 1 (id 9) is absorbed by row 2 (id 4)"


def test_clusters_whose_members_fit_their_own_cluster_better_do_not_merge() -> None:
    table = table_of(np.array([[1.0, 0.0], [1.0, 1.0]]))  # cosine 0.707
    table.similarity_mean[:] = [0.9, 0.9]  # 0.9 * 0.707 = 0.64 < 0.9: each is tighter than they are close
    assert merges_of(table) == []
    single = table_of(np.array([[1.0, 0.0]]))
    assert merges_of(single) == []


def test_a_loose_cluster_merges_into_a_close_tight_one_but_not_the_other_way() -> None:
    table = table_of(np.array([[1.0, 0.0], [1.0, 0.3]]), counts=[10.0, 2.0])  # cosine 0.958
    table.similarity_mean[:] = [0.6, 0.7]  # the big one is loose: 0.7 * 0.958 = 0.67 >= 0.6
    assert merges_of(table) == [(1, 0)]
    table.similarity_mean[:] = [0.95, 0.7]  # the big one is tight: its members are closer than 0.67
    assert merges_of(table) == []


def test_the_closest_pair_merges_first_and_a_cluster_merges_once_per_call() -> None:
    # a big loose cluster (row 0) and two small tight ones close to it and to each other
    table = table_of(np.array([[1.0, 0.0], [1.0, 0.02], [1.0, 0.06]]), counts=[10.0, 2.0, 2.0])
    table.similarity_mean[:] = [0.5, 0.9, 0.9]
    # rows 1 and 2 both fit row 0; row 1 fits it best and merges; row 0 is then taken for this call,
    # and rows 1 and 2 do not fit each other (0.9 * 0.999 < 0.9)
    assert merges_of(table) == [(1, 0)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 30))
def test_merges_pair_each_cluster_at_most_once_keep_the_older_id_and_pass_the_member_test(
    seed: int, n: int
) -> None:
    rng = np.random.default_rng(seed)
    table = table_of(np.eye(4)[rng.integers(0, 4, size=n)] + 0.3 * rng.normal(size=(n, 4)))
    table.ids[:] = rng.permutation(100)[:n]
    table.members[:] = rng.integers(1, 50, size=n)
    table.similarity_mean[:] = rng.uniform(0.3, 1.0, size=n)
    first, second = (pair.ravel() for pair in np.indices((n, n)))
    similarity = np.full((n, n), -np.inf)
    similarity[first, second] = member_test_of(table, first, second)[0]
    tightness = table.similarity_mean

    merges = merges_of(table)

    rows = [row for pair in merges for row in pair]
    assert len(rows) == len(set(rows))
    for absorbed, survivor in merges:
        assert table.ids[survivor] < table.ids[absorbed]
        fits = [
            similarity[small, large] >= tightness[large]
            for small, large in ((absorbed, survivor), (survivor, absorbed))
            if table.members[small] <= table.members[large]
        ]
        assert any(fits)


def test_merging_weights_the_statistics_by_size() -> None:
    table = table_of(np.array([[1.0, 0.0], [0.0, 1.0]]), counts=[3.0, 1.0])
    table.similarity_mean[:] = [0.9, 0.5]
    table.last_seen[:] = [10, 30]

    merge_rows(table, absorbed=1, survivor=0)

    np.testing.assert_allclose(table.centroids[0], unit(np.array([[0.75, 0.25]]))[0], atol=1e-6)
    assert table.counts[0] == 4.0
    assert table.similarity_mean[0] == pytest.approx(0.8)
    assert table.last_seen[0] == 30


def test_clusters_unseen_for_longer_than_the_horizon_are_stale() -> None:
    table = table_of(np.eye(3))
    table.last_seen[:] = [100, 700, 899]
    np.testing.assert_array_equal(find_stale(table, position=1_000, retire_after_posts=400), [0])
    np.testing.assert_array_equal(find_stale(table, position=1_000, retire_after_posts=50), [0, 1, 2])


def test_the_smallest_clusters_beyond_the_cap_are_dropped() -> None:
    table = table_of(np.eye(5), counts=[5.0, 1.0, 9.0, 1.0, 3.0])
    np.testing.assert_array_equal(find_excess(table, max_clusters=3), [1, 3])
    assert len(find_excess(table, max_clusters=5)) == 0


def test_ids_are_never_reused_after_removal() -> None:
    table = table_of(np.eye(3))
    table.remove(np.array([2]))
    new_ids = table.add(unit(np.ones((1, 3))), np.ones(1), np.ones(1), np.zeros(1), 0, 0.0)
    assert new_ids.tolist() == [3]
    np.testing.assert_array_equal(table.rows_of(np.array([3, 0])), [2, 0])
