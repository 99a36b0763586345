"""The table of live clusters: one row per cluster, as parallel arrays (ids, centroids, counts, radii, times).

Ids are handed out in increasing order and never reused; rows move when clusters are removed, ids never do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def _empty(dtype: Any, *shape: int) -> np.ndarray:
    return np.zeros((0, *shape), dtype=dtype)


@dataclass
class ClusterTable:
    dim: int
    ids: np.ndarray = field(default_factory=lambda: _empty(np.int64))
    centroids: np.ndarray = field(init=False)  # float32 [C, dim], unit length
    # decayed member counts: the cluster's size (catalog entries, events and metrics all come from these)
    counts: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    similarity_mean: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # of accepted members
    similarity_var: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    last_seen: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # stream position
    created_at: np.ndarray = field(default_factory=lambda: _empty(np.float64))  # unix seconds
    last_seen_at: np.ndarray = field(default_factory=lambda: _empty(np.float64))
    members: np.ndarray = field(default_factory=lambda: _empty(np.int64))  # posts labelled with it, ever
    confirmed: np.ndarray = field(default_factory=lambda: _empty(np.bool_))  # False: still provisional
    next_id: int = 0

    def __post_init__(self) -> None:
        self.centroids = _empty(np.float32, self.dim)

    def __len__(self) -> int:
        return len(self.ids)

    def add(
        self,
        centroids: np.ndarray,
        counts: np.ndarray,
        similarity_mean: np.ndarray,
        similarity_var: np.ndarray,
        position: int,
        now: float,
        members: np.ndarray | None = None,
        confirmed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Append clusters (by default confirmed, with ``counts`` as their members); returns their new ids."""
        n = len(centroids)
        new_ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        self.ids = np.concatenate([self.ids, new_ids])
        self.centroids = np.vstack([self.centroids, centroids.astype(np.float32)])
        self.counts = np.concatenate([self.counts, counts])
        self.similarity_mean = np.concatenate([self.similarity_mean, similarity_mean])
        self.similarity_var = np.concatenate([self.similarity_var, similarity_var])
        self.last_seen = np.concatenate([self.last_seen, np.full(n, position, dtype=np.int64)])
        self.created_at = np.concatenate([self.created_at, np.full(n, now)])
        self.last_seen_at = np.concatenate([self.last_seen_at, np.full(n, now)])
        members = np.round(counts).astype(np.int64) if members is None else members.astype(np.int64)
        self.members = np.concatenate([self.members, members])
        confirmed = np.ones(n, dtype=np.bool_) if confirmed is None else confirmed.astype(np.bool_)
        self.confirmed = np.concatenate([self.confirmed, confirmed])
        return new_ids

    def remove(self, rows: np.ndarray) -> None:
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        for name in ARRAY_FIELDS:
            setattr(self, name, getattr(self, name)[keep])

    def rows_of(self, cluster_ids: np.ndarray) -> np.ndarray:
        """Row of each id (ids must be live)."""
        order = np.argsort(self.ids)
        return order[np.searchsorted(self.ids, cluster_ids, sorter=order)]

    def snapshot(self) -> dict[str, Any]:
        state: dict[str, Any] = {name: getattr(self, name).copy() for name in ARRAY_FIELDS}
        state["next_id"] = self.next_id
        return state

    def restore(self, state: dict[str, Any]) -> None:
        for name in ARRAY_FIELDS:
            setattr(self, name, np.asarray(state[name]).copy())
        self.next_id = int(state["next_id"])


ARRAY_FIELDS = (
    "ids",
    "centroids",
    "counts",
    "similarity_mean",
    "similarity_var",
    "last_seen",
    "created_at",
    "last_seen_at",
    "members",
    "confirmed",
)
