"""WorkerMetrics turns worker reports into streamclust_* metrics, read back from a fresh registry."""

from __future__ import annotations

import doctest
from collections.abc import Callable

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

import streamclust.obs.histograms
import streamclust.obs.live_view
import streamclust.obs.metrics
from streamclust.obs.metrics import WorkerMetrics
from streamclust.observer import HeldReport, TrainerProgress, WorkerReport
from streamclust.schema import ClusterEvent, EventKind

ReportFactory = Callable[..., WorkerReport]
EventFactory = Callable[..., ClusterEvent]


@pytest.fixture
def metrics() -> WorkerMetrics:
    return WorkerMetrics(CollectorRegistry())


def value(metrics: WorkerMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_a_committed_batch_counts_consumed_labelled_and_dead_lettered_posts(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report(consumed=5, deadlettered={"not_json": 1, "too_large": 1}))
    metrics.observe_batch(make_report(consumed=4, deadlettered={"not_json": 1}))

    assert value(metrics, "streamclust_posts_consumed_total") == 9
    assert value(metrics, "streamclust_posts_labelled_total") == 6
    assert value(metrics, "streamclust_posts_deadlettered_total", reason="not_json") == 2
    assert value(metrics, "streamclust_posts_deadlettered_total", reason="too_large") == 1
    assert value(metrics, "streamclust_transaction_commits_total") == 2
    assert value(metrics, "streamclust_batch_processing_seconds_count") == 2


def test_an_aborted_batch_counts_the_read_but_not_the_outputs(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(
        make_report(consumed=3, deadlettered={"not_json": 1}, committed=False, aborted=True)
    )

    assert value(metrics, "streamclust_posts_consumed_total") == 3
    assert value(metrics, "streamclust_transaction_aborts_total") == 1
    assert value(metrics, "streamclust_transaction_commits_total") == 0
    assert value(metrics, "streamclust_posts_labelled_total") == 0
    assert value(metrics, "streamclust_posts_deadlettered_total", reason="not_json") is None
    assert value(metrics, "streamclust_end_to_end_seconds_count") == 0


def test_warm_up_polls_count_reads_and_show_held_posts_before_anything_is_committed(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_held(HeldReport(consumed=800, held=800, warmup_posts=2000, lag={("posts", 0): 1200}))
    metrics.observe_held(HeldReport(consumed=12, held=812, warmup_posts=2000, lag={("posts", 0): 1188}))

    assert value(metrics, "streamclust_pending_posts") == 812
    assert value(metrics, "streamclust_posts_consumed_total") == 812
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="0") == 1188
    assert value(metrics, "streamclust_transaction_commits_total") == 0

    # The batch that ends the warm-up reports only the reads not reported yet.
    metrics.observe_batch(make_report(consumed=3, stats={"pending": 0}))

    assert value(metrics, "streamclust_posts_consumed_total") == 815
    assert value(metrics, "streamclust_pending_posts") == 0


def test_failing_transactions_set_commit_failing_until_one_commits(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    for failures in (1, 2):
        metrics.observe_batch(make_report(committed=False, aborted=True, failed_transactions=failures))
    assert value(metrics, "streamclust_commit_failing") == 1
    assert value(metrics, "streamclust_transaction_retries_total") == 2

    metrics.observe_batch(make_report())

    assert value(metrics, "streamclust_commit_failing") == 0
    assert value(metrics, "streamclust_transaction_retries_total") == 2


def test_a_batch_of_dead_letters_only_has_no_engine_result(metrics: WorkerMetrics) -> None:
    metrics.observe_batch(WorkerReport(result=None, consumed=2, deadlettered={"missing_text": 2}))

    assert value(metrics, "streamclust_posts_deadlettered_total", reason="missing_text") == 2
    assert value(metrics, "streamclust_posts_labelled_total") == 0


def test_input_that_does_not_match_the_settings_shows_the_setting_until_posts_decode_again(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    def mismatch() -> dict[str, float | None]:
        return {
            setting: value(metrics, "streamclust_input_mismatch", setting=setting)
            for setting in ("input.text_field", "input.id_field")
        }

    assert mismatch() == {"input.text_field": 0, "input.id_field": 0}, "both are there before any record"

    metrics.observe_batch(
        WorkerReport(
            result=None, consumed=100, deadlettered={"missing_text": 100}, input_mismatch="input.text_field"
        )
    )
    assert mismatch() == {"input.text_field": 1, "input.id_field": 0}

    metrics.observe_held(
        HeldReport(consumed=40, held=40, warmup_posts=200, input_mismatch="input.text_field")
    )
    assert mismatch() == {"input.text_field": 1, "input.id_field": 0}, "the warm-up's reports carry it too"

    metrics.observe_batch(make_report())  # the records decode as posts again
    assert mismatch() == {"input.text_field": 0, "input.id_field": 0}


def test_lag_is_a_gauge_per_partition_and_revoked_partitions_disappear(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report(lag={("posts", 0): 10, ("posts", 1): 7}, assigned_partitions=2))
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="0") == 10
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="1") == 7
    assert value(metrics, "streamclust_assigned_partitions") == 2

    metrics.observe_rebalance(assigned=0, revoked=1)
    metrics.observe_batch(make_report(lag={("posts", 0): 3}, assigned_partitions=1))

    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="0") == 3
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="1") is None
    assert value(metrics, "streamclust_assigned_partitions") == 1
    assert value(metrics, "streamclust_rebalances_total") == 1
    assert value(metrics, "streamclust_partitions_revoked_total") == 1


