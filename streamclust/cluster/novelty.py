"""Density-based novelty detection over a bounded buffer of outliers.

Posts no cluster accepts wait in the buffer. Each buffered post knows how many other buffered posts lie within
``neighbor_similarity`` of it (kept up to date incrementally as posts enter and leave). Posts with at least
``min_neighbors`` such neighbours are core points (DBSCAN); core points within reach of each other form a group,
and non-core points within reach of a group's core join it. A group of ``min_cluster_size`` or more posts is a
new topic: it becomes a cluster and leaves the buffer. Posts older than ``ttl_posts`` expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import compress
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from streamclust.featurize.base import SparseRows

TERMS_PER_POST = 96


@dataclass(frozen=True)
class DenseGroup:
    """Buffer rows of one dense group, its core rows first."""

    rows: np.ndarray


class OutlierBuffer:
    def __init__(self, capacity: int, dim: int, neighbor_similarity: float) -> None:
        self.capacity = capacity
        self.neighbor_similarity = neighbor_similarity
        self.latents = np.zeros((0, dim), dtype=np.float32)
        self.post_ids: list[str] = []
        self.positions = np.zeros(0, dtype=np.int64)
        self.neighbors = np.zeros(0, dtype=np.int64)
        self.term_columns = np.zeros((0, TERMS_PER_POST), dtype=np.int64)
        self.term_counts = np.zeros((0, TERMS_PER_POST), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.post_ids)

    def add(self, latents: np.ndarray, post_ids: list[str], positions: np.ndarray, terms: SparseRows) -> None:
        """Add outliers; the oldest make room when the buffer is full."""
        if len(latents) == 0:
            return
        overflow = len(self) + len(latents) - self.capacity
        if overflow > 0:
            self.remove(np.arange(min(overflow, len(self))))
            if len(latents) > self.capacity:
                keep = slice(len(latents) - self.capacity, None)
                latents, post_ids, positions = latents[keep], post_ids[keep], positions[keep]
                terms = terms.take(np.arange(terms.n_rows)[keep])
        old_count = len(self)
        close = (latents @ np.vstack([self.latents, latents]).T) >= self.neighbor_similarity
        self.neighbors += np.count_nonzero(close[:, :old_count], axis=0)
        new_neighbors = np.count_nonzero(close, axis=1) - 1
        columns, counts = padded_terms(terms)
        self.latents = np.vstack([self.latents, latents])
        self.post_ids.extend(post_ids)
        self.positions = np.concatenate([self.positions, positions])
        self.neighbors = np.concatenate([self.neighbors, new_neighbors])
        self.term_columns = np.vstack([self.term_columns, columns])
        self.term_counts = np.vstack([self.term_counts, counts])

    def remove(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        keep = np.ones(len(self), dtype=bool)
        keep[rows] = False
        lost = (self.latents[rows] @ self.latents[keep].T) >= self.neighbor_similarity
        self.neighbors = self.neighbors[keep] - np.count_nonzero(lost, axis=0)
        self.latents = self.latents[keep]
        self.post_ids = list(compress(self.post_ids, keep.tolist()))
        self.positions = self.positions[keep]
        self.term_columns = self.term_columns[keep]
        self.term_counts = self.term_counts[keep]

    def expire(self, position: int, ttl_posts: int) -> int:
        stale = np.flatnonzero(self.positions < position - ttl_posts)
        self.remove(stale)
        return len(stale)

    def terms_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat (columns, counts) of the buffered posts ``rows``."""
        columns, counts = self.term_columns[rows], self.term_counts[rows]
        used = counts > 0
        return columns[used], counts[used]

    def snapshot(self) -> dict[str, Any]:
        return {
            "latents": self.latents.copy(),
            "post_ids": list(self.post_ids),
            "positions": self.positions.copy(),
            "neighbors": self.neighbors.copy(),
            "term_columns": self.term_columns.copy(),
            "term_counts": self.term_counts.copy(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.latents = np.array(state["latents"], dtype=np.float32)
        self.post_ids = [str(post_id) for post_id in state["post_ids"]]
        self.positions = np.array(state["positions"], dtype=np.int64)
        self.neighbors = np.array(state["neighbors"], dtype=np.int64)
        self.term_columns = np.array(state["term_columns"], dtype=np.int64)
        self.term_counts = np.array(state["term_counts"], dtype=np.float32)


def padded_terms(terms: SparseRows) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.minimum(np.diff(terms.indptr), TERMS_PER_POST)
    within = np.arange(TERMS_PER_POST)[None, :] < lengths[:, None]
    source = np.where(within, terms.indptr[:-1, None] + np.arange(TERMS_PER_POST)[None, :], 0)
    if len(terms.indices) == 0:
        return np.zeros(within.shape, np.int64), np.zeros(within.shape, np.float32)
    return (
        np.where(within, terms.indices[source], 0).astype(np.int64),
        np.where(within, terms.values[source], 0.0).astype(np.float32),
    )


def neighbor_similarity_estimate(latents: np.ndarray, min_neighbors: int, quantile: float) -> float:
    """The ``quantile`` of each post's similarity to its ``min_neighbors``-th nearest other post."""
    import faiss

    k = min(min_neighbors + 1, len(latents))
    index = faiss.IndexFlatIP(latents.shape[1])
    index.add(latents)
    similarities, _ = index.search(latents, k)
    return float(np.quantile(similarities[:, k - 1], quantile))


def find_dense_groups(buffer: OutlierBuffer, min_neighbors: int, min_cluster_size: int) -> list[DenseGroup]:
    """DBSCAN-style groups in the buffer with at least ``min_cluster_size`` posts, largest first."""
    core = np.flatnonzero(buffer.neighbors >= min_neighbors)
    if len(core) == 0:
        return []
    core_latents = buffer.latents[core]
    linked = (core_latents @ core_latents.T) >= buffer.neighbor_similarity
    pairs = np.nonzero(linked)
    graph = coo_matrix((np.ones(len(pairs[0])), pairs), shape=(len(core), len(core)))
    _, component = connected_components(graph, directed=False)
    is_core = np.zeros(len(buffer), dtype=bool)
    is_core[core] = True
    border = np.flatnonzero(~is_core)
    border_component = np.full(len(border), -1)
    if len(border):
        similarity = buffer.latents[border] @ core_latents.T
        nearest = similarity.argmax(axis=1)
        reachable = similarity[np.arange(len(border)), nearest] >= buffer.neighbor_similarity
        border_component = np.where(reachable, component[nearest], -1)
    groups = []
    for label in np.unique(component):
        members = np.concatenate([core[component == label], border[border_component == label]])
        if len(members) >= min_cluster_size:
            groups.append(DenseGroup(rows=members))
    groups.sort(key=lambda group: -len(group.rows))
    return groups
