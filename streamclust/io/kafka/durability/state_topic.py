"""Read checkpoints back from the compacted state topic: the newest one at start, newer ones as they appear.

Both read with ``read_committed``, so the records of a checkpoint whose transaction was aborted (or is still
open) are never seen; ``StateAssembler`` turns the records into the newest complete checkpoint.
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer, TopicPartition

from streamclust.config import KafkaSettings
from streamclust.errors import CheckpointError
from streamclust.io.kafka.clients import connect_consumer, reader_config
from streamclust.state.model_state import ModelState
from streamclust.state.records import StateAssembler

log = logging.getLogger("streamclust.state")

STATE_FETCH_BYTES = 16 * 1024 * 1024  # a poll may bring several checkpoint chunks


def state_reader_config(kafka: KafkaSettings) -> dict[str, object]:
    """A committed-only reader with room for several chunks per fetch. It never asks the broker to create the
    state topic: one created by a metadata request would be neither compacted nor a single partition."""
    return reader_config(kafka) | {
        "max_partition_fetch_bytes": STATE_FETCH_BYTES,
        "fetch_max_bytes": STATE_FETCH_BYTES,
        "allow_auto_create_topics": False,
    }


def state_partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    return [
        TopicPartition(topic, partition) for partition in sorted(consumer.partitions_for_topic(topic) or ())
    ]


def read_latest_state(kafka: KafkaSettings, namespace: str, timeout_s: float = 30.0) -> ModelState | None:
    """The newest complete checkpoint of ``namespace`` on ``kafka.state_topic``, or None if there is none.

    Reads the topic from its beginning to its end (as of the call). Raises CheckpointError if that takes
    longer than ``timeout_s`` or if no complete checkpoint is readable.
    """
    consumer = connect_consumer(state_reader_config(kafka), give_up_after=timeout_s)
    try:
        partitions = state_partitions(consumer, kafka.state_topic)
        if not partitions:
            return None
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        assembler = StateAssembler()
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(partition) < end[partition] for partition in partitions):
            if time.monotonic() > deadline:
                raise CheckpointError(
                    f"reading the state topic {kafka.state_topic} took longer than {timeout_s:.0f} s; "
                    "check the broker, or allow more time"
                )
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    assembler.add(record.key, record.value)
        return assembler.latest(namespace)
    finally:
        consumer.close()


class StateFollower:
    """Follows the state topic and hands over each newer complete checkpoint of ``namespace``.

    >>> follower = StateFollower(settings.kafka, "main")      # doctest: +SKIP
    >>> state = follower.poll_newer(engine.model_version)       # doctest: +SKIP
    """

    def __init__(self, kafka: KafkaSettings, namespace: str, give_up_after: float = 30.0) -> None:
        self.topic = kafka.state_topic
        self.namespace = namespace
        self.consumer = connect_consumer(state_reader_config(kafka), give_up_after=give_up_after)
        self.assembler = StateAssembler()
        self.assigned = False
        self.handed_over: tuple[int, int] | None = None

    def assign(self) -> bool:
        if not self.assigned:
            partitions = state_partitions(self.consumer, self.topic)
            if partitions:
                self.consumer.assign(partitions)
                self.consumer.seek_to_beginning(*partitions)
                self.assigned = True
        return self.assigned

    def poll_newer(
        self, current_model_version: int, current_position: int | None = None, timeout_ms: int = 50
    ) -> ModelState | None:
        """A complete checkpoint newer than the current model (model version first, then position), or None.

        Without ``current_position``, a checkpoint of the current model version counts as newer when its
        position is past the last one this follower handed over.
        """
        if not self.assign():
            return None
        for records in self.consumer.poll(timeout_ms=timeout_ms).values():
            for record in records:
                self.assembler.add(record.key, record.value)
        try:
            latest = self.assembler.latest(self.namespace)
        except CheckpointError:
            # unreadable checkpoints are warned about once; the caller keeps its model until a good one comes
            return None
        if latest is None:
            return None
        if current_position is None:
            handed = self.handed_over
            current_position = handed[1] if handed is not None and handed[0] == current_model_version else -1
        if latest.order <= (current_model_version, current_position):
            return None
        self.handed_over = latest.order
        return latest

    def close(self) -> None:
        self.consumer.close()