def test_ready_follows_the_worker_at_every_scrape(metrics: WorkerMetrics) -> None:
    warm = False
    metrics.watch_readiness(lambda: warm)
    assert value(metrics, "streamclust_ready") == 0

    warm = True
    assert value(metrics, "streamclust_ready") == 1


def test_assigned_partitions_show_before_the_first_post(metrics: WorkerMetrics) -> None:
    metrics.observe_rebalance(assigned=3, revoked=0)
    assert value(metrics, "streamclust_assigned_partitions") == 3

    metrics.observe_rebalance(assigned=0, revoked=3)
    metrics.observe_rebalance(assigned=2, revoked=0)
    assert value(metrics, "streamclust_assigned_partitions") == 2


def test_a_batch_without_a_lag_measurement_keeps_the_last_one(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report(lag={("posts", 0): 10}))
    metrics.observe_batch(make_report(lag={}, assigned_partitions=1))
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="0") == 10

    metrics.observe_batch(make_report(lag={}, assigned_partitions=0))
    assert value(metrics, "streamclust_consumer_lag_records", topic="posts", partition="0") is None


def test_cluster_events_are_counted_and_the_largest_clusters_ranked(
    metrics: WorkerMetrics, make_report: ReportFactory, event: EventFactory
) -> None:
    first = [
        event(EventKind.CREATED, 1, 30.0),
        event(EventKind.CREATED, 2, 50.0),
        event(EventKind.CREATED, 3, 5.0),
    ]
    metrics.observe_batch(make_report(events=first, stats={"active_clusters": 3}))
    second = [event(EventKind.UPDATED, 3, 70.0), event(EventKind.MERGED, 2), event(EventKind.RETIRED, 1)]
    metrics.observe_batch(make_report(events=second, stats={"active_clusters": 1}))

    assert value(metrics, "streamclust_clusters_created_total") == 3
    assert value(metrics, "streamclust_clusters_merged_total") == 1
    assert value(metrics, "streamclust_clusters_retired_total") == 1
    assert value(metrics, "streamclust_active_clusters") == 1
    assert value(metrics, "streamclust_largest_cluster_size_posts", rank="1") == 70
    assert value(metrics, "streamclust_largest_cluster_size_posts", rank="2") == 0


def test_outlier_share_follows_a_window_of_recent_posts(make_report: ReportFactory) -> None:
    metrics = WorkerMetrics(CollectorRegistry(), outlier_window_posts=4)
    metrics.observe_batch(make_report(similarities=[0.1] * 4, outliers=[True] * 4))
    assert value(metrics, "streamclust_outlier_share") == 1.0

    metrics.observe_batch(make_report(similarities=[0.9] * 4, outliers=[False, False, False, True]))

    assert value(metrics, "streamclust_outlier_share") == 0.25
    assert value(metrics, "streamclust_outliers_total") == 5


