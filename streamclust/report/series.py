"""The numbers the report plots, computed from a run's timeline: pure functions over lists and arrays."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from streamclust.schema import NOT_CLUSTERED, ClusterEvent


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


def outlier_share(
    seconds: np.ndarray, labelled: np.ndarray, outliers: np.ndarray, window: float = 5.0
) -> tuple[np.ndarray, np.ndarray]:
    """Share of outliers among the posts labelled in consecutive windows: (window ends, shares; NaN where none
    was labelled).

    >>> ends, shares = outlier_share(np.array([1.0, 2.0, 7.0]), np.array([10, 10, 5]), np.array([1, 3, 0]))
    >>> ends.tolist(), shares.tolist()
    ([5.0, 10.0], [0.2, 0.0])
    """
    if len(seconds) == 0:
        return np.empty(0), np.empty(0)
    edges = np.arange(0.0, float(np.nanmax(seconds)) + window, window)
    posts, _ = np.histogram(seconds, bins=edges, weights=labelled)
    outlying, _ = np.histogram(seconds, bins=edges, weights=outliers)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(posts > 0, outlying / np.maximum(posts, 1), np.nan)
    return edges[1:], shares


@dataclass(frozen=True)
class HeldSeries:
    """The warm-up's polls: posts held and the lag, in seconds since the run started."""

    seconds: np.ndarray
    held: np.ndarray
    lag: np.ndarray


def held_series(held: Sequence[dict[str, Any]], started_at: float) -> HeldSeries:
    return HeldSeries(
        seconds=np.array([float(line["at"]) - started_at for line in held], dtype=np.float64),
        held=np.array([line.get("held", 0) for line in held], dtype=np.float64),
        lag=np.array([line.get("lag", 0) for line in held], dtype=np.float64),
    )


@dataclass(frozen=True)
class SizeSeries:
    """Sizes (post counts) of the largest clusters after every batch; 0 before a cluster exists."""

    seconds: np.ndarray
    cluster_ids: list[int]
    sizes: np.ndarray  # (len(seconds), len(cluster_ids))


def cluster_post_counts(batches: Sequence[dict[str, Any]], started_at: float, top: int = 12) -> SizeSeries:
    """Posts labelled with each of the ``top`` largest clusters so far, after every batch: real post counts of
    the labels as given online (a merged cluster keeps the posts labelled with it before the merge).

    >>> batches = [{"at": 1.0, "cluster_ids": [3, 3, -1]}, {"at": 2.0, "cluster_ids": [5, 3]}]
    >>> counts = cluster_post_counts(batches, started_at=0.0)
    >>> counts.cluster_ids, counts.sizes.tolist()
    ([3, 5], [[2.0, 0.0], [3.0, 1.0]])
    """
    rows = np.concatenate(
        [np.full(len(batch.get("cluster_ids", [])), row, dtype=np.int64) for row, batch in enumerate(batches)]
        or [np.empty(0, dtype=np.int64)]
    )
    clusters = np.array(
        [cluster for batch in batches for cluster in batch.get("cluster_ids", [])], dtype=np.int64
    )
    clustered = clusters != NOT_CLUSTERED
    rows, clusters = rows[clustered], clusters[clustered]
    ids, totals = np.unique(clusters, return_counts=True)
    chosen = ids[np.argsort(-totals, kind="stable")][:top]
    column = np.full(len(clusters), -1, dtype=np.int64)
    for number, cluster in enumerate(chosen.tolist()):
        column[clusters == cluster] = number
    sizes = np.zeros((len(batches), len(chosen)))
    kept = column >= 0
    np.add.at(sizes, (rows[kept], column[kept]), 1.0)
    seconds = np.array([float(batch["at"]) - started_at for batch in batches], dtype=np.float64)
    return SizeSeries(seconds=seconds, cluster_ids=chosen.tolist(), sizes=np.cumsum(sizes, axis=0))


def posts_per_cluster(cluster_ids: np.ndarray) -> dict[int, int]:
    """How many posts were labelled with each cluster (outliers' provisional clusters included)."""
    ids, counts = np.unique(cluster_ids[cluster_ids != NOT_CLUSTERED], return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


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
