"""Clustering scores against true classes, and turning online labels into labels after the cluster events.

Outliers (cluster ``-1``) are scored as one more cluster of their own: a system that calls everything an
outlier gets no credit for it, and the outlier share is reported next to the scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from sklearn import metrics

from streamclust.schema import NOT_CLUSTERED, ClusterEvent, EventKind


@dataclass(frozen=True)
class Scores:
    nmi: float
    ari: float
    homogeneity: float
    completeness: float
    purity: float
    n_clusters: int  # distinct clusters given, not counting -1
    outlier_share: float  # share of posts labelled -1

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def purity(true: np.ndarray, predicted: np.ndarray) -> float:
    """Share of posts that belong to the majority class of their cluster (-1 counted as one cluster)."""
    if len(true) == 0:
        return 0.0
    _, cluster_rows = np.unique(predicted, return_inverse=True)
    _, class_columns = np.unique(true, return_inverse=True)
    counts = np.zeros((cluster_rows.max() + 1, class_columns.max() + 1), dtype=np.int64)
    np.add.at(counts, (cluster_rows, class_columns), 1)
    return float(counts.max(axis=1).sum() / len(true))


def score_labels(true: np.ndarray, predicted: np.ndarray) -> Scores:
    """Scores of ``predicted`` cluster ids against ``true`` classes (parallel arrays)."""
    homogeneity, completeness, _ = metrics.homogeneity_completeness_v_measure(true, predicted)
    return Scores(
        nmi=float(metrics.normalized_mutual_info_score(true, predicted)),
        ari=float(metrics.adjusted_rand_score(true, predicted)),
        homogeneity=float(homogeneity),
        completeness=float(completeness),
        purity=purity(true, predicted),
        n_clusters=len(np.setdiff1d(np.unique(predicted), [NOT_CLUSTERED])),
        outlier_share=float(np.mean(predicted == NOT_CLUSTERED)) if len(predicted) else 0.0,
    )


def final_cluster(cluster_id: int, merged_into: dict[int, int]) -> int:
    """Follow ``merged`` events from ``cluster_id`` to the cluster that absorbed it last."""
    seen = {cluster_id}
    while cluster_id in merged_into:
        cluster_id = merged_into[cluster_id]
        if cluster_id in seen:  # a cycle would be an engine bug; stop rather than loop
            break
        seen.add(cluster_id)
    return cluster_id


def apply_events(post_ids: Sequence[str], labels: np.ndarray, events: Sequence[ClusterEvent]) -> np.ndarray:
    """Labels after the events: members of a ``created`` event get its cluster (later events win), then every
    label follows ``merged`` events to the cluster it ended in."""
    relabelled = labels.copy()
    row_of = {post_id: row for row, post_id in enumerate(post_ids)}
    merged_into: dict[int, int] = {}
    for event in events:
        if event.kind == EventKind.CREATED:
            rows = [row_of[post_id] for post_id in event.member_post_ids if post_id in row_of]
            relabelled[rows] = event.cluster_id
        elif event.kind == EventKind.MERGED and event.merged_into is not None:
            merged_into[event.cluster_id] = event.merged_into
    if merged_into:
        clusters, inverse = np.unique(relabelled, return_inverse=True)
        resolved = np.array(
            [final_cluster(int(cluster), merged_into) for cluster in clusters], dtype=np.int64
        )
        relabelled = resolved[inverse]
    return relabelled
