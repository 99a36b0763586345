"""Every record read counts once in ``streamclust_posts_consumed_total`` per time it is read, also when a failed
transaction drops the batch read while it was in flight. Broker-free, with the fakes of the warm-up tests."""

from __future__ import annotations

from collections import deque

from prometheus_client import CollectorRegistry
from test_warmup_reports import PARTITION, ScriptedConsumer, polls_of

from streamclust.config import Settings
from streamclust.io.kafka.worker.batch_loop import KafkaWorker
from streamclust.io.kafka.worker.committer import TransactionJob, TransactionOutcome
from streamclust.obs.metrics import WorkerMetrics
from streamclust.testing import FirstWordEngine


class ScriptedCommitter:
    """Gives the scripted outcomes in turn, then commits."""

    def __init__(self, outcomes: list[TransactionOutcome]) -> None:
        self.outcomes = deque(outcomes)
        self.jobs: list[TransactionJob] = []
        self.broken = False

    def submit(self, job: TransactionJob) -> None:
        self.jobs.append(job)

    def outcome(self) -> TransactionOutcome:
        return self.outcomes.popleft() if self.outcomes else TransactionOutcome(committed=True)


def test_the_batch_dropped_with_a_failed_transaction_counts_as_read() -> None:
    settings = Settings.model_validate(
        {"encoder": {"warmup_posts": 10}, "kafka": {"batch_size": 10}, "http": {"enabled": False}}
    )
    metrics = WorkerMetrics(CollectorRegistry())
    worker = KafkaWorker(settings, FirstWordEngine(warmup_posts=10), observers=[metrics])
    consumer = ScriptedConsumer(polls_of([10, 10]))
    worker.consumer = consumer
    worker.committer = ScriptedCommitter([TransactionOutcome(committed=False, rebalance=True)])
    worker._running = True
    worker.on_assigned({PARTITION})

    worker.run_once()  # a full batch: its transaction goes in flight while the next batch is read
    worker.run_once()  # the next batch is read; the first transaction fails, so both are read again

    assert consumer.seeks == [(PARTITION, 0)]
    assert metrics.registry.get_sample_value("streamclust_transaction_aborts_total") == 1
    assert metrics.registry.get_sample_value("streamclust_posts_consumed_total") == 20
    assert metrics.registry.get_sample_value("streamclust_posts_labelled_total") == 0
