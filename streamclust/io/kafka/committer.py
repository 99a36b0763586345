"""The worker's transactional producer, in a process of its own.

Encoding and sending a batch's records through kafka-python is Python work of about the same size as the
engine's, and both need the GIL; in one process they take turns. So the worker hands each batch transaction
(its label batches, other records, and the consumer offsets to commit) to a committer process and goes on with
the next batch while the committer produces and commits this one.

The protocol over the pipe, one message at a time in each direction:
- the committer starts, connects, calls ``init_transactions`` and answers ``Ready`` (or ``StartFailed``);
- the worker sends a ``TransactionJob``; the committer runs it as one transaction (aborting it on an error)
  and answers with a ``TransactionOutcome``;
- ``RESTART`` asks for a new producer with the same transactional id (answered by ``Ready``);
- ``None``, or the worker's end of the pipe closing, ends the committer. On Linux the kernel also kills the
  committer as soon as the worker dies (even by SIGKILL), so a crash stops both at once, as it would stop one
  process; the open transaction is aborted by the next worker's ``init_transactions``.

A job whose outcome never reached the worker was either committed or not, atomically, as any Kafka
transaction: the worker reads its posts again unless they were committed.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from kafka import KafkaProducer, TopicPartition
from kafka.errors import (
    CommitFailedError,
    FencedInstanceIdError,
    IllegalGenerationError,
    KafkaError,
    ProducerFencedError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)
from kafka.structs import OffsetAndMetadata

from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import connect_producer
from streamclust.io.kafka.records import label_records
from streamclust.result import LabelBatch

RESTART = "restart"

# The broker refused the transaction's offsets because the consumer group moved on (a rebalance).
REBALANCE_ERRORS = (
    CommitFailedError,
    FencedInstanceIdError,
    IllegalGenerationError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)


@dataclass
class TransactionJob:
    """Everything one transaction carries. ``group`` is the consumer's group metadata (None: no offsets)."""

    labels_topic: str
    labels: list[LabelBatch] = field(default_factory=list)  # encoded into label records by the committer
    records: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # (topic, key, value), in order
    offsets: dict[TopicPartition, int] = field(default_factory=dict)
    group: Any = None


@dataclass(frozen=True)
class TransactionOutcome:
    committed: bool
    error: str | None = None
    fenced: bool = False  # the broker fenced the producer (a second worker, or a transaction that timed out)
    open_seconds: float = 0.0  # how long the transaction was open when it ended
    rebalance: bool = False  # refused because the consumer group rebalanced (stale group metadata)


@dataclass(frozen=True)
class Ready:
    pass


@dataclass(frozen=True)
class StartFailed:
    message: str


def run_transaction(producer: KafkaProducer, job: TransactionJob, flush_seconds: float | None = None) -> None:
    """Send the job's records and offsets in one transaction and commit it; raises if anything failed.

    Every record is flushed and checked before the commit, within ``flush_seconds``: kafka-python 3.0 waits
    forever in ``commit_transaction`` when the broker refused a batch it split (a record too large for the
    topic), so a refused record is raised here instead, and the transaction is aborted.
    """
    producer.begin_transaction()
    sent = [producer.send(topic, key=key, value=value) for topic, key, value in job.records]
    for labels in job.labels:
        sent.extend(
            producer.send(job.labels_topic, key=key, value=value) for key, value in label_records(labels)
        )
    producer.flush(timeout=flush_seconds)  # raises KafkaError when not done in time
    refused = next((future for future in sent if future.failed()), None)
    if refused is not None:
        raise refused.exception
    if job.offsets:
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in job.offsets.items()}
        producer.send_offsets_to_transaction(offsets, job.group)
    producer.commit_transaction()


class _Producer:
    """The committer's side: one transactional producer, restarted when it cannot go on."""

    def __init__(self, config: dict[str, Any], connect_timeout: float | None) -> None:
        self.config = config
        self.connect_timeout = connect_timeout
        self.producer: KafkaProducer | None = None
        # Well before the broker aborts the transaction for its timeout (that would fence the producer).
        self.flush_seconds = config.get("transaction_timeout_ms", 60_000) / 2000.0

    def start(self) -> None:
        self.producer = connect_producer(self.config, self.connect_timeout)
        self.producer.init_transactions()

    def restart(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=5)
        self.start()

    def commit(self, job: TransactionJob) -> TransactionOutcome:
        assert self.producer is not None
        began = time.monotonic()
        try:
            run_transaction(self.producer, job, self.flush_seconds)
        except ProducerFencedError as error:
            return TransactionOutcome(False, repr(error), fenced=True, open_seconds=time.monotonic() - began)
        except Exception as error:  # a Kafka error, or a record the client could not encode
            if fenced_in_disguise(error):
                return TransactionOutcome(
                    False, repr(error), fenced=True, open_seconds=time.monotonic() - began
                )
            return self.abort(error, began)
        return TransactionOutcome(True, open_seconds=time.monotonic() - began)

    def abort(self, error: Exception, began: float) -> TransactionOutcome:
        assert self.producer is not None
        try:
            self.producer.abort_transaction()
        except ProducerFencedError as fenced:
            return TransactionOutcome(False, repr(fenced), fenced=True, open_seconds=time.monotonic() - began)
        except KafkaError:
            self.restart()  # init_transactions ends the open transaction
        return TransactionOutcome(
            False,
            repr(error),
            open_seconds=time.monotonic() - began,
            rebalance=isinstance(error, REBALANCE_ERRORS),
        )

    def close(self) -> None:
        if self.producer is not None:
            self.producer.close(timeout=10)


PR_SET_PDEATHSIG = 1


