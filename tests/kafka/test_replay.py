"""``streamclust replay`` labels a range of the input topic again with the live worker's model, into a topic of
its own, and leaves the live worker's topics, offsets and model alone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

from streamclust.cli import main
from streamclust.config import Settings, load_settings
from streamclust.io.kafka.durability.state_topic import read_latest_state

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300, func_only=True)]

OLD, NEW, BAD = 1_000, 500, 5
HOUR_MS = 3_600_000


def live_settings(stream: Stream) -> Settings:
    mapping = stream.settings_mapping()
    mapping["state"] = {"checkpoint_every_posts": 500}
    stream.config.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return load_settings(stream.config)


def produce_old_and_new(stream: Stream) -> tuple[list[str], list[str], int]:
    """OLD posts (and BAD records that are not posts) stamped two hours ago, NEW posts one hour ago; returns
    the ids of both and a time between them (ms)."""
    now_ms = int(time.time() * 1000)
    producer = KafkaProducer(bootstrap_servers=stream.bootstrap, acks="all")
    old = post_values(OLD, prefix="old-")
    new = post_values(NEW, prefix="new-")
    for key, value in old:
        producer.send(stream.topic("input"), key=key, value=value, timestamp_ms=now_ms - 2 * HOUR_MS)
    for number in range(BAD):
        producer.send(stream.topic("input"), value=b"not json %d" % number, timestamp_ms=now_ms - 2 * HOUR_MS)
    for key, value in new:
        producer.send(stream.topic("input"), key=key, value=value, timestamp_ms=now_ms - HOUR_MS)
    producer.flush()
    producer.close()
    return [key.decode() for key, _ in old], [key.decode() for key, _ in new], now_ms - HOUR_MS - HOUR_MS // 2


def live_footprint(settings: Settings) -> dict[str, Any]:
    """The live worker's committed offsets and the end offsets of every topic it writes."""
    kafka = settings.kafka
    consumer = KafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=kafka.group_id)
    try:
        topics = [kafka.labels_topic, kafka.events_topic, kafka.catalog_topic, kafka.deadletter_topic]
        partitions = [
            TopicPartition(topic, number)
            for topic in [*topics, kafka.state_topic]
            for number in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        inputs = [TopicPartition(kafka.input_topic, n) for n in range(kafka.topic_partitions)]
        return {
            "ends": consumer.end_offsets(partitions),
            "committed": {tp: consumer.committed(tp) for tp in inputs},
        }
    finally:
        consumer.close()


def replayed_labels(stream: Stream, topic: str, expected: int) -> list[dict[str, Any]]:
    reader = CommittedReader(stream.bootstrap, topic)
    reader.read_until(expected, timeout=30)
    reader.read_for(1.0)
    reader.close()
    return [json.loads(record.value) for record in reader.records]


def test_replay_relabels_the_topic_without_touching_the_live_worker(
    stream: Stream, workers: list[WorkerProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    settings = live_settings(stream)
    stream.create_topics()
    old_ids, new_ids, between_ms = produce_old_and_new(stream)
    worker = WorkerProcess(stream.config, "live")
    workers.append(worker)
    live = CommittedReader(stream.bootstrap, stream.topic("labels"))
    live.read_until(OLD + NEW, timeout=150)
    assert worker.terminate() == 0, worker.log_tail()
    live.close()
    before = live_footprint(settings)

    assert (
        main(["replay", "--config", str(stream.config), "--from-beginning", "--output-topic", "again"]) == 0
    )
    summary = capsys.readouterr().err
    assert f"replayed {OLD + NEW} posts into again" in summary and f"skipped {BAD} records" in summary

    labels = replayed_labels(stream, "again", OLD + NEW)
    assert sorted(label["post_id"] for label in labels) == sorted(old_ids + new_ids)
    model = read_latest_state(settings.kafka, settings.kafka.group_id)
    assert model is not None and {label["model_version"] for label in labels} == {model.model_version}
    assert sum(label["cluster_id"] >= 0 for label in labels) > (OLD + NEW) // 2
    assert live_footprint(settings) == before  # no label, event, catalog entry, checkpoint or offset moved

    stamp = datetime.fromtimestamp(between_ms / 1000, tz=UTC).isoformat()
    args = ["replay", "--config", str(stream.config), "--from-timestamp", stamp, "--output-topic", "recent"]
    assert main([*args, "--group", "replay-recent"]) == 0
    recent = replayed_labels(stream, "recent", NEW)
    assert sorted(label["post_id"] for label in recent) == sorted(new_ids)
    # Run again with the same group: it had reached its end, so there is nothing left to label.
    assert main([*args, "--group", "replay-recent"]) == 0
    assert len(replayed_labels(stream, "recent", NEW)) == NEW
    assert live_footprint(settings) == before


def test_replay_refuses_the_live_labels_topic_and_a_missing_model(
    stream: Stream, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = live_settings(stream)
    stream.create_topics()
    args = ["replay", "--config", str(stream.config), "--from-beginning", "--output-topic"]
    assert main([*args, settings.kafka.labels_topic]) == 2
    assert "live worker's kafka.labels_topic" in capsys.readouterr().err
    assert main([*args, "elsewhere"]) == 2
    assert "run the worker (streamclust run)" in capsys.readouterr().err
