"""Shared mode's trainer: learns from every post of the input topic and publishes the model for the labelers.

The trainer is whichever worker the election (``election.py``) picked. When elected it
1. starts its transactional producer with the fixed id ``<kafka.transactional_id>-trainer``; this fences a
   previous trainer that may still be running (its open transaction is aborted, its next one refused),
2. reads the newest model on the state topic (namespace ``kafka.group_id``, as solo mode writes it) or starts a
   fresh engine, and
3. reads every partition of the input topic from the offsets stored with that model (``extra["offsets"]``),
   running the learning ``Engine.process`` and throwing its labels away: the labelers publish the labels.

It publishes the model (cluster events, catalog updates, the state records and, inside the state, the input
offsets it has learned up to) in one transaction, so a new trainer resumes exactly where the last published
model left off and nothing is learned or announced twice. It publishes right after the warm-up (that unblocks
the labelers), soon after a new cluster, a merge, a retirement or a retrain (at most once per
``scale.publish_on_change_seconds``), and otherwise every ``scale.publish_every_seconds`` or
``state.checkpoint_every_posts`` posts while it learns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError, ProducerFencedError

from streamclust.config import KafkaSettings, Settings
from streamclust.engine import Engine
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import (
    connect_consumer,
    connect_producer,
    consumer_lag,
    reader_config,
    require,
    transactional_producer_config,
)
from streamclust.io.kafka.durability.checkpoints import offsets_of, take_checkpoint
from streamclust.io.kafka.durability.state_topic import read_latest_state
from streamclust.io.kafka.isolation import decode_polled, process_guarded
from streamclust.io.kafka.records import catalog_record, event_record
from streamclust.observer import TrainerProgress
from streamclust.schema import ClusterEvent, EventKind, Post
from streamclust.state.capture import restore

log = logging.getLogger("streamclust.kafka")

STRUCTURAL_CHANGES = (EventKind.CREATED, EventKind.MERGED, EventKind.RETIRED)
FULL_CATALOG_EVERY_SECONDS = 60.0
NOT_STARTED = "the trainer is not started; call start() first"
STATE_READ_TIMEOUT_SECONDS = 300.0  # the state topic holds every model published since its last compaction


class TrainerFenced(Exception):
    """Another trainer has started with the trainer's transactional id: this one must stop."""


def trainer_transactional_id(kafka: KafkaSettings) -> str:
    """Fixed for the whole deployment, so each newly elected trainer fences the one before it."""
    return f"{kafka.transactional_id}-trainer"


def trainer_consumer_config(kafka: KafkaSettings) -> dict[str, Any]:
    """No group: the trainer assigns itself every input partition and keeps its offsets in the model."""
    return reader_config(kafka) | {
        "auto_offset_reset": kafka.auto_offset_reset,
        "max_poll_records": kafka.batch_size,
        "fetch_max_wait_ms": kafka.max_wait_ms,
    }


@dataclass
class Unpublished:
    """What the trainer learned since its last published model."""

    posts: int = 0
    events: list[ClusterEvent] = field(default_factory=list)
    changed: bool = False  # a cluster was born, merged or retired, or the encoder was retrained
    touched: set[int] = field(default_factory=set)  # clusters whose catalog entry changed


