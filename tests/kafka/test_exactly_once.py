"""Every post on the input topic gets exactly one committed label."""

from __future__ import annotations

import json

import pytest
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240, func_only=True)]


def test_ten_thousand_posts_give_ten_thousand_labels(stream: Stream, workers: list[WorkerProcess]) -> None:
    posts = post_values(10_000)
    stream.create_topics()
    stream.produce(posts)

    worker = WorkerProcess(stream.config, "solo")
    workers.append(worker)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(10_000, timeout=150)
    labels.read_for(2.0)  # anything beyond 10,000 would be a duplicate: give it a moment to show up
    assert worker.terminate() == 0, worker.log_tail()

    counts = labels.keys()
    assert len(labels.records) == 10_000, worker.log_tail()
    assert set(counts) == {key.decode() for key, _ in posts}
    assert max(counts.values()) == 1
    record = json.loads(labels.records[0].value)
    assert set(record) >= {
        "post_id",
        "cluster_id",
        "similarity",
        "is_outlier",
        "model_version",
        "processed_at",
    }
    assert record["post_id"] == labels.records[0].key.decode()
    labels.close()
    log = worker.log_path.read_text(errors="replace")
    training, ready = log.find("training the first model on "), log.find("first model ready")
    assert 0 <= training < ready, "the worker says it trains before the first labels: " + worker.log_tail()


def test_events_and_catalog_are_committed_with_the_labels(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    stream.create_topics()
    stream.produce(post_values(2_000))
    worker = WorkerProcess(stream.config, "solo")
    workers.append(worker)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(2_000, timeout=120)
    assert worker.terminate() == 0, worker.log_tail()

    events = CommittedReader(stream.bootstrap, stream.topic("events"))
    events.read_to_end()
    catalog = CommittedReader(stream.bootstrap, stream.topic("catalog"))
    catalog.read_to_end()
    created = {
        json.loads(record.value)["cluster_id"]
        for record in events.records
        if json.loads(record.value)["kind"] == "created"
    }
    described = {int(record.key) for record in catalog.records}
    assert created, "the engine should have found clusters in 2,000 Banking77 posts"
    assert created <= described
    for closing in (labels, events, catalog):
        closing.close()
