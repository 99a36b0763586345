"""SparseRows (CSR rows): taking and concatenating rows agrees with the same operations on dense arrays."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from streamclust.featurize.base import FeatureBatch, SparseRows


def sparse_from_dense(dense: np.ndarray) -> SparseRows:
    row_ids, columns = np.nonzero(dense)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_ids, minlength=len(dense)))]).astype(np.int64)
    return SparseRows(
        indptr, columns.astype(np.int64), dense[row_ids, columns].astype(np.float32), dense.shape[1]
    )


dense_matrices = hnp.arrays(
    np.float32,
    st.tuples(st.integers(0, 8), st.integers(1, 6)),
    elements=st.sampled_from([0.0, 0.0, 0.0, 1.0, -2.5, 0.25]),
)


@settings(max_examples=60, deadline=None)
@given(dense=dense_matrices, data=st.data())
def test_take_picks_the_same_rows_as_numpy_indexing(dense: np.ndarray, data: st.DataObject) -> None:
    rows = np.asarray(
        data.draw(st.lists(st.integers(0, max(len(dense) - 1, 0)), max_size=10 if len(dense) else 0)),
        dtype=np.int64,
    )
    taken = sparse_from_dense(dense).take(rows)
    assert taken.n_rows == len(rows)
    np.testing.assert_array_equal(taken.to_dense(), dense[rows].reshape(len(rows), dense.shape[1]))


@settings(max_examples=60, deadline=None)
@given(dense=dense_matrices, data=st.data())
def test_concatenating_consecutive_slices_gives_back_the_rows(dense: np.ndarray, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(0, len(dense)), max_size=4)))
    bounds = [0, *cuts, len(dense)]
    sparse = sparse_from_dense(dense)
    parts = [sparse.take(np.arange(start, end)) for start, end in itertools.pairwise(bounds)]

    joined = SparseRows.concatenate(parts)

    np.testing.assert_array_equal(joined.to_dense(), dense)
    np.testing.assert_array_equal(joined.indptr, sparse.indptr)
    np.testing.assert_array_equal(joined.row_ids(), np.nonzero(dense)[0])


def test_feature_batches_take_and_concatenate_both_parts() -> None:
    terms = sparse_from_dense(np.eye(4, dtype=np.float32))
    dense = np.arange(12, dtype=np.float32).reshape(4, 3)
    batch = FeatureBatch(terms=terms, sparse=terms, dense=dense)

    back = FeatureBatch.concatenate([batch.take(np.array([0, 1])), batch.take(np.array([2, 3]))])

    np.testing.assert_array_equal(back.to_dense(), batch.to_dense())
    np.testing.assert_array_equal(batch.take(np.array([3, 0])).to_dense()[:, 4:], dense[[3, 0]])
    assert batch.to_scipy().shape == (4, 7)
