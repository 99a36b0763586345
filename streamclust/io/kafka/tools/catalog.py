"""Read back what the worker committed about clusters: the catalog topic (each cluster's history of entries),
and recent posts of one cluster (its labels joined with the input topic's texts)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streamclust.config import InputSettings, KafkaSettings
from streamclust.errors import KafkaSetupError
from streamclust.io.decode import decode_json
from streamclust.io.kafka.clients import connect_consumer, reader_config
from streamclust.schema import CatalogEntry, Post


@dataclass(frozen=True)
class ExamplePost:
    post_id: str
    similarity: float
    processed_at: float
    text: str | None  # None when the post is no longer in the scanned part of the input topic


def read_topic_end(
    kafka: KafkaSettings, topic: str, *, last: int | None = None, timeout: float = 30.0
) -> Iterator[Any]:
    """Committed records of ``topic`` up to its current end (the last ``last`` offsets of each partition, or
    all), then stop. A topic that does not exist is a KafkaSetupError naming it."""
    consumer: KafkaConsumer = connect_consumer(reader_config(kafka), give_up_after=timeout)
    try:
        numbers = consumer.partitions_for_topic(topic)
        if not numbers:
            raise KafkaSetupError(
                f"topic {topic} does not exist on {kafka.bootstrap_servers}; check kafka.* in --config "
                "(the worker creates it on its first start)"
            )
        partitions = [TopicPartition(topic, number) for number in sorted(numbers)]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        for partition in partitions:
            first = starts[partition] if last is None else max(starts[partition], ends[partition] - last)
            consumer.seek(partition, first)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(consumer.position(p) < ends[p] for p in partitions):
            for batch in consumer.poll(timeout_ms=200).values():
                yield from batch
    finally:
        consumer.close()


def read_catalog(kafka: KafkaSettings, timeout: float = 30.0) -> dict[int, list[CatalogEntry]]:
    """Every entry the catalog topic still holds, per cluster id, oldest first (compaction may have removed
    older entries of a cluster; the last one is always there)."""
    history: dict[int, list[CatalogEntry]] = defaultdict(list)
    for record in read_topic_end(kafka, kafka.catalog_topic, timeout=timeout):
        try:
            entry = CatalogEntry.model_validate_json(record.value)
        except ValueError:
            continue  # not written by streamclust
        history[entry.cluster_id].append(entry)
    for entries in history.values():
        entries.sort(key=lambda entry: entry.last_seen_at)
    return dict(history)


def recent_posts(
    kafka: KafkaSettings,
    input_fields: InputSettings,
    cluster_id: int,
    count: int = 5,
    scan: int = 50_000,
    timeout: float = 30.0,
    progress: Callable[[str], None] = lambda message: None,
) -> list[ExamplePost]:
    """The ``count`` most recently labelled posts of ``cluster_id`` among the last ``scan`` labels of each
    partition, with their text from the last ``scan`` posts of each input partition."""
    progress(f"reading the last labels of {kafka.labels_topic}")
    labels: list[dict[str, Any]] = []
    for record in read_topic_end(kafka, kafka.labels_topic, last=scan, timeout=timeout):
        try:
            label = json.loads(record.value)
        except ValueError:
            continue
        if isinstance(label, dict) and label.get("cluster_id") == cluster_id:
            labels.append(label)
    labels.sort(key=lambda label: label.get("processed_at", 0.0), reverse=True)
    chosen = labels[:count]
    wanted = {str(label["post_id"]) for label in chosen}
    texts: dict[str, str] = {}
    if wanted:
        progress(f"looking up their texts in {kafka.input_topic}")
        for record in read_topic_end(kafka, kafka.input_topic, last=scan, timeout=timeout):
            post = decode_json(record.value if record.value is not None else b"", input_fields)
            if isinstance(post, Post) and post.id in wanted:
                texts[post.id] = post.text
    return [
        ExamplePost(
            post_id=str(label["post_id"]),
            similarity=float(label.get("similarity", 0.0)),
            processed_at=float(label.get("processed_at", 0.0)),
            text=texts.get(str(label["post_id"])),
        )
        for label in chosen
    ]
