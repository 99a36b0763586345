"""The outlier buffer and the density search that turns dense groups of outliers into new clusters."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.cluster.novelty import OutlierBuffer, find_dense_groups
from streamclust.featurize.base import SparseRows

DIM = 16


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def no_terms(n: int) -> SparseRows:
    return SparseRows(np.zeros(n + 1, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), 8)


def blob(rng: np.random.Generator, direction: int, n: int, spread: float = 0.15) -> np.ndarray:
    centre = np.zeros(DIM)
    centre[direction] = 1.0
    return unit(centre + spread * rng.normal(size=(n, DIM)))


def buffer_of(
    latents: np.ndarray, ids: list[str], similarity: float = 0.75, capacity: int = 1_000
) -> OutlierBuffer:
    buffer = OutlierBuffer(capacity, DIM, similarity)
    buffer.add(latents, ids, np.arange(len(ids)), no_terms(len(ids)))
    return buffer


def recount(buffer: OutlierBuffer) -> np.ndarray:
    """Neighbours of every buffered post, counted from scratch."""
    close = (buffer.latents @ buffer.latents.T) >= buffer.neighbor_similarity
    return close.sum(axis=1) - 1


def test_two_blobs_and_noise_give_two_groups_without_the_noise() -> None:
    rng = np.random.default_rng(0)
    latents = np.vstack([blob(rng, 0, 12), blob(rng, 1, 9), unit(rng.normal(size=(15, DIM)))])
    ids = [f"a{i}" for i in range(12)] + [f"b{i}" for i in range(9)] + [f"noise{i}" for i in range(15)]
    buffer = buffer_of(latents, ids)

    groups = find_dense_groups(buffer, min_neighbors=4, min_cluster_size=8)

    members = [{ids[row] for row in group.rows.tolist()} for group in groups]
    assert members == [{f"a{i}" for i in range(12)}, {f"b{i}" for i in range(9)}], "largest group first"


def test_a_dense_group_smaller_than_min_cluster_size_is_not_a_cluster() -> None:
    rng = np.random.default_rng(1)
    buffer = buffer_of(blob(rng, 0, 7), [str(i) for i in range(7)])

    assert find_dense_groups(buffer, min_neighbors=4, min_cluster_size=8) == []
    assert len(find_dense_groups(buffer, min_neighbors=4, min_cluster_size=7)) == 1


def test_scattered_posts_form_no_group() -> None:
    rng = np.random.default_rng(2)
    buffer = buffer_of(unit(rng.normal(size=(40, DIM))), [str(i) for i in range(40)])
    assert find_dense_groups(buffer, min_neighbors=4, min_cluster_size=8) == []


def test_a_full_buffer_drops_its_oldest_posts() -> None:
    rng = np.random.default_rng(3)
    buffer = OutlierBuffer(capacity=10, dim=DIM, neighbor_similarity=0.75)
    for start in range(0, 25, 5):
        ids = [str(i) for i in range(start, start + 5)]
        buffer.add(unit(rng.normal(size=(5, DIM))), ids, np.arange(start, start + 5), no_terms(5))

    assert buffer.post_ids == [str(i) for i in range(15, 25)]
    np.testing.assert_array_equal(buffer.neighbors, recount(buffer))

    buffer.add(
        unit(rng.normal(size=(12, DIM))), [f"x{i}" for i in range(12)], np.arange(25, 37), no_terms(12)
    )
    assert buffer.post_ids == [f"x{i}" for i in range(2, 12)], (
        "a batch larger than the buffer keeps its newest"
    )


def test_outliers_older_than_the_ttl_expire() -> None:
    rng = np.random.default_rng(4)
    buffer = buffer_of(blob(rng, 0, 10), [str(i) for i in range(10)])

    expired = buffer.expire(position=15, ttl_posts=10)

    assert expired == 5 and buffer.post_ids == [str(i) for i in range(5, 10)]
    np.testing.assert_array_equal(buffer.neighbors, recount(buffer))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(1, 12), st.integers(0, 2**16)),
        st.tuples(st.just("remove"), st.integers(0, 2**16), st.integers(0, 4)),
        st.tuples(st.just("expire"), st.integers(0, 30), st.integers(1, 10)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=80, deadline=None)
@given(steps=operations)
def test_incremental_neighbour_counts_equal_a_recount(steps: list[tuple[str, int, int]]) -> None:
    """Clustered directions make many posts neighbours, so additions and removals really change the counts."""
    buffer = OutlierBuffer(capacity=20, dim=DIM, neighbor_similarity=0.7)
    position = 0
    for kind, first, second in steps:
        rng = np.random.default_rng(second)
        if kind == "add":
            directions = rng.integers(0, 3, size=first)
            latents = unit(np.eye(DIM)[directions] + 0.3 * rng.normal(size=(first, DIM)))
            ids = [f"p{position + i}" for i in range(first)]
            buffer.add(latents, ids, np.arange(position, position + first), no_terms(first))
            position += first
        elif kind == "remove" and len(buffer):
            rows = np.unique(np.random.default_rng(first).integers(0, len(buffer), size=second))
            buffer.remove(rows)
        elif kind == "expire":
            buffer.expire(position=position, ttl_posts=second * 3)
        assert len(buffer) <= 20
        np.testing.assert_array_equal(buffer.neighbors, recount(buffer))
        assert (
            len(buffer.post_ids) == len(buffer.latents) == len(buffer.positions) == len(buffer.term_columns)
        )


def test_a_snapshot_restores_an_equal_buffer() -> None:
    rng = np.random.default_rng(5)
    terms = SparseRows(np.array([0, 2, 3]), np.array([4, 7, 1]), np.array([2.0, 1.0, 3.0], np.float32), 8)
    original = OutlierBuffer(10, DIM, 0.75)
    original.add(unit(rng.normal(size=(2, DIM))), ["a", "b"], np.array([5, 6]), terms)

    copy = OutlierBuffer(10, DIM, 0.75)
    copy.restore(
        {
            key: np.copy(value) if isinstance(value, np.ndarray) else value
            for key, value in original.snapshot().items()
        }
    )

    assert copy.post_ids == ["a", "b"]
    np.testing.assert_array_equal(copy.latents, original.latents)
    np.testing.assert_array_equal(copy.neighbors, original.neighbors)
    columns, counts = copy.terms_of(np.array([0]))
    assert dict(zip(columns.tolist(), counts.tolist(), strict=True)) == {4: 2.0, 7: 1.0}
