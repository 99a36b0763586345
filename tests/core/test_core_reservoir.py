"""The reservoir the autoencoder is retrained on: bounded, and biased towards recent posts as configured."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.encode.reservoir import Reservoir
from streamclust.featurize.base import FeatureBatch, SparseRows

COLUMNS = 100_000


def numbered_posts(start: int, count: int) -> FeatureBatch:
    """Posts whose only feature column is their stream position, so the reservoir's contents can be read back."""
    positions = np.arange(start, start + count, dtype=np.int64)
    rows = SparseRows(np.arange(count + 1, dtype=np.int64), positions, np.ones(count, np.float32), COLUMNS)
    return FeatureBatch(terms=rows, sparse=rows, dense=positions[:, None].astype(np.float32))


def positions_in(reservoir: Reservoir) -> np.ndarray:
    contents = reservoir.contents()
    assert contents.sparse is not None and contents.dense is not None
    np.testing.assert_array_equal(contents.sparse.indices, contents.dense[:, 0].astype(np.int64))
    return contents.sparse.indices


def fill(reservoir: Reservoir, total: int, batch: int = 97) -> None:
    for start in range(0, total, batch):
        reservoir.add(numbered_posts(start, min(batch, total - start)))


def test_the_first_posts_fill_the_reservoir_in_order() -> None:
    reservoir = Reservoir(capacity=150, sparse_columns=COLUMNS, dense_columns=1, recency_bias=0.3, seed=0)
    fill(reservoir, 120)
    assert len(reservoir) == 120
    np.testing.assert_array_equal(positions_in(reservoir), np.arange(120))


@pytest.mark.parametrize("recency_bias", [0.0, 0.5, 1.0])
def test_the_reservoir_never_holds_more_than_its_capacity(recency_bias: float) -> None:
    reservoir = Reservoir(capacity=100, sparse_columns=COLUMNS, dense_columns=1, recency_bias=recency_bias)
    fill(reservoir, 5_000)
    positions = positions_in(reservoir)
    assert len(reservoir) == len(positions) == 100
    assert len(set(positions.tolist())) == 100, "a post is stored once"


def test_recency_bias_moves_the_contents_towards_recent_posts() -> None:
    means = {}
    for bias in (0.0, 0.2, 0.8):
        reservoir = Reservoir(
            capacity=200, sparse_columns=COLUMNS, dense_columns=1, recency_bias=bias, seed=3
        )
        fill(reservoir, 10_000)
        means[bias] = float(positions_in(reservoir).mean())

    assert means[0.0] == pytest.approx(5_000, rel=0.15), "no bias: a uniform sample of the whole stream"
    assert means[0.0] < means[0.2] < means[0.8]
    # with bias r a slot is replaced about every capacity / r posts, so the sample covers the last few
    # capacity / r posts: 200 / 0.8 = 250 -> nearly all from the last 1,000
    assert means[0.8] > 9_000


def test_seeded_reservoirs_keep_the_same_posts() -> None:
    first, second = (
        Reservoir(capacity=50, sparse_columns=COLUMNS, dense_columns=1, recency_bias=0.5, seed=7)
        for _ in range(2)
    )
    fill(first, 2_000)
    fill(second, 2_000)
    np.testing.assert_array_equal(positions_in(first), positions_in(second))
