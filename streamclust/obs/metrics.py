"""Prometheus metrics for the Kafka worker, recorded from the ``WorkerReport`` it hands its observers.

``WorkerMetrics`` is a ``WorkerObserver``: the worker calls ``observe_batch`` after every batch,
``observe_held`` after each poll of the warm-up (posts read and held, nothing committed) and
``observe_rebalance`` when partitions move. Every metric lives in the injected registry, so tests pass a fresh
``CollectorRegistry`` and read values back with ``registry.get_sample_value``.

Outputs (labelled posts, dead letters, cluster events) are counted only when the batch's transaction
committed: an aborted batch is read again, and counting it twice would overstate what downstream received.
``streamclust_posts_consumed_total`` counts reads, so records read again after an abort count again; reads
during the warm-up count when they happen (each report carries only the reads not reported before), and
``streamclust_pending_posts`` shows the posts held. Gauges that describe the engine (active clusters, model
version, lag) follow every report, and so does ``streamclust_input_mismatch``: 1 for the setting the input does
not match (the first records all lacked the field it names), 0 for the others.

>>> from prometheus_client import CollectorRegistry
>>> from streamclust.observer import HeldReport, WorkerReport
>>> metrics = WorkerMetrics(CollectorRegistry())
>>> metrics.observe_batch(WorkerReport(result=None, consumed=2, deadlettered={"not_json": 2}))
>>> metrics.registry.get_sample_value("streamclust_posts_deadlettered_total", {"reason": "not_json"})
2.0
>>> metrics.observe_held(HeldReport(consumed=500, held=500, warmup_posts=2000))
>>> metrics.registry.get_sample_value("streamclust_pending_posts")
500.0
>>> metrics.observe_batch(WorkerReport(result=None, consumed=100, input_mismatch="input.text_field"))
>>> metrics.registry.get_sample_value("streamclust_input_mismatch", {"setting": "input.text_field"})
1.0
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from streamclust.obs.histograms import BatchHistogram
from streamclust.observer import SAMPLE_LINES, SETTING_OF_REASON, HeldReport, TrainerProgress, WorkerReport
from streamclust.result import BatchResult, BatchStats
from streamclust.schema import ClusterEvent, EventKind

PREFIX = "streamclust"

BATCH_SECONDS_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
END_TO_END_SECONDS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
SIMILARITY_BUCKETS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
RECONSTRUCTION_ERROR_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0)
RETRAIN_SECONDS_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
INPUT_SETTINGS = tuple(f"input.{setting}" for setting in SETTING_OF_REASON.values())


def registry_with_process_collectors() -> CollectorRegistry:
    """A fresh registry with the client library's process, platform and garbage-collector metrics."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


class OutlierWindow:
    """Share of outliers among roughly the last ``window_posts`` labelled posts (whole batches are kept).

    >>> window = OutlierWindow(window_posts=100)
    >>> window.add(labelled=100, outliers=50)
    0.5
    >>> window.add(labelled=100, outliers=0)  # the first batch has left the window
    0.0
    """

    def __init__(self, window_posts: int) -> None:
        if window_posts < 1:
            raise ValueError("the outlier window needs at least one post")
        self._window_posts = window_posts
        self._batches: deque[tuple[int, int]] = deque()
        self._labelled = 0
        self._outliers = 0

    def add(self, labelled: int, outliers: int) -> float:
        self._batches.append((labelled, outliers))
        self._labelled += labelled
        self._outliers += outliers
        while len(self._batches) > 1 and self._labelled - self._batches[0][0] >= self._window_posts:
            old_labelled, old_outliers = self._batches.popleft()
            self._labelled -= old_labelled
            self._outliers -= old_outliers
        return self.share()

    def share(self) -> float:
        return self._outliers / self._labelled if self._labelled else 0.0


class ClusterSizes:
    """The latest size of every live cluster, kept from ``created``/``updated`` events (the engine reports a
    cluster again when it has grown markedly, so these sizes lag slow growth and decay). A copy for the metric:
    observers see only reports; the sizes themselves are the engine's (``ClusterTable.counts``)."""

    def __init__(self) -> None:
        self._sizes: dict[int, float] = {}

    def apply(self, events: list[ClusterEvent]) -> None:
        for event in events:
            if event.kind in (EventKind.CREATED, EventKind.UPDATED):
                self._sizes[event.cluster_id] = event.size
            else:
                self._sizes.pop(event.cluster_id, None)

    def largest(self, count: int) -> list[float]:
        return heapq.nlargest(count, self._sizes.values())


