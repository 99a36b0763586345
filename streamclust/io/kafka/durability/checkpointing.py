"""A solo worker's checkpointing: restore its model on start, journal every batch it learns, and put a
checkpoint (or the journal) into the batch transactions.

The worker calls, in order: ``restore`` once before it joins the group; ``learned`` after each
``engine.process``; ``transaction_records`` while building each batch transaction (it returns the records and
the offsets to commit); ``committed`` once the transaction is through. Whether an engine can be checkpointed at
all is its own to say: the snapshot contract (``SnapshotEngine`` in ``result.py``; test doubles do not offer it),
and whether a snapshot now restores exactly (``is_settled``). The worker may learn the next batch
before the transaction carrying a checkpoint is through (it overlaps commits): the journal that starts at the
checkpoint is kept from the capture on, so that batch is in it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streamclust.config import Settings
from streamclust.errors import CheckpointError
from streamclust.io.kafka.durability.catch_up import catch_up
from streamclust.io.kafka.durability.checkpoints import (
    Checkpoint,
    can_checkpoint,
    offsets_of,
    take_checkpoint,
)
from streamclust.io.kafka.durability.journal import Journal, journal_key, ranges_of, read_journal
from streamclust.io.kafka.records import KeyValue
from streamclust.result import ClusterEngine, SnapshotEngine
from streamclust.state.schedule import CheckpointSchedule

log = logging.getLogger("streamclust.kafka")


@dataclass(frozen=True)
class StateWrite:
    """The state-topic records of one transaction and the offsets it must commit."""

    records: list[KeyValue]
    offsets: dict[TopicPartition, int]
    checkpoint: Checkpoint | None


class Checkpointing:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.kafka = settings.kafka
        state = settings.state
        self.schedule = CheckpointSchedule(state.checkpoint_every_posts, state.checkpoint_every_seconds)
        self.journal: Journal | None = None  # batches learned since the last checkpoint; None: no checkpoint
        self.next_journal: Journal | None = None  # since a checkpoint captured but not committed yet
        self.posts_at_capture = 0  # schedule.posts_since when that checkpoint was captured

    def restore(self, consumer: KafkaConsumer) -> SnapshotEngine | None:
        """The group's newest checkpoint as an engine that has learned up to the committed offsets, or None.

        Raises CheckpointError, saying what to do, when the checkpoint cannot be used.
        """
        from streamclust.io.kafka.durability.state_topic import read_latest_state
        from streamclust.state.capture import restore

        group, topic = self.kafka.group_id, self.kafka.state_topic
        try:
            state = read_latest_state(self.kafka, group)
            if state is None:
                log.info("no checkpoint for this group yet; a new model warms up", extra={"group_id": group})
                return None
            engine = restore(state, self.settings)
            start = offsets_of(state)
        except CheckpointError as error:
            raise CheckpointError(
                f"the newest checkpoint of consumer group {group!r} on state topic {topic!r} cannot be used: "
                f"{error}. To start over with a new model (it warms up again and numbers its clusters "
                "afresh), run the worker once with --fresh-model; to keep this one, run the streamclust "
                "version and settings that wrote it."
            ) from None
        end = {}
        for tp, offset in start.items():
            committed = consumer.committed(tp)
            end[tp] = offset if committed is None else max(offset, committed)
        log.info(
            "restoring the model from its checkpoint",
            extra={
                "model_version": state.model_version,
                "position": state.position,
                "catch_up_posts": sum(end[tp] - start[tp] for tp in start),
            },
        )
        report, journal = catch_up(engine, self.settings, start, end, read_journal(self.kafka, group))
        log.info(
            "caught up",
            extra={
                "posts": report.posts,
                "skipped": report.skipped,
                "batches": report.batches,
                "seconds": round(report.seconds, 3),
                "exact": report.exact,
            },
        )
        self.journal = journal
        self.schedule.done(time.monotonic())
        self.schedule.count(report.posts)
        return engine

    def learned(self, records: list[Any], posts: int, now: float) -> None:
        """The engine has just processed ``posts`` posts out of ``records`` (polled), with ``now``."""
        self.schedule.count(posts)
        if posts:
            ranges = ranges_of(records)
            for journal in (self.journal, self.next_journal):
                if journal is not None:
                    journal.add(now, ranges)

    def transaction_records(
        self,
        engine: ClusterEngine,
        consumer: KafkaConsumer,
        offsets: dict[TopicPartition, int],
        force_checkpoint: bool = False,
    ) -> StateWrite:
        """The checkpoint (when due) and journal records for the transaction committing ``offsets``.

        A checkpoint commits every assigned partition's position: everything polled has gone through the
        engine, so each is the first post the model has not learned from.
        """
        checkpoint = None
        if (
            can_checkpoint(engine)
            and engine.is_settled
            and (force_checkpoint or self.schedule.due(time.monotonic()))
        ):
            positions = {tp: consumer.position(tp) for tp in consumer.assignment()}
            checkpoint = take_checkpoint(
                engine, positions, self.kafka.group_id, self.settings.state.chunk_bytes
            )
            offsets = positions | offsets
        records: list[KeyValue] = []
        journal = self.journal
        if checkpoint is not None:
            records.extend(checkpoint.records)
            journal = self.new_journal(checkpoint)
            self.next_journal = self.new_journal(checkpoint)
            self.posts_at_capture = self.schedule.posts_since
        if journal is not None:
            records.append((journal_key(self.kafka.group_id), journal.to_bytes()))
        return StateWrite(records, offsets, checkpoint)

    def committed(self, write: StateWrite) -> None:
        checkpoint = write.checkpoint
        if checkpoint is None:
            return
        learned_since = self.schedule.posts_since - self.posts_at_capture
        self.journal = self.next_journal or self.new_journal(checkpoint)
        self.next_journal = None
        self.schedule.done(time.monotonic())
        self.schedule.count(learned_since)  # learned after the capture
        log.info(
            "checkpoint written",
            extra={
                "model_version": checkpoint.state.model_version,
                "position": checkpoint.state.position,
                "bytes": checkpoint.size_bytes,
                "records": len(checkpoint.records),
                "capture_seconds": round(checkpoint.capture_seconds, 4),
                "encode_seconds": round(checkpoint.encode_seconds, 4),
            },
        )

    def new_journal(self, checkpoint: Checkpoint) -> Journal:
        topic = self.kafka.input_topic
        base = {
            tp.partition: offset for tp, offset in offsets_of(checkpoint.state).items() if tp.topic == topic
        }
        return Journal(topic=topic, base=base)

    @property
    def unsaved_posts(self) -> int:
        """Posts learned since the last checkpoint."""
        return self.schedule.posts_since