def test_similarities_and_end_to_end_latencies_fill_histograms_per_post(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    report = make_report(
        similarities=[0.95, 0.72, 0.31, float("nan")],
        outliers=[False, False, True, True],
        end_to_end_seconds=np.array([0.05, 2.0, 40.0, 7200.0]),
    )
    metrics.observe_batch(report)

    assert value(metrics, "streamclust_assignment_similarity_bucket", le="0.4") == 1
    assert value(metrics, "streamclust_assignment_similarity_bucket", le="0.95") == 3
    assert value(metrics, "streamclust_assignment_similarity_count") == 3  # NaN is not an observation
    assert value(metrics, "streamclust_assignment_similarity_sum") == pytest.approx(1.98, abs=1e-5)
    assert value(metrics, "streamclust_end_to_end_seconds_bucket", le="0.1") == 1
    assert value(metrics, "streamclust_end_to_end_seconds_bucket", le="60.0") == 3
    assert value(metrics, "streamclust_end_to_end_seconds_bucket", le="+Inf") == 4


def test_model_and_drift_numbers_follow_the_batch_stats(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(
        make_report(stats={"reconstruction_error": 0.04, "drift_detected": True, "retrain_started": True})
    )
    assert value(metrics, "streamclust_drift_detections_total") == 1
    assert value(metrics, "streamclust_retrains_started_total") == 1
    assert value(metrics, "streamclust_retrain_in_progress") == 1
    assert value(metrics, "streamclust_reconstruction_error_bucket", le="0.05") == 1
    assert value(metrics, "streamclust_reconstruction_error_bucket", le="0.025") == 0

    swapped = {"retrained": True, "retrain_seconds": 12.5, "label_agreement": 0.93, "model_version": 2}
    metrics.observe_batch(make_report(stats={**swapped, "centroid_shift": 0.01}))

    assert value(metrics, "streamclust_retrains_total") == 1
    assert value(metrics, "streamclust_retrain_in_progress") == 0
    assert value(metrics, "streamclust_retrain_duration_seconds_sum") == 12.5
    assert value(metrics, "streamclust_model_version") == 2
    assert value(metrics, "streamclust_label_agreement_ratio") == 0.93
    assert value(metrics, "streamclust_centroid_shift") == 0.01
    assert value(metrics, "streamclust_retrain_failures_total") == 0


def test_without_a_registry_the_process_collectors_are_included() -> None:
    metrics = WorkerMetrics()

    names = {metric.name for metric in metrics.registry.collect()}

    assert {"process_cpu_seconds", "python_info", "python_gc_objects_collected"} <= names
    assert "streamclust_posts_labelled" in names


def test_two_workers_in_one_process_do_not_share_metrics(make_report: ReportFactory) -> None:
    first, second = WorkerMetrics(), WorkerMetrics()
    first.observe_batch(make_report())
    assert second.registry.get_sample_value("streamclust_posts_labelled_total") == 0


@pytest.mark.parametrize(
    "module", [streamclust.obs.metrics, streamclust.obs.histograms, streamclust.obs.live_view]
)
def test_the_module_examples_run(module: object) -> None:
    outcome = doctest.testmod(module)
    assert outcome.attempted > 0
    assert outcome.failed == 0


def test_a_retrain_that_ends_without_a_swap_counts_as_a_failure(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report(stats={"retrain_started": True}))
    metrics.observe_batch(make_report(stats={"retrain_seconds": 4.0}))  # ended, nothing swapped in

    assert value(metrics, "streamclust_retrain_failures_total") == 1
    assert value(metrics, "streamclust_retrains_total") == 0
    assert value(metrics, "streamclust_retrain_in_progress") == 0


def test_a_batch_that_swaps_one_retrain_in_and_starts_the_next_leaves_one_in_progress(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report(stats={"retrain_started": True}))
    metrics.observe_batch(
        make_report(stats={"retrained": True, "retrain_seconds": 2.0, "retrain_started": True})
    )

    assert value(metrics, "streamclust_retrains_total") == 1
    assert value(metrics, "streamclust_retrains_started_total") == 2
    assert value(metrics, "streamclust_retrain_in_progress") == 1


def test_the_trainer_reports_its_role_lag_and_publications(metrics: WorkerMetrics) -> None:
    metrics.observe_trainer(TrainerProgress(lag_posts=1200, model_version=2, position=5000, published=True))
    metrics.observe_trainer(TrainerProgress(lag_posts=300, model_version=2, position=5900, published=False))

    assert value(metrics, "streamclust_is_trainer") == 1
    assert value(metrics, "streamclust_trainer_lag_posts") == 300
    assert value(metrics, "streamclust_trainer_position_posts") == 5900
    assert value(metrics, "streamclust_models_published_total") == 1

    metrics.observe_trainer(None)  # the role moved to another worker
    assert value(metrics, "streamclust_is_trainer") == 0
    assert value(metrics, "streamclust_trainer_lag_posts") == 0


def test_a_batch_that_carried_a_checkpoint_counts_it_with_its_size_and_time(
    metrics: WorkerMetrics, make_report: ReportFactory
) -> None:
    metrics.observe_batch(make_report())
    assert value(metrics, "streamclust_checkpoints_total") == 0
    assert value(metrics, "streamclust_last_checkpoint_timestamp_seconds") == 0

    metrics.observe_batch(make_report(checkpoint_bytes=16_000_000))
    metrics.observe_batch(make_report(checkpoint_bytes=9_000, committed=False, aborted=True))

    assert value(metrics, "streamclust_checkpoints_total") == 1
    assert value(metrics, "streamclust_checkpoint_size_bytes") == 16_000_000
    last = value(metrics, "streamclust_last_checkpoint_timestamp_seconds")
    assert last is not None and last > 1.7e9
