"""The Kafka worker: consume posts in batches, run the engine, and publish labels, cluster events, catalog
updates and dead letters together with the consumer offsets in one Kafka transaction per batch.

Exactly once, step by step:
- The producer is transactional and initialised before the consumer reads anything, so a crashed
  predecessor's open transaction (same transactional id) is aborted first and the committed offsets we start
  from are stable.
- Offsets are committed only inside the transaction that carries the outputs of the posts they cover
  (``send_offsets_to_transaction``). A crash anywhere loses the open transaction and its offsets together;
  the restarted worker reads those posts again.
- While the engine holds posts back (warm-up) nothing is produced or committed; the batch that completes the
  warm-up commits everything held; observers hear of each poll meanwhile (``HeldReport``: reads, posts
  held). If partitions are revoked while posts are held, the held state is dropped (fresh engine) and the
  consumer rewinds to the first uncommitted offsets so those posts are read again.
- The transactions run in a committer process (``committer.py``), one at a time. Under load (the poll
  returned a full batch) the worker hands over batch N's transaction and goes on to poll batch N+1 and run the
  engine on it, and takes N's outcome before it hands over N+1; otherwise it waits for each outcome. If N
  failed (aborted), both N and N+1 are read again. A rebalance (which happens inside poll) that revokes
  partitions first waits for the transaction in flight, so no uncommitted work is ever released. Nothing else
  changes for the engine: it still sees every batch in order, in this process, and checkpoints are captured
  right after the batch they belong to.

Input that does not match the settings: when the first ``SAMPLE_LINES`` records read are all rejected for the
same missing field (``MissingFieldCheck``, as in file mode), the worker logs one warning naming the fields the
records have and the setting to change, and reports the setting (``streamclust_input_mismatch``) until records
decode again. It does not stop: those records are dead letters like any other.

A durable model (an engine that offers the snapshot contract; ``durability/checkpointing.py``): before joining
the group the worker restores the
group's newest checkpoint from the state topic and learns again the posts committed after it. Once warm, the
batch transactions carry a checkpoint every ``state.checkpoint_every_posts`` posts or
``state.checkpoint_every_seconds``, and the journal of the batches learned since then in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streamclust.config import Settings
from streamclust.errors import KafkaSetupError
from streamclust.io.decode import DecodeFailure
from streamclust.io.kafka.clients import (
    BrokerWatch,
    connect_admin,
    connect_consumer,
    consumer_lag,
    require,
    transactional_producer_config,
    worker_consumer_config,
)
from streamclust.io.kafka.durability.checkpointing import Checkpointing, StateWrite
from streamclust.io.kafka.durability.checkpoints import Checkpoint, can_checkpoint
from streamclust.io.kafka.isolation import decode_polled, process_guarded
from streamclust.io.kafka.records import DeadLetter, catalog_record, event_record
from streamclust.io.kafka.topics import ensure_topics
from streamclust.io.kafka.worker.committer import Committer, TransactionJob, TransactionOutcome
from streamclust.io.kafka.worker.uncommitted import UncommittedBatch
from streamclust.io.missing_field import MissingFieldCheck
from streamclust.observer import HeldReport, WorkerObserver, WorkerReport, say
from streamclust.result import ClusterEngine, LabelBatch
from streamclust.schema import CatalogEntry, Post

log = logging.getLogger("streamclust.kafka")

# How long a poll waits for records while a transaction is in flight: short, so that when the input pauses
# the transaction's outcome is taken (and reported) without waiting for kafka.max_wait_ms.
IN_FLIGHT_POLL_MS = 10

NOT_CONNECTED = "the worker is not connected; call connect() or run() first"

# Back-off between tries of a batch transaction that failed (not for a fence or a rebalance): doubling.
RETRY_FIRST_SECONDS = 0.5
RETRY_LONGEST_SECONDS = 30.0

# Input quiet this long during the warm-up: say how many posts are held and when they will be labelled.
IDLE_NOTICE_SECONDS = 5.0


def retry_delay(failures: int) -> float:
    """Seconds to wait before the next try after ``failures`` failed transactions in a row.

    >>> [retry_delay(n) for n in (1, 2, 3, 7, 8, 20)]
    [0.5, 1.0, 2.0, 30.0, 30.0, 30.0]
    """
    return min(RETRY_LONGEST_SECONDS, RETRY_FIRST_SECONDS * 2.0 ** min(failures - 1, 16))


@dataclass
class InFlight:
    """A batch whose transaction the committer is running."""

    batch: UncommittedBatch
    state: StateWrite
    now: float


class KafkaWorker:
    """Runs ``engine`` over the input topic until ``stop()`` (or SIGTERM, wired by the CLI).

    ``engine_factory`` builds a fresh engine when held (warm-up) state has to be dropped after a rebalance;
    without it the worker flushes the old engine and discards what it returns. ``instance_id`` must be unique
    per running worker: it suffixes the transactional id. ``fresh_model`` ignores the group's checkpoint on
    the state topic and starts with ``engine`` as given (its first checkpoint replaces the old one).
    """

    def __init__(
        self,
        settings: Settings,
        engine: ClusterEngine,
        *,
        engine_factory: Callable[[], ClusterEngine] | None = None,
        observers: Sequence[WorkerObserver] = (),
        instance_id: str | None = None,
        idle_flush_seconds: float = 30.0,
        catalog_every_seconds: float = 60.0,
        connect_timeout_seconds: float | None = None,
        fresh_model: bool = False,
    ) -> None:
        self.settings = settings
        self.kafka = settings.kafka
        self.engine = engine
        self.engine_factory = engine_factory
        self.observers = list(observers)
        self.instance_id = instance_id
        self.transactional_id = (
            self.kafka.transactional_id
            if instance_id is None
            else f"{self.kafka.transactional_id}-{instance_id}"
        )
        self.idle_flush_seconds = idle_flush_seconds
        self.catalog_every_seconds = catalog_every_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self.consumer: KafkaConsumer | None = None
        self.committer: Committer | None = None
        self.in_flight: InFlight | None = None
        self._callback_error: BaseException | None = None
        self._backlog = False  # the last poll returned a full batch: more posts are waiting
        self.broker_watch = BrokerWatch(self.kafka.bootstrap_servers)
        self.uncommitted = UncommittedBatch()
        self.committed_posts = 0
        self._stop = threading.Event()
        self._running = False
        self._rewind_needed = False
        self._assigned: set[TopicPartition] = set()
        self._last_record_at = time.monotonic()
        self._idle_told = False  # the log has said that the input went quiet during this warm-up
        self._last_full_catalog_at = time.monotonic()
        # what clusters() serves (/clusters): a copy refreshed by catalog_updates, not the model itself
        self.served_catalog: list[CatalogEntry] = []
        self._touched: set[int] = set()  # clusters changed since the catalog was last sent
        self._last_catalog_at = 0.0
        self._pending_posts = 0
        self.fresh_model = fresh_model
        self.checkpointing = Checkpointing(settings)
        self._held: list[tuple[Post, Any]] = []  # posts the engine holds (warm-up), with their records
        self.failed_transactions = 0  # batch transactions failed in a row (not fences or rebalances)
        self._retry_at = 0.0  # monotonic time the next batch may be read after a failed transaction
        self._give_up = False  # retries exhausted: nothing more may be committed
        self.input_check = MissingFieldCheck(settings.input, "kafka")
        self.input_mismatch: str | None = None  # the setting the input does not match, until a post decodes

    # -- WorkerStatus ---------------------------------------------------------------------------------------

    def is_alive(self) -> bool:
        return self._running

    def is_ready(self) -> bool:
        """Connected (partitions assigned), the model warm, and the last transaction committed. It stays false
        through the whole warm-up, however the posts arrive."""
        return (
            self._running
            and bool(self._assigned)
            and self.engine.model_version > 0
            and self.failed_transactions == 0
        )

    def clusters(self) -> list[CatalogEntry]:
        return list(self.served_catalog)

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def connected_consumer(self) -> KafkaConsumer:
        """The consumer; a KafkaSetupError before ``connect()``."""
        return require(self.consumer, NOT_CONNECTED)

    @property
    def connected_committer(self) -> Committer:
        """The committer; a KafkaSetupError before ``connect()``."""
        return require(self.committer, NOT_CONNECTED)

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand, commit it and close (safe from signal handlers)."""
        self._stop.set()

    def connect(self) -> None:
        """Create missing topics, start the committer (the transactional producer), then subscribe the
        consumer."""
        admin = connect_admin(self.kafka, self.connect_timeout_seconds, self._stop.is_set)
        try:
            ensure_topics(admin, self.kafka, state_chunk_bytes=self.settings.state.chunk_bytes)
        finally:
            admin.close()
        self.committer = Committer(self._producer_config(), self.connect_timeout_seconds)
        self.committer.start(self._stop.is_set)
        consumer_config = worker_consumer_config(self.kafka)
        self.consumer = connect_consumer(consumer_config, self.connect_timeout_seconds, self._stop.is_set)
        if can_checkpoint(self.engine):
            self._restore_model()
        self.consumer.subscribe([self.kafka.input_topic], listener=_Rebalance(self))
        self.broker_watch.start()
        log.info(
            "worker connected",
            extra={"transactional_id": self.transactional_id, "input_topic": self.kafka.input_topic},
        )

    @property
    def transaction_timeout_seconds(self) -> float:
        return float(self._producer_config()["transaction_timeout_ms"]) / 1000.0

    def _producer_config(self) -> dict[str, Any]:
        # Room for a checkpoint chunk (state.chunk_bytes) in one request.
        config = transactional_producer_config(self.kafka, self.transactional_id)
        return config | {"max_request_size": max(1_048_576, self.settings.state.chunk_bytes + 65_536)}

    def run(self, max_seconds: float | None = None) -> None:
        """Process batches until stopped (or for ``max_seconds``), then close the clients and the engine."""
        try:
            if self.consumer is None:
                self.connect()
            self._running = True
            deadline = None if max_seconds is None else time.monotonic() + max_seconds
            while not self._stop.is_set() and (deadline is None or time.monotonic() < deadline):
                self.run_once()
        finally:
            self._running = False
            self.close()

    def close(self) -> None:
        self.broker_watch.stop()
        # Nothing more is committed after a fence by another worker, retries used up, or an unknown outcome.
        settled = not self._give_up and not (self.committer is not None and self.committer.broken)
        if self.in_flight is not None and settled:
            try:
                self._await_in_flight()
            except (KafkaError, KafkaSetupError) as error:
                # Nothing more may be committed: a checkpoint's offsets would pass posts whose labels may be lost.
                log.warning("last transaction's outcome unknown", extra={"error": repr(error)})
                self.in_flight = None
                settled = False
        unsaved = self.checkpointing.unsaved_posts and can_checkpoint(self.engine)
        if settled and unsaved and not self.uncommitted and self.committer:
            try:
                self._send_last_checkpoint()
            except (KafkaError, KafkaSetupError) as error:
                log.warning("last checkpoint not sent", extra={"error": repr(error)})
        if settled and self._touched and not self.uncommitted and self.committer is not None:
            self._last_catalog_at = 0.0  # send what changed since the last catalog update
            try:
                self._send_catalog()
            except (KafkaError, KafkaSetupError) as error:
                log.warning("last catalog update not sent", extra={"error": repr(error)})
        if self.uncommitted:
            log.info(
                "stopping with held posts; they will be read again", extra={"held": self.uncommitted.consumed}
            )
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
        if self.committer is not None:
            self.committer.close()
            self.committer = None
        self.engine.close()

    # -- one batch ------------------------------------------------------------------------------------------

    def run_once(self) -> None:
        consumer = self.connected_consumer
        if self._retry_at:  # the pause after a failed transaction
            self._stop.wait(max(0.0, self._retry_at - time.monotonic()))
            self._retry_at = 0.0
            if self._stop.is_set():
                return
        wait_ms = IN_FLIGHT_POLL_MS if self.in_flight is not None else self.kafka.max_wait_ms
        polled = consumer.poll(timeout_ms=wait_ms, max_records=self.kafka.batch_size)
        if self._callback_error is not None:
            error, self._callback_error = self._callback_error, None
            raise error
        records = [record for batch in polled.values() for record in batch]
        self._backlog = len(records) >= self.kafka.batch_size
        if self._rewind_needed:
            self._drop_held_state(dropped=records)
            return
        now = time.time()
        if records:
            self._last_record_at = time.monotonic()
            self._process_records(records, now)
        elif self.in_flight is not None:
            self._await_in_flight()
        elif self._pending_posts and self._idle_for() > self.idle_flush_seconds:
            log.info("input idle; labelling held posts", extra={"held": self._pending_posts})
            self._run_engine([], now, flush=True)
        elif self._pending_posts and not self._idle_told and self._idle_for() > IDLE_NOTICE_SECONDS:
            self._tell_idle()
        elif self._touched and not self.uncommitted:
            self._send_catalog()
        self._pending_posts = len(self.engine.pending_post_ids)
        self._idle_told &= self._pending_posts > 0
        if self.uncommitted and self._pending_posts == 0:
            self._commit(now)
        elif records and self._pending_posts:
            self._report_held()

    def _idle_for(self) -> float:
        return time.monotonic() - self._last_record_at

    def _tell_idle(self) -> None:
        """Once per warm-up: the input went quiet with posts held; say how many and when they are labelled."""
        self._idle_told = True
        held, warmup, wait = self._pending_posts, self.settings.encoder.warmup_posts, self.idle_flush_seconds
        say(
            log,
            f"input quiet with {held:,} of {warmup:,} posts held for the warm-up; they are labelled after "
            f"{wait:g} s without new posts (--idle-flush-seconds)",
            held=held,
            warmup_posts=warmup,
            idle_flush_seconds=wait,
        )

    def _process_records(self, records: list[Any], now: float) -> None:
        """Decode the records, send the posts through the engine, hold the other records as dead letters."""
        batch = self.uncommitted
        if batch.started_at is None:
            batch.started_at = time.monotonic()
        for record in records:
            batch.add_offset(TopicPartition(record.topic, record.partition), record.offset)
        decoded, failures = decode_polled(records, self.settings.input)
        for post, record in decoded:
            batch.sent_at[post.id] = post.timestamp or record.timestamp / 1000.0
        for failure in failures:
            batch.dead_letters.append(
                DeadLetter.from_record(failure.position, failure.reason, failure.detail)
            )
        checking = self.input_check.watching
        if checking:
            self._show_input_check(records, decoded, failures)
        self._check_input(found_now=checking and self.input_check.mismatch is not None, posts=len(decoded))
        if decoded:
            self._run_engine(decoded, now)
            self.checkpointing.learned(records, len(decoded), now)

    def _show_input_check(
        self, records: list[Any], decoded: list[tuple[Post, Any]], failures: list[DecodeFailure]
    ) -> None:
        """Show ``MissingFieldCheck`` each record in the order read: its post, or why it is not one."""
        outcome: dict[int, Post | DecodeFailure] = {id(record): post for post, record in decoded}
        outcome.update((id(failure.position), failure) for failure in failures)
        for record in records:
            if not self.input_check.watching:
                return
            self.input_check.see(outcome[id(record)])

    def _check_input(self, *, found_now: bool, posts: int) -> None:
        """One warning when the first records show the input does not match the settings; the mismatch is
        reported until records decode as posts again (in the same poll, when those after the first ones do)."""
        if found_now:
            self.input_mismatch = self.input_check.setting
            log.warning(
                f"{self.input_check.mismatch}\nThe worker goes on, sending such records to the dead-letter topic "
                f"{self.kafka.deadletter_topic!r}; restart it once the setting is changed.",
                extra={
                    "setting": self.input_mismatch,
                    "fields_found": self.input_check.fields_found,
                    "records": self.input_check.seen,
                },
            )
        if self.input_mismatch is not None and posts:
            log.info("records decode as posts again", extra={"setting": self.input_mismatch})
            self.input_mismatch = None

    def _run_engine(self, decoded: list[tuple[Post, Any]], now: float, *, flush: bool = False) -> None:
        """``engine.process`` (or ``flush``) on the posts (each with its record); the posts it cannot take become
        dead letters."""
        held = self._held
        posts = [post for post, _ in decoded]
        cold = self.engine.model_version == 0
        training = len(self.engine.pending_post_ids) + len(posts)
        if cold and training and (flush or training >= self.settings.encoder.warmup_posts):
            say(log, f"training the first model on {training:,} posts; their labels follow", posts=training)
        guarded = process_guarded(self.engine, posts, now, [post for post, _ in held], flush=flush)
        self.uncommitted.first_model |= cold and self.engine.model_version > 0
        candidates = [*held, *decoded]
        for index, detail in sorted(guarded.culprits.items()):
            letter = DeadLetter.from_record(candidates[index][1], "engine_error", detail)
            self.uncommitted.dead_letters.append(letter)
        if guarded.culprits:
            log.warning(
                "posts the engine cannot take were dead-lettered",
                extra={"posts": len(guarded.culprits), "detail": guarded.culprits[min(guarded.culprits)]},
            )
        self.uncommitted.add_result(guarded.result)
        kept = [pair for index, pair in enumerate(candidates) if index not in guarded.culprits]
        self._held = kept if self.engine.pending_post_ids else []

    def _commit(self, now: float) -> None:
        """Hand the batch's transaction to the committer: its outputs and its offsets, committed together.

        The transaction before it is settled first; if that one failed, this batch is read again with it."""
        if not self._await_in_flight():
            return
        batch, self.uncommitted = self.uncommitted, UncommittedBatch()
        consumer = self.connected_consumer
        catalog = self.catalog_updates(batch)
        state = self.checkpointing.transaction_records(self.engine, consumer, batch.next_offsets)
        records = [(self.kafka.state_topic, key, value) for key, value in state.records]
        records += [(self.kafka.events_topic, *event_record(event)) for event in batch.events]
        records += [(self.kafka.catalog_topic, *catalog_record(entry)) for entry in catalog]
        records += [(self.kafka.deadletter_topic, *letter.to_record(now)) for letter in batch.dead_letters]
        self.connected_committer.submit(self._job(records, batch.labels, state.offsets))
        self.in_flight = InFlight(batch, state, now)
        if not (self.kafka.overlap_commits and self._backlog):
            self._await_in_flight()

    def _job(
        self,
        records: list[tuple[str, bytes, bytes]],
        labels: list[LabelBatch] | None = None,
        offsets: dict[TopicPartition, int] | None = None,
    ) -> TransactionJob:
        """A transaction for the committer; with ``offsets``, they are committed for this consumer's group."""
        return TransactionJob(
            labels_topic=self.kafka.labels_topic,
            labels=labels or [],
            records=records,
            offsets=offsets or {},
            group=self.connected_consumer.group_metadata() if offsets else None,
        )

    def _await_in_flight(self) -> bool:
        """Wait for the transaction in flight; False if it failed (its posts, and those of the batch read after
        it, will be read again)."""
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is None:
            return True
        try:
            outcome = self.connected_committer.outcome()
        except KeyboardInterrupt:
            self.in_flight = in_flight  # still in flight: close() waits for it
            raise
        except KafkaSetupError:
            self._give_up = True  # the outcome is unknown: nothing more may be committed
            raise
        batch = in_flight.batch
        if outcome.committed:
            self.failed_transactions = 0
            self.committed_posts += batch.labelled()
            self.broker_watch.saw_progress()
            self.checkpointing.committed(in_flight.state)
            self._report(batch, in_flight.now, committed=True, checkpoint=in_flight.state.checkpoint)
            return True
        if outcome.fenced:
            self._recover_from_fencing(outcome, "reading the batch again")
        elif outcome.rebalance:
            log.info(
                "transaction refused after a rebalance; reading the batch again",
                extra={"error": outcome.error},
            )
        else:
            self.failed_transactions += 1
        self._rewind_after_failure(batch, in_flight.now)
        if not outcome.fenced and not outcome.rebalance:
            self._back_off(outcome)
        if outcome.producer_lost and not outcome.fenced:
            self._new_producer(outcome)
        return False

    def _new_producer(self, outcome: TransactionOutcome) -> None:
        """The producer cannot go on after a failure that was not a fence (its abort failed): a new one, whose
        ``init_transactions`` ends the open transaction."""
        log.warning("starting a new producer after a failed transaction", extra={"error": outcome.error})
        self.connected_committer.restart_producer(self._stop.is_set)

    def _back_off(self, outcome: TransactionOutcome) -> None:
        """After a failed batch transaction: wait before reading the batch again, or stop when the tries are
        used up (``kafka.max_transaction_retries``)."""
        failures, retries = self.failed_transactions, self.kafka.max_transaction_retries
        if failures > retries:
            self._give_up = True
            raise KafkaSetupError(
                f"a batch transaction failed {failures} times in a row (last error: {outcome.error}); the "
                "worker stops without committing anything more. Nothing is lost: a restart reads the batch "
                "again. Check the broker's log and that this worker may write every output topic and use its "
                "transactional id; raise kafka.max_transaction_retries to wait longer"
            )
        delay = retry_delay(failures)
        self._retry_at = time.monotonic() + delay
        log.warning(
            "transaction failed and was aborted; reading the batch again after a pause",
            extra={"error": outcome.error, "failures": failures, "of": retries + 1, "pause_seconds": delay},
        )

    # -- the durable model ----------------------------------------------------------------------------------

    def _restore_model(self) -> None:
        if self.fresh_model:
            log.warning(
                "starting with a fresh model as asked; its first checkpoint replaces the group's old one",
                extra={"group_id": self.kafka.group_id},
            )
            return
        restored = self.checkpointing.restore(self.connected_consumer)
        if restored is not None:
            self.engine.close()
            self.engine = restored
            self.served_catalog = restored.catalog()

    def _send_last_checkpoint(self) -> None:
        """On a clean stop: a checkpoint with the committed offsets, so the next start has nothing to catch up."""
        consumer = self.connected_consumer
        if not consumer.assignment():
            return
        state: StateWrite = self.checkpointing.transaction_records(
            self.engine, consumer, {}, force_checkpoint=True
        )
        if state.checkpoint is None:
            return
        records = [(self.kafka.state_topic, key, value) for key, value in state.records]
        outcome = self.connected_committer.commit(self._job(records, offsets=state.offsets))
        if not outcome.committed:
            raise KafkaError(outcome.error)
        self.checkpointing.committed(state)

    def _send_catalog(self) -> None:
        """A transaction with only catalog entries: clusters changed by the last batches before a pause."""
        entries = self.catalog_updates(UncommittedBatch())
        if not entries:
            return
        records = [(self.kafka.catalog_topic, *catalog_record(entry)) for entry in entries]
        outcome = self.connected_committer.commit(self._job(records))
        if outcome.committed:
            return
        self._touched |= {entry.cluster_id for entry in entries}
        if outcome.fenced:
            self._recover_from_fencing(outcome, "the catalog update will be sent again")
            return
        log.warning("catalog update failed; it will be sent again", extra={"error": outcome.error})
        if outcome.producer_lost:
            self._new_producer(outcome)

    def _recover_from_fencing(self, outcome: TransactionOutcome, then: str) -> None:
        """The broker fenced this producer. A transaction open longer than its timeout (the broker was unreachable
        that long) is aborted and fenced by the broker itself: start a new producer. Sooner, only a second worker
        with this transactional id can have done it: stop and say so."""
        if outcome.open_seconds < self.transaction_timeout_seconds:
            self._give_up = True  # the other worker has the id now: this one commits nothing more
            raise KafkaSetupError(
                f"another worker uses transactional id {self.transactional_id!r}; give each worker its own "
                f"--instance-id ({outcome.error})"
            )
        log.warning(
            "the broker aborted a transaction that outlived its timeout; starting a new producer",
            extra={"error": outcome.error, "open_seconds": round(outcome.open_seconds, 1), "then": then},
        )
        self.connected_committer.restart_producer(self._stop.is_set)

    def _rewind_after_failure(self, failed: UncommittedBatch, now: float) -> None:
        """Seek back to the failed batch's first offsets; the batch read after it (the engine has learned it, and
        the journal says so) is dropped and read again too."""
        targets = dict(failed.first_offsets)
        for tp, offset in self.uncommitted.first_offsets.items():
            targets.setdefault(tp, offset)
        # their events are not sent again (the engine has them already); the catalog will show the clusters
        self._touched |= failed.touched_cluster_ids() | self.uncommitted.touched_cluster_ids()
        self._rewind(targets)
        self._report(failed, now, committed=False, also_read=self.uncommitted.take_unreported())
        self.uncommitted = UncommittedBatch()

    # -- rebalances -----------------------------------------------------------------------------------------

    def on_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.in_flight is not None:
            # Settle the transaction in flight before the partitions go. Errors are raised after the poll
            # (kafka-python only logs what a rebalance callback raises).
            try:
                self._await_in_flight()
            except BaseException as error:
                self._callback_error = error
        self._assigned -= set(revoked)
        if self.uncommitted:
            # Only possible while the engine holds posts (warm-up): drop that state after this poll.
            self._rewind_needed = True
        for observer in self.observers:
            observer.observe_rebalance(assigned=0, revoked=len(revoked))

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        self._assigned |= set(assigned)
        log.info(
            "partitions assigned",
            extra={"partitions": sorted(f"{tp.topic}-{tp.partition}" for tp in assigned)},
        )
        for observer in self.observers:
            observer.observe_rebalance(assigned=len(assigned), revoked=0)

    def _drop_held_state(self, dropped: list[Any]) -> None:
        """Forget held posts (fresh engine) and rewind to the first offsets not committed yet."""
        log.info(
            "partitions moved during warm-up; dropping held posts", extra={"held": self.uncommitted.consumed}
        )
        targets = dict(self.uncommitted.first_offsets)
        for record in dropped:
            targets.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        self.engine.close()
        if self.engine_factory is not None:
            self.engine = self.engine_factory()
        else:  # what the flush labels is dropped: those posts are read again
            process_guarded(self.engine, [], time.time(), [post for post, _ in self._held], flush=True)
        unreported = self.uncommitted.take_unreported() + len(dropped)
        self.uncommitted = UncommittedBatch()
        self._held = []
        self._pending_posts = 0
        self._rewind_needed = False
        self._rewind(targets)
        self._report_held(consumed=unreported)

    def _rewind(self, targets: dict[TopicPartition, int]) -> None:
        consumer = self.connected_consumer
        assigned = consumer.assignment()
        for tp, offset in targets.items():
            if tp in assigned:
                consumer.seek(tp, offset)

    # -- reporting ------------------------------------------------------------------------------------------

    def catalog_updates(self, batch: UncommittedBatch) -> list[CatalogEntry]:
        """The catalog entries to send with ``batch``'s transaction: those of the clusters touched by events (at
        most once a second, computing the catalog is not free), and every entry once per
        ``catalog_every_seconds``; ``served_catalog`` is refreshed with them. A worker whose catalog another
        process publishes overrides this (``LabelingWorker``: shared mode's trainer publishes it)."""
        self._touched |= batch.touched_cluster_ids()
        now = time.monotonic()
        full = now - self._last_full_catalog_at > self.catalog_every_seconds
        if not full and (not self._touched or now - self._last_catalog_at < 1.0):
            return []
        self.served_catalog = self.engine.catalog()
        self._last_catalog_at = now
        touched, self._touched = self._touched, set()
        if full:
            self._last_full_catalog_at = now
            return self.served_catalog
        return [entry for entry in self.served_catalog if entry.cluster_id in touched]

    def _report(
        self,
        batch: UncommittedBatch,
        now: float,
        *,
        committed: bool,
        checkpoint: Checkpoint | None = None,
        also_read: int = 0,
    ) -> None:
        """``also_read``: records of a later batch dropped with this one (read again after an abort)."""
        if not self.observers:
            return
        done = time.time()
        latencies = np.array(
            [
                done - batch.sent_at.get(post_id, done)
                for labels in batch.labels
                for post_id in labels.post_ids
            ],
            dtype=np.float64,
        )
        started = batch.started_at if batch.started_at is not None else time.monotonic()
        report = WorkerReport(
            result=batch.last_result,
            consumed=batch.take_unreported() + also_read,
            deadlettered=batch.dead_letter_counts(),
            batch_seconds=time.monotonic() - started,
            end_to_end_seconds=latencies if committed else np.empty(0),
            lag=self._lag(),
            assigned_partitions=len(self._assigned),
            committed=committed,
            aborted=not committed,
            labels=list(batch.labels),
            events=list(batch.events),
            checkpoint_bytes=0 if checkpoint is None else checkpoint.size_bytes,
            failed_transactions=self.failed_transactions,
            input_mismatch=self.input_mismatch,
            first_model=batch.first_model,
        )
        for observer in self.observers:
            observer.observe_batch(report)

    def _report_held(self, consumed: int | None = None) -> None:
        """While the engine holds posts: what was read, and how many posts are held (nothing is committed)."""
        if not self.observers:
            return
        report = HeldReport(
            consumed=self.uncommitted.take_unreported() if consumed is None else consumed,
            held=self._pending_posts,
            warmup_posts=self.settings.encoder.warmup_posts,
            lag=self._lag(),
            assigned_partitions=len(self._assigned),
            input_mismatch=self.input_mismatch,
        )
        for observer in self.observers:
            observer.observe_held(report)

    def _lag(self) -> dict[tuple[str, int], int]:
        consumer = self.connected_consumer
        return consumer_lag(consumer, self._assigned & consumer.assignment())


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, worker: KafkaWorker) -> None:
        self.worker = worker

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.worker.on_revoked(set(revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.worker.on_assigned(set(assigned))