class Trainer:
    """One term as trainer: ``start()``, then ``step()`` until the role is lost, then ``close()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: Callable[[], Engine],
        connect_timeout_seconds: float | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.settings = settings
        self.kafka = settings.kafka
        self.namespace = settings.kafka.group_id
        self.engine_factory = engine_factory
        self.connect_timeout_seconds = connect_timeout_seconds
        self.should_stop = should_stop
        self.engine: Engine | None = None
        self.held: list[Post] = []  # the posts the engine holds (warm-up)
        self.producer: KafkaProducer | None = None
        self.consumer: KafkaConsumer | None = None
        self.unpublished = Unpublished()
        self.last_published_at: float | None = None  # monotonic
        self.last_full_catalog_at = 0.0
        self.published_models = 0

    def start(self) -> None:
        """Fence any previous trainer, restore the newest model, and position on every input partition."""
        config = transactional_producer_config(self.kafka, trainer_transactional_id(self.kafka)) | {
            "max_request_size": max(1_048_576, self.settings.state.chunk_bytes + 65_536)  # a state chunk fits
        }
        self.producer = connect_producer(config, self.connect_timeout_seconds, self.should_stop)
        self.producer.init_transactions()  # after this, no earlier trainer can commit anything
        state = read_latest_state(self.kafka, self.namespace, timeout_s=STATE_READ_TIMEOUT_SECONDS)
        self.engine = self.engine_factory() if state is None else restore(state, self.settings)
        resume_from = {} if state is None else offsets_of(state)
        self.consumer = connect_consumer(
            trainer_consumer_config(self.kafka), self.connect_timeout_seconds, self.should_stop
        )
        partitions = self._input_partitions()
        self.consumer.assign(partitions)
        for tp in partitions:
            if tp in resume_from:
                self.consumer.seek(tp, resume_from[tp])
        if state is not None:
            self.last_published_at = time.monotonic()
        log.info(
            "trainer started",
            extra={
                "model_version": 0 if state is None else state.model_version,
                "position": 0 if state is None else state.position,
                "partitions": len(partitions),
            },
        )

    def step(self) -> TrainerProgress:
        """Learn from one polled batch, and publish the model when due."""
        consumer = require(self.consumer, NOT_STARTED)
        engine = require(self.engine, NOT_STARTED)
        polled = consumer.poll(timeout_ms=self.kafka.max_wait_ms, max_records=self.kafka.batch_size)
        decoded, _ = decode_polled(
            (record for records in polled.values() for record in records), self.settings.input
        )  # the records that are not posts are the labelers' to dead-letter
        posts = [post for post, _ in decoded]
        if posts:
            guarded = process_guarded(engine, posts, None, self.held)  # posts it cannot take are skipped
            kept = [post for i, post in enumerate([*self.held, *posts]) if i not in guarded.culprits]
            self.held = kept if engine.pending_post_ids else []
            result = guarded.result
            self._note(result.events, result.stats.retrained, len(posts))
        published = False
        if self._publish_due(time.monotonic()):
            published = self.publish()
        return TrainerProgress(self._lag(), engine.model_version, engine.position, published)

    def publish(self) -> bool:
        """Send the events, catalog updates and the model with its offsets in one transaction."""
        producer = require(self.producer, NOT_STARTED)
        engine = require(self.engine, NOT_STARTED)
        started = time.monotonic()
        consumer = require(self.consumer, NOT_STARTED)
        learned_up_to = {tp: consumer.position(tp) for tp in consumer.assignment()}
        checkpoint = take_checkpoint(engine, learned_up_to, self.namespace, self.settings.state.chunk_bytes)
        state, records = checkpoint.state, checkpoint.records
        catalog = self._catalog_updates(started)
        try:
            producer.begin_transaction()
            for event in self.unpublished.events:
                key, value = event_record(event)
                producer.send(self.kafka.events_topic, key=key, value=value)
            for entry in catalog:
                key, value = catalog_record(entry)
                producer.send(self.kafka.catalog_topic, key=key, value=value)
            for key, value in records:
                producer.send(self.kafka.state_topic, key=key, value=value)
            producer.commit_transaction()
        except ProducerFencedError as error:
            raise TrainerFenced(str(error)) from error
        except KafkaError as error:
            self._abort_after(error)
            return False
        self.unpublished = Unpublished()
        self.last_published_at = time.monotonic()
        self.published_models += 1
        log.info(
            "model published",
            extra={
                "model_version": state.model_version,
                "position": state.position,
                "bytes": sum(len(value) for _, value in records),
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        return True

    def _abort_after(self, error: KafkaError) -> None:
        """Abort the failed publication; the model and its events stay in hand and go with the next one.

        A producer that cannot abort is unusable (typically fenced: a newer trainer has started): raises
        TrainerFenced so the role is given up and, if this worker is still elected, taken up afresh.
        """
        producer = require(self.producer, NOT_STARTED)
        try:
            producer.abort_transaction()
        except KafkaError as abort_error:
            raise TrainerFenced(f"{error!r}; then the abort failed: {abort_error!r}") from error
        log.warning("publishing the model failed; trying again later", extra={"error": repr(error)})
        self.last_published_at = time.monotonic()  # not at once: let the broker recover

    def publish_pending(self) -> None:
        """On a clean shutdown: publish what was learned since the last model, so the next trainer need not
        learn it again."""
        if self.engine is not None and self.engine.is_warm and self.unpublished.posts:
            self.publish()

    def close(self) -> None:
        """Give up the role: close the clients (an open transaction is aborted) and drop the engine."""
        if self.producer is not None:
            self.producer.close(timeout=5)
            self.producer = None
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
        if self.engine is not None:
            self.engine.close()
            self.engine = None

    # -- the steps ------------------------------------------------------------------------------------------

    def _note(self, events: list[ClusterEvent], retrained: bool, posts: int) -> None:
        unpublished = self.unpublished
        unpublished.posts += posts
        unpublished.events.extend(events)
        unpublished.changed |= retrained or any(event.kind in STRUCTURAL_CHANGES for event in events)
        for event in events:
            unpublished.touched.add(event.cluster_id)
            if event.merged_into is not None:
                unpublished.touched.add(event.merged_into)

    def _publish_due(self, now: float) -> bool:
        engine = require(self.engine, NOT_STARTED)
        if not engine.is_warm or self.unpublished.posts == 0:
            return False
        if self.last_published_at is None:
            return True  # the first model: the labelers are waiting for it
        since = now - self.last_published_at
        scale = self.settings.scale
        return (
            (self.unpublished.changed and since >= scale.publish_on_change_seconds)
            or since >= scale.publish_every_seconds
            or self.unpublished.posts >= self.settings.state.checkpoint_every_posts
        )

    def _catalog_updates(self, now: float) -> list[Any]:
        engine = require(self.engine, NOT_STARTED)
        if now - self.last_full_catalog_at >= FULL_CATALOG_EVERY_SECONDS:
            self.last_full_catalog_at = now
            return engine.catalog()
        if not self.unpublished.touched:
            return []
        return [entry for entry in engine.catalog() if entry.cluster_id in self.unpublished.touched]

    def _input_partitions(self) -> list[TopicPartition]:
        consumer = require(self.consumer, NOT_STARTED)
        deadline = time.monotonic() + 30.0
        while True:
            partitions = consumer.partitions_for_topic(self.kafka.input_topic)
            if partitions:
                return [TopicPartition(self.kafka.input_topic, p) for p in sorted(partitions)]
            if time.monotonic() > deadline:
                raise KafkaSetupError(
                    f"the input topic {self.kafka.input_topic!r} has no partitions the trainer can see; "
                    "check kafka.input_topic and that the topic exists"
                )
            time.sleep(0.5)

    def _lag(self) -> int:
        consumer = require(self.consumer, NOT_STARTED)
        return sum(consumer_lag(consumer, consumer.assignment()).values())
