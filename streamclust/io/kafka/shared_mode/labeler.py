"""Shared mode's labelling worker: the Kafka worker's exactly-once batch loop, run with the published model.

It is the ``KafkaWorker`` (labels, dead letters and offsets in one transaction per batch) with a
``FollowedModel`` as its engine, plus two things:
- between batches it swaps in a newer published model (``FollowedModel.refresh``);
- until the first model is published it reads nothing: each partition is paused as it is assigned, inside the
  rebalance callback, before the poll that assigned it can fetch from it (polling goes on, so it stays in the
  consumer group), so nothing is consumed, committed or lost while it waits.

Why at assignment, and not after the poll: kafka-python 3.0 keeps ("parks") what it has fetched for a
partition that is then paused, and does not fetch that partition again until the parked records are put back.
After a resume it puts them back one partition per poll, and only while no fetched batch sits in its in-line
slot; but a batch once drained stays in that slot, so after the first partition the others stay parked for
good. A labeler that was given partitions with a backlog in two rebalances while it waited (when it joined, and
when another member left) labelled one of them and never read the other again, without an error. A partition
paused before its first fetch has nothing parked.

The catalog is the trainer's to publish; a labeler only keeps a copy for ``/clusters``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import TopicPartition

from streamclust.config import Settings
from streamclust.io.kafka.shared_mode.followed_model import FollowedModel
from streamclust.io.kafka.worker.batch_loop import KafkaWorker
from streamclust.io.kafka.worker.uncommitted import UncommittedBatch
from streamclust.schema import CatalogEntry

log = logging.getLogger("streamclust.kafka")

CATALOG_COPY_EVERY_SECONDS = 10.0


class LabelingWorker(KafkaWorker):
    """A ``KafkaWorker`` over ``model``; takes the worker's keyword arguments (``instance_id``, ...)."""

    def __init__(self, settings: Settings, model: FollowedModel, **worker_options: Any) -> None:
        super().__init__(settings, model, **worker_options)
        self.model = model
        self._waiting_logged = False
        self._catalog_copied_at = -CATALOG_COPY_EVERY_SECONDS

    def is_ready(self) -> bool:
        return self.model.is_ready and super().is_ready()

    def run_once(self) -> None:
        self.model.refresh()
        if not self.model.is_ready:
            self._wait_for_model()
            return
        consumer = self.connected_consumer
        paused = consumer.paused()
        if paused:
            consumer.resume(*paused)
            log.info("first model in hand; labelling", extra={"model_version": self.model.model_version})
        super().run_once()

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        if not self.model.is_ready:
            # Called inside the poll, before it fetches: a partition paused now is never fetched while the
            # labeler waits, so nothing of it is parked for later (see the module's docstring).
            self.connected_consumer.pause(*assigned)
        super().on_assigned(assigned)

    def _wait_for_model(self) -> None:
        consumer = self.connected_consumer
        if not self._waiting_logged:
            log.info("waiting for the trainer's first model before labelling")
            self._waiting_logged = True
        consumer.pause(*consumer.assignment())  # already paused as they were assigned
        polled = consumer.poll(timeout_ms=self.kafka.max_wait_ms)
        for tp, records in polled.items():  # none expected; should any come, they are read again later
            if records:
                consumer.seek(TopicPartition(tp.topic, tp.partition), records[0].offset)
                consumer.pause(TopicPartition(tp.topic, tp.partition))

    def catalog_updates(self, batch: UncommittedBatch) -> list[CatalogEntry]:
        """Nothing to send (the trainer publishes the catalog); refresh the copy ``/clusters`` serves."""
        now = time.monotonic()
        if now - self._catalog_copied_at >= CATALOG_COPY_EVERY_SECONDS:
            self.served_catalog = self.model.catalog()
            self._catalog_copied_at = now
        return []
