"""Checkpoints of a worker's model on the compacted state topic: what one holds, and the records that carry it
(when one is due: ``state/schedule.py``).

A checkpoint is sent inside the transaction that commits a batch's labels and offsets, and it records those
offsets (``extra["offsets"]``: topic -> partition -> the first offset the model has not learned from). A crash
therefore either loses both or keeps both: the checkpoint on the topic always matches offsets that were
committed with it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any, TypeGuard

from kafka import TopicPartition

from streamclust.errors import CheckpointError
from streamclust.io.kafka.records import KeyValue
from streamclust.result import SnapshotEngine
from streamclust.state.capture import capture
from streamclust.state.model_state import ModelState
from streamclust.state.records import state_records

log = logging.getLogger("streamclust.kafka")


def can_checkpoint(engine: object) -> TypeGuard[SnapshotEngine]:
    """Whether ``engine`` offers the snapshot contract (``SnapshotEngine``), so its state can be captured: the
    adapters ask this, never the engine's class (test doubles need not offer it). Whether a snapshot taken now
    restores to exactly this model is the engine's own ``is_settled`` (warm, holding no posts, no retrain
    running: a retrain still running would be started again, later, by the restored engine)."""
    return isinstance(engine, SnapshotEngine)


@dataclass(frozen=True)
class Checkpoint:
    """A captured model ready to send, and what it cost to get it."""

    state: ModelState
    records: list[KeyValue]
    capture_seconds: float
    encode_seconds: float

    @property
    def size_bytes(self) -> int:
        return sum(len(key) + len(value) for key, value in self.records)


def offsets_extra(offsets: dict[TopicPartition, int]) -> dict[str, Any]:
    """``extra`` for a checkpoint: {"offsets": {topic: {partition: next offset}}} (JSON keys are strings)."""
    by_topic: dict[str, dict[str, int]] = {}
    for tp, offset in sorted(offsets.items()):
        by_topic.setdefault(tp.topic, {})[str(tp.partition)] = int(offset)
    return {"offsets": by_topic}


def offsets_of(state: ModelState) -> dict[TopicPartition, int]:
    """The input offsets a checkpoint was committed with (empty for one written in file mode)."""
    try:
        return {
            TopicPartition(topic, int(partition)): int(offset)
            for topic, partitions in state.extra.get("offsets", {}).items()
            for partition, offset in partitions.items()
        }
    except (AttributeError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"the checkpoint's input offsets are malformed ({error}); start afresh with --fresh-model"
        ) from None


def take_checkpoint(
    engine: SnapshotEngine, offsets: dict[TopicPartition, int], namespace: str, chunk_bytes: int
) -> Checkpoint:
    """Capture ``engine`` with the offsets it has learned up to and cut it into state-topic records."""
    started = time.perf_counter()
    state = replace(capture(engine), extra=offsets_extra(offsets))
    captured = time.perf_counter()
    records = state_records(state, namespace, chunk_bytes)
    encoded = time.perf_counter()
    return Checkpoint(state, records, captured - started, encoded - captured)
