"""Re-label a range of the input topic with the current model, into a topic of its own, exactly once.

The replay reads with its own consumer group (manually assigned partitions, no rebalances), labels with
``engine.assign`` (read-only: the model, its events, catalog and checkpoints are left alone) and commits the
labels and its group's offsets in one transaction per batch, under a transactional id of its own. The end
offsets taken at the start travel in the committed offsets' metadata, so a replay run again with the same
``--group`` after a crash resumes where it stopped and still ends where it was meant to. Records that are not
posts are skipped and counted (the live worker has dead-lettered them already).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from streamclust.config import KafkaSettings, Settings
from streamclust.errors import ConfigError, KafkaSetupError
from streamclust.io.kafka.clients import (
    connect_admin,
    connect_consumer,
    connect_producer,
    connection_config,
    transactional_producer_config,
)
from streamclust.io.kafka.durability.catch_up import decode_posts
from streamclust.io.kafka.records import label_records

log = logging.getLogger("streamclust.kafka")

Offsets = dict[TopicPartition, int]
STALL_SECONDS = 60.0


@dataclass(frozen=True)
class ReplayPlan:
    group: str
    output_topic: str
    start: Offsets  # where this run starts (the group's committed offsets when resuming)
    end: Offsets  # where the replay stops (taken when it was first started)
    resumed: bool = False

    @property
    def total(self) -> int:
        return sum(max(0, self.end[tp] - self.start[tp]) for tp in self.end)


@dataclass
class ReplaySummary:
    plan: ReplayPlan
    model_version: int
    labelled: int = 0
    skipped: int = 0
    seconds: float = 0.0
    outliers: int = 0
    transactions: int = 0
    clusters: set[int] = field(default_factory=set)


def default_group(kafka: KafkaSettings, now: datetime) -> str:
    return f"{kafka.group_id}-replay-{now.strftime('%Y%m%dT%H%M%SZ')}"


def check_output_topic(kafka: KafkaSettings, output_topic: str) -> None:
    """Refuse to write replay labels into a topic the live worker reads or writes."""
    live = {
        "kafka.labels_topic": kafka.labels_topic,
        "kafka.input_topic": kafka.input_topic,
        "kafka.events_topic": kafka.events_topic,
        "kafka.catalog_topic": kafka.catalog_topic,
        "kafka.deadletter_topic": kafka.deadletter_topic,
        "kafka.state_topic": kafka.state_topic,
    }
    for setting, topic in live.items():
        if output_topic == topic:
            raise ConfigError(
                f"--output-topic {output_topic!r} is the live worker's {setting}; a replay writes to a topic "
                f"of its own, for example --output-topic {kafka.labels_topic}-replay"
            )


def replay_consumer(kafka: KafkaSettings, group: str) -> KafkaConsumer:
    config = connection_config(kafka) | {
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_poll_records": kafka.batch_size,
        "fetch_max_wait_ms": kafka.max_wait_ms,
    }
    return connect_consumer(config, give_up_after=60)


def plan_replay(
    consumer: KafkaConsumer,
    kafka: KafkaSettings,
    group: str,
    output_topic: str,
    from_timestamp: datetime | None,
) -> ReplayPlan:
    """Start and end offsets for every partition of the input topic.

    A group that has committed replay offsets before is resumed (from its offsets, to its recorded ends);
    otherwise the replay starts at the beginning or at the first post at or after ``from_timestamp``, and
    ends at the end offsets of now.
    """
    numbers = consumer.partitions_for_topic(kafka.input_topic)
    if not numbers:
        raise KafkaSetupError(
            f"the input topic {kafka.input_topic!r} does not exist on {kafka.bootstrap_servers}; "
            "check kafka.input_topic and kafka.bootstrap_servers"
        )
    partitions = [TopicPartition(kafka.input_topic, number) for number in sorted(numbers)]
    committed = {tp: consumer.committed(tp, metadata=True) for tp in partitions}
    if any(value is not None for value in committed.values()):
        start, end = {}, {}
        for tp, value in committed.items():
            recorded = recorded_end(value)
            if value is None or recorded is None:
                raise KafkaSetupError(
                    f"consumer group {group!r} has offsets that no replay wrote; choose another --group"
                )
            start[tp], end[tp] = value.offset, recorded
        return ReplayPlan(group, output_topic, start, end, resumed=True)
    end = consumer.end_offsets(partitions)
    if from_timestamp is None:
        start = consumer.beginning_offsets(partitions)
    else:
        stamp_ms = int(from_timestamp.timestamp() * 1000)
        found = consumer.offsets_for_times({tp: stamp_ms for tp in partitions})
        start = {tp: end[tp] if found.get(tp) is None else found[tp].offset for tp in partitions}
    return ReplayPlan(group, output_topic, start, end)


def recorded_end(value: Any) -> int | None:
    try:
        return int(json.loads(value.metadata)["replay_end"])
    except (AttributeError, TypeError, ValueError, KeyError):
        return None


def ensure_output_topic(kafka: KafkaSettings, output_topic: str) -> None:
    admin = connect_admin(kafka, give_up_after=60)
    try:
        if output_topic in set(admin.list_topics()):
            return
        if not kafka.create_topics:
            raise KafkaSetupError(
                f"the output topic {output_topic!r} does not exist; create it (kafka-topics.sh --create --topic "
                f"{output_topic}) or set kafka.create_topics: true"
            )
        with contextlib.suppress(TopicAlreadyExistsError):  # another replay was quicker
            admin.create_topics([NewTopic(output_topic, kafka.topic_partitions, kafka.replication_factor)])
    finally:
        admin.close()


def run_replay(
    settings: Settings,
    engine: Any,
    plan: ReplayPlan,
    consumer: KafkaConsumer,
    on_progress: Callable[[int], None] = lambda done: None,
) -> ReplaySummary:
    """Label ``plan``'s range with ``engine.assign`` into ``plan.output_topic``, one transaction per batch."""
    kafka = settings.kafka
    summary = ReplaySummary(plan, engine.model_version)
    started = time.monotonic()
    remaining = {tp: end for tp, end in plan.end.items() if plan.start[tp] < end}
    consumer.assign(list(plan.end))
    for tp, offset in plan.start.items():
        consumer.seek(tp, offset)
    consumer.pause(*[tp for tp in plan.end if tp not in remaining])
    transactional_id = f"{kafka.transactional_id}-replay-{plan.group}"
    producer: KafkaProducer = connect_producer(
        transactional_producer_config(kafka, transactional_id), give_up_after=60
    )
    producer.init_transactions()
    done = 0
    last_progress = time.monotonic()
    try:
        while remaining:
            polled = consumer.poll(timeout_ms=kafka.max_wait_ms, max_records=kafka.batch_size)
            records = [
                record
                for tp, batch in polled.items()
                for record in batch
                if tp in remaining and record.offset < remaining[tp]
            ]
            for tp in list(remaining):
                if consumer.position(tp) >= remaining[tp]:
                    del remaining[tp]
                    consumer.pause(tp)
            if polled:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise KafkaSetupError(
                    f"the replay got no records for {STALL_SECONDS:.0f}s before reaching the end offsets; "
                    f"check the broker, then run the same command with --group {plan.group} to resume"
                )
            if not polled and remaining:
                continue
            posts, skipped = decode_posts(records, settings)
            result = engine.assign(posts, time.time())
            offsets = {tp: min(consumer.position(tp), end) for tp, end in plan.end.items()}
            commit_batch(producer, consumer, plan, result.labels, offsets)
            summary.transactions += 1
            summary.labelled += len(result.labels)
            summary.skipped += skipped
            summary.outliers += int(result.labels.is_outlier.sum())
            summary.clusters.update(int(cluster) for cluster in result.labels.cluster_ids if cluster >= 0)
            done += len(records)
            on_progress(done)
    finally:
        producer.close(timeout=10)
    summary.seconds = time.monotonic() - started
    return summary


def commit_batch(
    producer: KafkaProducer, consumer: KafkaConsumer, plan: ReplayPlan, labels: Any, offsets: Offsets
) -> None:
    try:
        producer.begin_transaction()
        for key, value in label_records(labels):
            producer.send(plan.output_topic, key=key, value=value)
        producer.send_offsets_to_transaction(
            {
                tp: OffsetAndMetadata(offset, json.dumps({"replay_end": plan.end[tp]}), -1)
                for tp, offset in offsets.items()
            },
            consumer.group_metadata(),
        )
        producer.commit_transaction()
    except KafkaError as error:
        raise KafkaSetupError(
            f"a replay transaction failed ({error}); run the same command with --group {plan.group} to resume "
            "where it stopped"
        ) from error
