"""Read what the worker committed (``read_committed``) from one topic, and print it for people."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from kafka import TopicPartition

from streamclust.config import KafkaSettings
from streamclust.io.kafka.clients import connect_consumer, reader_config


def tail_topic(
    kafka: KafkaSettings,
    topic: str,
    *,
    max_records: int | None = None,
    idle_timeout: float | None = None,
    from_end: bool = False,
) -> Iterator[Any]:
    """Committed records of ``topic`` from the beginning (or the end), until ``max_records`` or until nothing
    new arrived for ``idle_timeout`` seconds (None: follow forever)."""
    consumer = connect_consumer(reader_config(kafka), give_up_after=60)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        if from_end:
            consumer.seek_to_end(*partitions)
        else:
            consumer.seek_to_beginning(*partitions)
        seen = 0
        last = time.monotonic()
        while max_records is None or seen < max_records:
            polled = consumer.poll(timeout_ms=200)
            records = [record for batch in polled.values() for record in batch]
            if not records:
                if idle_timeout is not None and time.monotonic() - last > idle_timeout:
                    return
                continue
            last = time.monotonic()
            for record in records:
                yield record
                seen += 1
                if max_records is not None and seen >= max_records:
                    return
    finally:
        consumer.close()


def pretty(kind: str, record: Any) -> str:
    """One line per record, the interesting fields first."""
    where = f"{record.topic}[{record.partition}]@{record.offset}"
    try:
        value = json.loads(record.value)
    except ValueError:
        return f"{where} {record.value!r}"
    if kind == "labels":
        outlier = " outlier" if value.get("is_outlier") else ""
        return (
            f"{where} post {value['post_id']} -> cluster {value['cluster_id']} "
            f"(similarity {value['similarity']:.3f}{outlier}, model v{value['model_version']})"
        )
    if kind == "events":
        keywords = ", ".join(value.get("keywords", []))
        return f"{where} {value['kind']} cluster {value['cluster_id']} size {value['size']:.0f} [{keywords}]"
    if kind == "catalog":
        keywords = ", ".join(value.get("keywords", []))
        return (
            f"{where} cluster {value['cluster_id']} {value['status']} size {value['size']:.0f} [{keywords}]"
        )
    if kind == "deadletter":
        origin = f"{value['topic']}[{value['partition']}]@{value['offset']}"
        return f"{where} {value['reason']}: {value['detail']} (from {origin})"
    return f"{where} {json.dumps(value, ensure_ascii=False)}"
