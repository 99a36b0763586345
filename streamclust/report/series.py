"""The numbers the report plots, computed from a run's timeline: pure functions over lists and arrays."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamclust.schema import NOT_CLUSTERED, CatalogEntry, ClusterEvent


@dataclass(frozen=True)
class BatchSeries:
    """Per-batch columns, time in seconds since the run started."""

    seconds: np.ndarray
    labelled: np.ndarray
    outliers: np.ndarray
    lag: np.ndarray
    reconstruction_error: np.ndarray  # NaN where the batch had none
    latency_p50: np.ndarray
    latency_p95: np.ndarray
    drift_seconds: np.ndarray  # when drift was detected
    retrain_seconds: np.ndarray  # when a retrained model was swapped in


def batch_series(batches: Sequence[dict[str, Any]], started_at: float) -> BatchSeries:
    def column(key: str) -> np.ndarray:
        values = [batch.get(key) for batch in batches]
        return np.array([np.nan if value is None else value for value in values], dtype=np.float64)

    seconds = column("at") - started_at
    drift = np.array([bool(batch.get("drift_detected")) for batch in batches], dtype=bool)
    retrained = np.array([bool(batch.get("retrained")) for batch in batches], dtype=bool)
    return BatchSeries(
        seconds=seconds,
        labelled=column("labelled"),
        outliers=column("outliers"),
        lag=column("lag"),
        reconstruction_error=column("reconstruction_error"),
        latency_p50=column("latency_p50"),
        latency_p95=column("latency_p95"),
        drift_seconds=seconds[drift] if len(batches) else np.empty(0),
        retrain_seconds=seconds[retrained] if len(batches) else np.empty(0),
    )


def throughput(seconds: np.ndarray, posts: np.ndarray, window: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Posts per second over consecutive windows of ``window`` seconds: (window ends, rates)."""
    if len(seconds) == 0:
        return np.empty(0), np.empty(0)
    edges = np.arange(0.0, float(np.nanmax(seconds)) + window, window)
    sums, _ = np.histogram(seconds, bins=edges, weights=posts)
    return edges[1:], sums / window


@dataclass(frozen=True)
class SizeSeries:
    """Sizes of the largest clusters at each catalog snapshot (0 before a cluster exists or after it ends)."""

    seconds: np.ndarray
    cluster_ids: list[int]
    sizes: np.ndarray  # (len(seconds), len(cluster_ids))


def cluster_sizes(
    catalogs: Sequence[tuple[float, list[CatalogEntry]]], started_at: float, top: int = 12
) -> SizeSeries:
    """The ``top`` clusters by their largest size over the run, sized at every snapshot."""
    largest: dict[int, float] = defaultdict(float)
    for _, entries in catalogs:
        for entry in entries:
            if entry.status == "active":
                largest[entry.cluster_id] = max(largest[entry.cluster_id], entry.size)
    chosen = sorted(largest, key=lambda cluster: -largest[cluster])[:top]
    column = {cluster: number for number, cluster in enumerate(chosen)}
    sizes = np.zeros((len(catalogs), len(chosen)))
    for row, (_, entries) in enumerate(catalogs):
        for entry in entries:
            if entry.cluster_id in column and entry.status == "active":
                sizes[row, column[entry.cluster_id]] = entry.size
    seconds = np.array([at - started_at for at, _ in catalogs], dtype=np.float64)
    return SizeSeries(seconds=seconds, cluster_ids=chosen, sizes=sizes)


def event_points(
    events: Sequence[ClusterEvent], started_at: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """kind -> (seconds, cluster ids) for created, merged and retired events."""
    points: dict[str, tuple[list[float], list[int]]] = {
        kind: ([], []) for kind in ("created", "merged", "retired")
    }
    for event in events:
        if event.kind.value in points:
            points[event.kind.value][0].append(event.at - started_at)
            points[event.kind.value][1].append(event.cluster_id)
    return {kind: (np.array(at), np.array(ids, dtype=np.int64)) for kind, (at, ids) in points.items()}


def online_labels(batches: Sequence[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    """Every labelled post and the cluster it was given when processed, in the order they were committed."""
    post_ids = [post_id for batch in batches for post_id in batch.get("post_ids", [])]
    cluster_ids = np.array(
        [cluster for batch in batches for cluster in batch.get("cluster_ids", [])], dtype=np.int64
    )
    return post_ids, cluster_ids


def recent_examples(
    post_ids: Sequence[str], cluster_ids: np.ndarray, per_cluster: int = 3
) -> dict[int, list[str]]:
    """The last ``per_cluster`` post ids labelled with each cluster (outliers left out), newest first."""
    examples: dict[int, deque[str]] = defaultdict(lambda: deque(maxlen=per_cluster))
    for post_id, cluster in zip(post_ids, cluster_ids.tolist(), strict=True):
        if cluster != NOT_CLUSTERED:
            examples[cluster].append(post_id)
    return {cluster: list(reversed(ids)) for cluster, ids in examples.items()}