def die_with_worker(worker_pid: int) -> None:
    """Ask Linux to kill this process when the thread that started it ends (the worker's, normally; start the
    committer from the thread that runs the worker). Elsewhere the closed pipe ends it instead."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker_pid:  # the worker died before the request took effect
        os._exit(0)


def serve(
    conn: Connection, config: dict[str, Any], connect_timeout: float | None, worker_pid: int | None = None
) -> None:
    """The committer process: answer the worker's messages until told to stop or the worker is gone.

    Ctrl-C (SIGINT to the whole terminal group) is the worker's to handle: it finishes its batch, then closes
    the committer. SIGTERM ends the committer, but never in the middle of a transaction.
    """
    if worker_pid is not None:
        die_with_worker(worker_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    busy = False
    stop_after_this = False

    def on_sigterm(signum: int, frame: Any) -> None:
        nonlocal stop_after_this
        if not busy:
            raise SystemExit(0)
        stop_after_this = True

    signal.signal(signal.SIGTERM, on_sigterm)
    producer = _Producer(config, connect_timeout)
    try:
        producer.start()
    except (KafkaError, KafkaSetupError) as error:
        conn.send(StartFailed(str(error)))
        return
    try:
        conn.send(Ready())
        while not stop_after_this:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            busy = True
            if message == RESTART:
                producer.restart()
                conn.send(Ready())
            else:
                conn.send(producer.commit(message))
            busy = False
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        producer.close()


class Committer:
    """The worker's handle on the committer process: at most one transaction in flight at a time."""

    def __init__(self, config: dict[str, Any], connect_timeout: float | None = None) -> None:
        self.config = config
        self.connect_timeout = connect_timeout
        self.conn: Connection | None = None
        self.process: multiprocessing.process.BaseProcess | None = None
        self.in_flight = False
        self.broken = False  # a receive was interrupted mid-message: the pipe is out of step

    def start(self, should_stop: Any = lambda: False) -> None:
        """Start the process and wait until its producer has initialised transactions."""
        context = multiprocessing.get_context("spawn")  # no fork of a process that runs torch threads
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve,
            args=(theirs, self.config, self.connect_timeout, os.getpid()),
            name="streamclust-committer",
            daemon=True,
        )
        process.start()
        theirs.close()
        self.conn, self.process = ours, process
        self._wait_ready(should_stop)

    def submit(self, job: TransactionJob) -> None:
        if self.in_flight:
            raise RuntimeError("a transaction is already in flight; wait for its outcome first")
        self._conn().send(job)
        self.in_flight = True

    def outcome(self) -> TransactionOutcome:
        """Wait for the outcome of the transaction in flight. Interrupted while waiting (Ctrl-C), it can be
        called again: the transaction stays in flight."""
        conn = self._conn()
        while not conn.poll(0.5):  # an interruption here leaves the pipe in step (nothing read yet)
            pass
        message = self._receive()
        self.in_flight = False
        if not isinstance(message, TransactionOutcome):
            raise KafkaSetupError(
                f"the committer process answered {message!r} instead of a transaction outcome"
            )
        return message

    def commit(self, job: TransactionJob) -> TransactionOutcome:
        self.submit(job)
        return self.outcome()

    def restart_producer(self) -> None:
        """A new producer with the same transactional id; ``init_transactions`` ends any open transaction."""
        self._conn().send(RESTART)
        self._wait_ready(lambda: False)

    def close(self) -> None:
        if self.conn is not None and not self.broken:
            try:
                if self.in_flight:
                    self.outcome()
                self.conn.send(None)
            except (OSError, EOFError, KafkaSetupError):
                pass
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.process is not None:
            self.process.join(timeout=15)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout=5)
            self.process = None

    def _wait_ready(self, should_stop: Any) -> None:
        conn = self._conn()
        # Without a connect timeout the producer retries (with backoff) until the broker answers, as the
        # worker's other clients do; the worker can still stop meanwhile.
        deadline = None if self.connect_timeout is None else time.monotonic() + self.connect_timeout + 30.0
        while not conn.poll(0.2):
            if should_stop() or (deadline is not None and time.monotonic() > deadline):
                self.close()
                raise KafkaSetupError("the committer process did not get ready; is the broker reachable?")
            if self.process is not None and not self.process.is_alive():
                raise KafkaSetupError(self._died())
        message = self._receive()
        if isinstance(message, StartFailed):
            raise KafkaSetupError(message.message)
        if not isinstance(message, Ready):
            raise KafkaSetupError(f"the committer process answered {message!r} instead of getting ready")

    def _receive(self) -> Any:
        try:
            return self._conn().recv()
        except (EOFError, OSError):
            raise KafkaSetupError(self._died()) from None
        except BaseException:
            self.broken = True
            raise

    def _died(self) -> str:
        code = None if self.process is None else self.process.exitcode
        return (
            f"the committer process (the worker's Kafka producer) stopped unexpectedly (exit code {code}); "
            "the worker stops too, and a restart reads the uncommitted posts again"
        )

    def _conn(self) -> Connection:
        if self.broken:
            raise KafkaSetupError(
                "the worker was interrupted while reading from the committer process; the last transaction's "
                "outcome is unknown, so the worker sends nothing more (a restart reads uncommitted posts again)"
            )
        if self.conn is None:
            raise KafkaSetupError("the committer process is not running; call start() first")
        return self.conn


def fenced_in_disguise(error: Exception) -> bool:
    """kafka-python 3.0 reports a commit that the broker refused because another producer took the
    transactional id (Kafka 4's transactions v2) as an unknown EndTxn error rather than ProducerFencedError.
    Aborting then fails too, and restarting the producer would fence the other worker in turn, so it is
    treated as the fence it is: the worker decides what it means (docs/architecture.md, "The batch loop")."""
    text = repr(error)
    return "EndTxnResponse" in text and "UnknownError" in text
