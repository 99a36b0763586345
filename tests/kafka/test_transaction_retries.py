"""A batch transaction the broker keeps refusing is retried with a growing pause, a bounded number of times;
then the worker stops and says what to do. Meanwhile it is not ready and its metrics say why.

The broker refuses for real: the labels topic takes no record larger than 100 bytes, so every batch
transaction fails with the broker's "record too large" error.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from kafka.admin import KafkaAdminClient, NewTopic
from kafka_support import CommittedReader, Stream, post_values
from prometheus_client import CollectorRegistry

from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka import KafkaWorker
from streamclust.obs.metrics import WorkerMetrics

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(180, func_only=True)]


def test_a_transaction_the_broker_keeps_refusing_is_retried_with_back_off_then_the_worker_stops(
    stream: Stream, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=1, max_transaction_retries=2)
    admin = KafkaAdminClient(bootstrap_servers=stream.bootstrap)
    tiny = NewTopic(stream.topic("labels"), 1, 1, topic_configs={"max.message.bytes": "100"})
    admin.create_topics([tiny])
    admin.close()
    stream.create_topics()
    stream.produce(post_values(300, prefix="refused-"))

    settings = load_settings(stream.config)
    metrics = WorkerMetrics(CollectorRegistry())
    worker = KafkaWorker(settings, Engine.from_settings(settings), observers=[metrics], instance_id="solo")
    stopped_with: list[BaseException] = []
    readiness: list[tuple[int, bool]] = []  # (failed transactions in a row, ready) while it runs

    def run() -> None:
        try:
            worker.run(max_seconds=120)
        except BaseException as error:  # kept for the test
            stopped_with.append(error)

    caplog.set_level(logging.INFO, logger="streamclust.kafka")
    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while thread.is_alive() and time.monotonic() - started < 120:
        readiness.append((worker.failed_transactions, worker.is_ready()))
        time.sleep(0.05)
    took = time.monotonic() - started

    assert len(stopped_with) == 1 and isinstance(stopped_with[0], KafkaSetupError), stopped_with
    message = str(stopped_with[0])
    assert "failed 3 times in a row" in message and "kafka.max_transaction_retries" in message
    assert "a restart reads the batch again" in message
    pauses = [
        record.pause_seconds  # type: ignore[attr-defined]
        for record in caplog.records
        if record.getMessage().startswith("transaction failed and was aborted")
    ]
    assert pauses == [0.5, 1.0]
    assert took > sum(pauses)
    retrying = [ready for failures, ready in readiness if failures > 0]
    assert retrying and not any(retrying), "ready while transactions were failing"
    assert metrics.registry.get_sample_value("streamclust_commit_failing") == 1
    assert metrics.registry.get_sample_value("streamclust_transaction_retries_total") == 3
    assert metrics.registry.get_sample_value("streamclust_transaction_commits_total") == 0

    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_for(1.0)
    assert labels.records == []  # nothing half-written
    labels.close()
