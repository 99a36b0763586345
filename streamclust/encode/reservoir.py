"""A bounded, recency-biased reservoir of recent posts' features: what the autoencoder is (re)trained on.

Post number ``t`` of the stream enters with probability ``min(1, r + (1 - r) * capacity / t)`` and replaces a
random slot once the reservoir is full: ``r = 0`` is Vitter's uniform reservoir over the whole stream, larger ``r``
turns it over faster (about every ``capacity / r`` posts) so it follows drift.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamclust.errors import CheckpointError
from streamclust.featurize.base import FeatureBatch, SparseRows

MAX_ENTRIES_PER_ROW = 192


class FeatureStore:
    """Fixed slots that each hold one post's feature row (sparse part padded, dense part as is)."""

    def __init__(self, capacity: int, sparse_columns: int, dense_columns: int) -> None:
        self.capacity = capacity
        self.sparse_columns = sparse_columns
        self.dense_columns = dense_columns
        self.lengths = np.zeros(capacity, dtype=np.int32)
        self.indices = np.zeros((capacity, MAX_ENTRIES_PER_ROW), dtype=np.int32) if sparse_columns else None
        self.values = np.zeros((capacity, MAX_ENTRIES_PER_ROW), dtype=np.float32) if sparse_columns else None
        self.dense = np.zeros((capacity, dense_columns), dtype=np.float32) if dense_columns else None

    def put(self, slots: np.ndarray, batch: FeatureBatch, rows: np.ndarray) -> None:
        if self.indices is not None and self.values is not None and batch.sparse is not None:
            sparse = batch.sparse.take(rows)
            lengths = np.minimum(np.diff(sparse.indptr), MAX_ENTRIES_PER_ROW)
            self.indices[slots] = 0
            self.values[slots] = 0.0
            within = np.arange(MAX_ENTRIES_PER_ROW)[None, :] < lengths[:, None]
            starts = sparse.indptr[:-1, None] + np.arange(MAX_ENTRIES_PER_ROW)[None, :]
            source = np.where(within, starts, 0)
            self.indices[slots] = np.where(within, sparse.indices[source] if len(sparse.indices) else 0, 0)
            self.values[slots] = np.where(within, sparse.values[source] if len(sparse.values) else 0.0, 0.0)
            self.lengths[slots] = lengths
        if self.dense is not None and batch.dense is not None:
            self.dense[slots] = batch.dense[rows]

    def get(self, slots: np.ndarray) -> FeatureBatch:
        sparse = None
        if self.indices is not None and self.values is not None:
            lengths = self.lengths[slots].astype(np.int64)
            mask = np.arange(MAX_ENTRIES_PER_ROW)[None, :] < lengths[:, None]
            indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
            sparse = SparseRows(
                indptr,
                self.indices[slots][mask].astype(np.int64),
                self.values[slots][mask],
                self.sparse_columns,
            )
        empty_terms = SparseRows(
            np.zeros(len(slots) + 1, dtype=np.int64), np.empty(0, np.int64), np.empty(0, np.float32), 1
        )
        dense = None if self.dense is None else self.dense[slots].copy()
        return FeatureBatch(terms=empty_terms, sparse=sparse, dense=dense)

    def snapshot(self) -> dict[str, Any]:
        return {"lengths": self.lengths, "indices": self.indices, "values": self.values, "dense": self.dense}

    def restore(self, state: dict[str, Any]) -> None:
        self.lengths = np.asarray(state["lengths"], dtype=np.int32)
        for name in ("indices", "values", "dense"):
            if state.get(name) is not None:
                setattr(self, name, np.asarray(state[name]))


class Reservoir:
    """Recency-biased reservoir sampling over a stream of feature batches."""

    def __init__(
        self, capacity: int, sparse_columns: int, dense_columns: int, recency_bias: float = 0.2, seed: int = 0
    ) -> None:
        self.store = FeatureStore(capacity, sparse_columns, dense_columns)
        self.capacity = capacity
        self.recency_bias = recency_bias
        self.seen = 0
        self.filled = 0
        self.rng = np.random.default_rng(seed)

    def add(self, batch: FeatureBatch) -> None:
        n = len(batch)
        positions = np.arange(self.seen + 1, self.seen + n + 1, dtype=np.float64)
        self.seen += n
        keep = np.minimum(1.0, self.recency_bias + (1 - self.recency_bias) * self.capacity / positions)
        rows = np.flatnonzero(self.rng.random(n) < keep)
        if len(rows) == 0:
            return
        free = min(self.capacity - self.filled, len(rows))
        slots = np.empty(len(rows), dtype=np.int64)
        slots[:free] = np.arange(self.filled, self.filled + free)
        slots[free:] = self.rng.integers(0, self.capacity, size=len(rows) - free)
        self.filled += free
        self.store.put(slots, batch, rows)

    def __len__(self) -> int:
        return self.filled

    def contents(self) -> FeatureBatch:
        return self.store.get(np.arange(self.filled))

    def snapshot(self) -> dict[str, Any]:
        """The filled slots' rows, the counters and the random generator's state."""
        rows = {
            name: values[: self.filled].copy()
            for name, values in self.store.snapshot().items()
            if values is not None
        }
        return {"rows": rows, "seen": self.seen, "filled": self.filled, "rng": self.rng.bit_generator.state}

    def restore(self, state: dict[str, Any]) -> None:
        """The saved rows in their slots; when the capacity is smaller than it was, the rows past it are
        dropped."""
        rows = state["rows"]
        filled = min(int(state["filled"]), self.capacity)
        for name in ("lengths", "indices", "values", "dense"):
            target = getattr(self.store, name)
            saved = rows.get(name)
            if (target is None) != (saved is None):
                raise CheckpointError(f"the checkpoint's reservoir does not match these settings ({name})")
            if target is not None and saved is not None:
                target[:filled] = saved[:filled]
        self.filled = filled
        self.seen = int(state["seen"])
        self.rng.bit_generator.state = state["rng"]