class WorkerMetrics:
    """Every ``streamclust_*`` metric, updated from worker reports.

    ``registry=None`` builds a fresh registry that also carries the process/platform/GC collectors.
    ``outlier_window_posts`` sets the window of ``streamclust_outlier_share``; ``largest_clusters`` how many
    ranks ``streamclust_largest_cluster_size_posts`` reports.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        outlier_window_posts: int = 1000,
        largest_clusters: int = 10,
    ) -> None:
        self.registry = registry if registry is not None else registry_with_process_collectors()
        self._outlier_window = OutlierWindow(outlier_window_posts)
        self._cluster_sizes = ClusterSizes()
        self._largest_clusters = largest_clusters
        self._lag_partitions: set[tuple[str, str]] = set()
        self._assigned_count = 0
        self._declare_throughput()
        self._declare_kafka()
        self._declare_clusters()
        self._declare_model()
        self._declare_trainer()

    def _declare_throughput(self) -> None:
        registry = self.registry
        self.consumed = Counter(
            f"{PREFIX}_posts_consumed", "Records read from Kafka, good and bad.", registry=registry
        )
        self.labelled = Counter(
            f"{PREFIX}_posts_labelled", "Posts labelled and committed.", registry=registry
        )
        self.deadlettered = Counter(
            f"{PREFIX}_posts_deadlettered",
            "Records sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=registry,
        )
        self.input_mismatch = Gauge(
            f"{PREFIX}_input_mismatch",
            f"1 when the first {SAMPLE_LINES} records read were all dead-lettered for lacking the field this "
            "setting names (the log says which fields they have), until records decode as posts again.",
            ["setting"],
            registry=registry,
        )
        for setting in INPUT_SETTINGS:
            self.input_mismatch.labels(setting=setting).set(0)
        self.batch_seconds = Histogram(
            f"{PREFIX}_batch_processing_seconds",
            "Time from a batch's first record in hand to its transaction committed.",
            buckets=BATCH_SECONDS_BUCKETS,
            registry=registry,
        )
        self.end_to_end_seconds = BatchHistogram(
            f"{PREFIX}_end_to_end_seconds",
            "Time from a post's timestamp to its label, per labelled post.",
            buckets=END_TO_END_SECONDS_BUCKETS,
            registry=registry,
        )

    def _declare_kafka(self) -> None:
        registry = self.registry
        self.ready = Gauge(
            f"{PREFIX}_ready",
            "1 while /readyz answers 200: partitions assigned, the model warm (0 through the warm-up) and the last "
            "transaction committed.",
            registry=registry,
        )
        self.lag = Gauge(
            f"{PREFIX}_consumer_lag_records",
            "Records behind the end of each assigned partition.",
            ["topic", "partition"],
            registry=registry,
        )
        self.assigned_partitions = Gauge(
            f"{PREFIX}_assigned_partitions", "Partitions assigned to this worker.", registry=registry
        )
        self.commits = Counter(
            f"{PREFIX}_transaction_commits", "Kafka transactions committed.", registry=registry
        )
        self.aborts = Counter(
            f"{PREFIX}_transaction_aborts", "Kafka transactions aborted.", registry=registry
        )
        self.transaction_retries = Counter(
            f"{PREFIX}_transaction_retries",
            "Batch transactions that failed (not for a fence or a rebalance) and are tried again after a pause.",
            registry=registry,
        )
        self.commit_failing = Gauge(
            f"{PREFIX}_commit_failing",
            "1 while the last batch transactions failed and are being retried (the worker is not ready); it "
            "stops when kafka.max_transaction_retries are used up.",
            registry=registry,
        )
        self.rebalances = Counter(
            f"{PREFIX}_rebalances", "Consumer group rebalances seen.", registry=registry
        )
        self.partitions_assigned = Counter(
            f"{PREFIX}_partitions_assigned", "Partitions gained in rebalances.", registry=registry
        )
        self.partitions_revoked = Counter(
            f"{PREFIX}_partitions_revoked", "Partitions lost in rebalances.", registry=registry
        )

    def _declare_clusters(self) -> None:
        registry = self.registry
        self.active_clusters = Gauge(
            f"{PREFIX}_active_clusters", "Clusters currently active.", registry=registry
        )
        self.created = Counter(f"{PREFIX}_clusters_created", "Clusters born (new topics).", registry=registry)
        self.merged = Counter(f"{PREFIX}_clusters_merged", "Clusters merged into another.", registry=registry)
        self.retired = Counter(f"{PREFIX}_clusters_retired", "Clusters retired as stale.", registry=registry)
        self.outliers = Counter(f"{PREFIX}_outliers", "Labelled posts judged outliers.", registry=registry)
        self.outlier_share = Gauge(
            f"{PREFIX}_outlier_share",
            "Share of outliers among the most recent labelled posts (a window of whole batches).",
            registry=registry,
        )
        self.pending = Gauge(
            f"{PREFIX}_pending_posts",
            "Posts held back (model warm-up) and not labelled yet.",
            registry=registry,
        )
        self.similarity = BatchHistogram(
            f"{PREFIX}_assignment_similarity",
            "Cosine similarity of each labelled post to its nearest centroid.",
            buckets=SIMILARITY_BUCKETS,
            registry=registry,
        )
        self.largest_cluster_size = Gauge(
            f"{PREFIX}_largest_cluster_size_posts",
            "Size of the rank-th largest live cluster (rank 1 is the largest), as of its last created/updated event.",
            ["rank"],
            registry=registry,
        )

    def _declare_model(self) -> None:
        registry = self.registry
        self.checkpoints = Counter(
            f"{PREFIX}_checkpoints",
            "Solo mode: model checkpoints committed to the state topic with a batch.",
            registry=registry,
        )
        self.checkpoint_bytes = Gauge(
            f"{PREFIX}_checkpoint_size_bytes",
            "Size of the last committed model checkpoint.",
            registry=registry,
        )
        self.last_checkpoint = Gauge(
            f"{PREFIX}_last_checkpoint_timestamp_seconds",
            "Unix time the last model checkpoint was committed (restarts catch up from there).",
            registry=registry,
        )
        self.reconstruction_error = Histogram(
            f"{PREFIX}_reconstruction_error",
            "Mean autoencoder reconstruction error of each batch.",
            buckets=RECONSTRUCTION_ERROR_BUCKETS,
            registry=registry,
        )
        self.drift_detections = Counter(
            f"{PREFIX}_drift_detections", "Batches in which the drift detector fired.", registry=registry
        )
        self.retrains_started = Counter(
            f"{PREFIX}_retrains_started", "Encoder retrains started.", registry=registry
        )
        self.retrains = Counter(
            f"{PREFIX}_retrains", "Encoder retrains completed and swapped in.", registry=registry
        )
        self.retrain_failures = Counter(
            f"{PREFIX}_retrain_failures",
            "Encoder retrains that ended without producing a model (the previous model stays in use).",
            registry=registry,
        )
        self.retrain_in_progress = Gauge(
            f"{PREFIX}_retrain_in_progress",
            "1 while a started retrain has not been swapped in yet.",
            registry=registry,
        )
        self.retrain_seconds = Histogram(
            f"{PREFIX}_retrain_duration_seconds",
            "Time a completed retrain took.",
            buckets=RETRAIN_SECONDS_BUCKETS,
            registry=registry,
        )
        self.model_version = Gauge(
            f"{PREFIX}_model_version", "Version of the encoder in use.", registry=registry
        )
        self.label_agreement = Gauge(
            f"{PREFIX}_label_agreement_ratio",
            "Share of reservoir posts whose label survived the last retrain.",
            registry=registry,
        )
        self.centroid_shift = Gauge(
            f"{PREFIX}_centroid_shift",
            "Mean (1 - cosine) movement of the centroids updated in the last batch.",
            registry=registry,
        )

    def _declare_trainer(self) -> None:
        registry = self.registry
        self.is_trainer = Gauge(
            f"{PREFIX}_is_trainer",
            "Shared mode: 1 while this worker is the elected trainer.",
            registry=registry,
        )
        self.trainer_lag = Gauge(
            f"{PREFIX}_trainer_lag_posts",
            "Shared mode, on the trainer: posts on the input topic the model has not learned yet.",
            registry=registry,
        )
        self.trainer_position = Gauge(
            f"{PREFIX}_trainer_position_posts",
            "Shared mode, on the trainer: posts the model has learned from.",
            registry=registry,
        )
        self.models_published = Counter(
            f"{PREFIX}_models_published",
            "Shared mode: models this worker published as the trainer.",
            registry=registry,
        )

    def watch_readiness(self, is_ready: Callable[[], bool]) -> None:
        """``streamclust_ready`` asks ``is_ready`` (the worker's, as /readyz does) at every scrape."""
        self.ready.set_function(lambda: 1.0 if is_ready() else 0.0)

    def observe_trainer(self, progress: TrainerProgress | None) -> None:
        """After each trainer step (``None``: this worker is not, or no longer, the trainer)."""
        if progress is None:
            self.is_trainer.set(0)
            self.trainer_lag.set(0)
            return
        self.is_trainer.set(1)
        self.trainer_lag.set(progress.lag_posts)
        self.trainer_position.set(progress.position)
        if progress.published:
            self.models_published.inc()

    def observe_batch(self, report: WorkerReport) -> None:
        self.consumed.inc(report.consumed)
        self._observe_input(report.input_mismatch)
        self.batch_seconds.observe(report.batch_seconds)
        self._observe_kafka(report)
        if report.committed:
            for reason, count in report.deadlettered.items():
                self.deadlettered.labels(reason=reason).inc(count)
        if report.result is not None:
            self._observe_engine(report.result.stats)
            if report.committed:
                self._observe_outputs(report.result)
                self.end_to_end_seconds.observe_many(report.end_to_end_seconds)
        if report.committed and report.checkpoint_bytes:
            self.checkpoints.inc()
            self.checkpoint_bytes.set(report.checkpoint_bytes)
            self.last_checkpoint.set_to_current_time()

    def observe_held(self, report: HeldReport) -> None:
        """A poll of the warm-up: reads count now, and the held posts show as pending."""
        self.consumed.inc(report.consumed)
        self._observe_input(report.input_mismatch)
        self.pending.set(report.held)
        self._assigned_count = report.assigned_partitions
        self.assigned_partitions.set(report.assigned_partitions)
        self._observe_lag(report.lag, report.assigned_partitions)

    def observe_rebalance(self, assigned: int, revoked: int) -> None:
        """Partitions moved; the assigned count follows at once (the next report gives the exact count)."""
        self._assigned_count = max(0, self._assigned_count + assigned - revoked)
        self.assigned_partitions.set(self._assigned_count)
        self.rebalances.inc()
        self.partitions_assigned.inc(assigned)
        self.partitions_revoked.inc(revoked)

    def _observe_input(self, mismatch: str | None) -> None:
        for setting in INPUT_SETTINGS:
            self.input_mismatch.labels(setting=setting).set(1 if setting == mismatch else 0)

    def _observe_kafka(self, report: WorkerReport) -> None:
        self._assigned_count = report.assigned_partitions
        self.assigned_partitions.set(report.assigned_partitions)
        if report.committed:
            self.commits.inc()
        if report.aborted:
            self.aborts.inc()
            if report.failed_transactions:
                self.transaction_retries.inc()
        self.commit_failing.set(1 if report.failed_transactions else 0)
        self._observe_lag(report.lag, report.assigned_partitions)

    def _observe_lag(self, lag: dict[tuple[str, int], int], assigned_partitions: int) -> None:
        if not lag and assigned_partitions:
            return  # lag was not measured for this batch
        # The report holds the lag of every assigned partition: forget partitions this worker no longer has.
        current = {(topic, str(partition)) for topic, partition in lag}
        for gone_topic, gone_partition in self._lag_partitions - current:
            self.lag.remove(gone_topic, gone_partition)
        self._lag_partitions = current
        for (topic, partition), behind in lag.items():
            self.lag.labels(topic=topic, partition=str(partition)).set(behind)

    def _observe_engine(self, stats: BatchStats) -> None:
        """Gauges and model events: true of the engine whether or not the batch's outputs were committed."""
        self.active_clusters.set(stats.active_clusters)
        self.model_version.set(stats.model_version)
        self.pending.set(stats.pending)
        self.centroid_shift.set(stats.centroid_shift)
        if stats.reconstruction_error is not None:
            self.reconstruction_error.observe(stats.reconstruction_error)
        if stats.drift_detected:
            self.drift_detections.inc()
        # A batch can end one retrain and start the next, in that order.
        if stats.retrained:
            self.retrains.inc()
            self.retrain_in_progress.set(0)
            if stats.retrain_seconds is not None:
                self.retrain_seconds.observe(stats.retrain_seconds)
        elif stats.retrain_seconds is not None:
            # The engine reports the duration of every retrain that ended; one that ended without a swap failed.
            self.retrain_failures.inc()
            self.retrain_in_progress.set(0)
        if stats.retrain_started:
            self.retrains_started.inc()
            self.retrain_in_progress.set(1)
        if stats.label_agreement is not None:
            self.label_agreement.set(stats.label_agreement)

    def _observe_outputs(self, result: BatchResult) -> None:
        """Counters of what downstream received: only for committed batches."""
        stats = result.stats
        self.labelled.inc(stats.labelled)
        self.outliers.inc(stats.outliers)
        if stats.labelled:
            self.outlier_share.set(self._outlier_window.add(stats.labelled, stats.outliers))
        self.similarity.observe_many(result.labels.similarities)
        kinds = [event.kind for event in result.events]
        self.created.inc(kinds.count(EventKind.CREATED))
        self.merged.inc(kinds.count(EventKind.MERGED))
        self.retired.inc(kinds.count(EventKind.RETIRED))
        self._cluster_sizes.apply(result.events)
        self._publish_largest_clusters()

    def _publish_largest_clusters(self) -> None:
        sizes = self._cluster_sizes.largest(self._largest_clusters)
        for rank in range(1, self._largest_clusters + 1):
            if rank <= len(sizes):
                self.largest_cluster_size.labels(rank=str(rank)).set(sizes[rank - 1])
            else:
                self.largest_cluster_size.labels(rank=str(rank)).set(0)
