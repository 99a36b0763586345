"""Synthetic worker reports for the observability tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from streamclust.obs.metrics import WorkerMetrics
from streamclust.observer import WorkerReport
from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import ClusterEvent, EventKind

ReportFactory = Callable[..., WorkerReport]


def labelled_batch(
    similarities: Sequence[float], outliers: Sequence[bool], model_version: int = 1
) -> LabelBatch:
    count = len(similarities)
    return LabelBatch(
        post_ids=[f"post-{index}" for index in range(count)],
        cluster_ids=np.where(np.asarray(outliers, dtype=bool), -1, 0).astype(np.int64),
        similarities=np.asarray(similarities, dtype=np.float32),
        is_outlier=np.asarray(outliers, dtype=bool),
        model_version=model_version,
        processed_at=1_700_000_000.0,
    )


def cluster_event(kind: EventKind, cluster_id: int, size: float = 10.0) -> ClusterEvent:
    return ClusterEvent(kind=kind, cluster_id=cluster_id, size=size, at=1_700_000_000.0)


@pytest.fixture
def event() -> Callable[..., ClusterEvent]:
    """Build a ClusterEvent: event(EventKind.CREATED, cluster_id, size)."""
    return cluster_event


@pytest.fixture
def make_report() -> ReportFactory:
    """Build a WorkerReport for a batch of posts; keyword arguments override stats and report fields."""

    def build(
        similarities: Sequence[float] = (0.9, 0.8, 0.2),
        outliers: Sequence[bool] = (False, False, True),
        events: Sequence[ClusterEvent] = (),
        stats: dict[str, object] | None = None,
        **report_fields: object,
    ) -> WorkerReport:
        labels = labelled_batch(similarities, outliers)
        batch_stats = BatchStats(
            posts_in=len(labels), labelled=len(labels), outliers=int(sum(outliers)), **(stats or {})
        )
        fields: dict[str, object] = {
            "consumed": len(labels),
            "batch_seconds": 0.05,
            "end_to_end_seconds": np.full(len(labels), 0.3),
            "lag": {("posts", 0): 5},
            "assigned_partitions": 1,
        }
        fields.update(report_fields)
        result = BatchResult(labels=labels, events=list(events), stats=batch_stats)
        return WorkerReport(result=result, **fields)

    return build


@pytest.fixture
def exported_metric_names(make_report: ReportFactory) -> set[str]:
    """Every sample name WorkerMetrics exposes once it has seen a full batch and a rebalance."""
    metrics = WorkerMetrics(CollectorRegistry())
    metrics.observe_rebalance(assigned=1, revoked=0)
    events = [cluster_event(kind, cluster_id) for cluster_id, kind in enumerate(EventKind)]
    stats = {"reconstruction_error": 0.1, "retrained": True, "retrain_seconds": 3.0, "label_agreement": 0.9}
    metrics.observe_batch(make_report(events=events, stats=stats, deadlettered={"not_json": 1}))
    return {sample.name for family in metrics.registry.collect() for sample in family.samples}
