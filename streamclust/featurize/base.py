"""The feature batch every featurizer returns, and the Featurizer interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class SparseRows:
    """Rows of a sparse matrix in CSR form (``indptr`` has one more entry than there are rows)."""

    indptr: np.ndarray  # int64
    indices: np.ndarray  # int64 column ids
    values: np.ndarray  # float32
    n_columns: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> np.ndarray:
        """The row of every stored entry."""
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def take(self, rows: np.ndarray) -> SparseRows:
        lengths = np.diff(self.indptr)[rows]
        starts = self.indptr[rows]
        indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        return SparseRows(indptr, self.indices[flat], self.values[flat], self.n_columns)

    def to_dense(self) -> np.ndarray:
        dense = np.zeros((self.n_rows, self.n_columns), dtype=np.float32)
        dense[self.row_ids(), self.indices] = self.values
        return dense

    def to_scipy(self) -> Any:
        from scipy.sparse import csr_matrix

        return csr_matrix((self.values, self.indices, self.indptr), shape=(self.n_rows, self.n_columns))

    @staticmethod
    def concatenate(parts: Sequence[SparseRows]) -> SparseRows:
        offsets = np.cumsum([0] + [int(part.indptr[-1]) for part in parts[:-1]])
        indptr = np.concatenate(
            [[0]] + [part.indptr[1:] + offset for part, offset in zip(parts, offsets, strict=True)]
        )
        return SparseRows(
            indptr.astype(np.int64),
            np.concatenate([part.indices for part in parts]),
            np.concatenate([part.values for part in parts]),
            parts[0].n_columns,
        )


@dataclass(frozen=True)
class FeatureBatch:
    """Features of a batch of posts.

    ``sparse`` holds hashed lexical features (hashing, hybrid), ``dense`` semantic embeddings (static, hybrid);
    ``terms`` always holds the hashed unigram counts used for cluster keywords.
    """

    terms: SparseRows
    sparse: SparseRows | None = None
    dense: np.ndarray | None = None

    def __len__(self) -> int:
        return self.terms.n_rows

    def take(self, rows: np.ndarray) -> FeatureBatch:
        return FeatureBatch(
            terms=self.terms.take(rows),
            sparse=None if self.sparse is None else self.sparse.take(rows),
            dense=None if self.dense is None else self.dense[rows],
        )

    def to_dense(self) -> np.ndarray:
        parts = [part for part in (self.sparse_dense(), self.dense) if part is not None]
        return np.hstack(parts).astype(np.float32)

    def sparse_dense(self) -> np.ndarray | None:
        return None if self.sparse is None else self.sparse.to_dense()

    def to_scipy(self) -> Any:
        from scipy.sparse import csr_matrix, hstack

        parts = []
        if self.sparse is not None:
            parts.append(self.sparse.to_scipy())
        if self.dense is not None:
            parts.append(csr_matrix(self.dense))
        return hstack(parts, format="csr")

    @staticmethod
    def concatenate(batches: Sequence[FeatureBatch]) -> FeatureBatch:
        first = batches[0]
        return FeatureBatch(
            terms=SparseRows.concatenate([batch.terms for batch in batches]),
            sparse=None
            if first.sparse is None
            else SparseRows.concatenate([batch.sparse for batch in batches if batch.sparse is not None]),
            dense=None
            if first.dense is None
            else np.vstack([batch.dense for batch in batches if batch.dense is not None]),
        )


class Featurizer(Protocol):
    """Turns texts into features. ``learn=True`` lets it update its statistics (document frequencies)."""

    sparse_columns: int  # 0 when it produces no sparse part
    dense_columns: int  # 0 when it produces no dense part

    def transform(self, texts: Sequence[str], learn: bool = True) -> FeatureBatch: ...

    def term(self, column: int) -> str | None:
        """A readable term for a hashed unigram column, if one was seen."""
        ...

    def snapshot(self) -> dict[str, Any]: ...

    def restore(self, state: dict[str, Any]) -> None: ...
