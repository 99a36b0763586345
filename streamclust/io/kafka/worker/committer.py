"""The worker's transactional producer, in a process of its own.

Encoding and sending a batch's records through kafka-python is Python work of about the same size as the
engine's, and both need the GIL; in one process they take turns. So the worker hands each batch transaction
(its label batches, other records, and the consumer offsets to commit) to a committer process and goes on with
the next batch while the committer produces and commits this one.

The protocol over the pipe, one message at a time in each direction:
- the committer starts, connects, calls ``init_transactions`` and answers ``Ready`` (or ``StartFailed``);
- the worker sends a ``TransactionJob``; the committer runs it as one transaction (aborting it on an error)
  and answers with a ``TransactionOutcome``;
- ``None``, or the worker's end of the pipe closing, ends the committer. On Linux the kernel also kills the
  committer as soon as the worker dies (even by SIGKILL), so a crash stops both at once, as it would stop one
  process; the open transaction is aborted by the next worker's ``init_transactions``.

A job whose outcome never reached the worker was either committed or not, atomically, as any Kafka
transaction: the worker reads its posts again unless they were committed.

The committer never calls ``init_transactions`` again by itself: with a second worker alive on the same
transactional id, that call would fence the other worker and take the id back, so two workers would go on taking
turns. A producer that cannot go on (fenced, or its abort failed) is reported as lost; the worker decides whether
a new one may start (``Committer.restart_producer``, a new process) or it must stop. Every wait for the committer
has a deadline: kafka-python waits without one in ``commit_transaction`` and ``abort_transaction``.
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
    InvalidProducerEpochError,
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

# The broker refused the transaction's offsets because the consumer group moved on (a rebalance).
REBALANCE_ERRORS = (
    CommitFailedError,
    FencedInstanceIdError,
    IllegalGenerationError,
    RebalanceInProgressError,
    UnknownMemberIdError,
)

# How kafka-python reports that another producer took the transactional id (or the broker bumped the epoch
# when it aborted a transaction for its timeout): the fence itself, or a produce refused for the old epoch.
FENCE_ERRORS = (ProducerFencedError, InvalidProducerEpochError)
# After an error, how long the committer waits for the records already sent to settle before it decides whether
# the error was a fence: kafka-python may refuse the next send (IllegalStateError) a moment before it fails the
# in-flight records with the error that says why.
SETTLE_SECONDS = 2.0


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
    # The producer cannot run another transaction (fenced, or the abort failed): a new one has to be started
    # (``Committer.restart_producer``) before the next job.
    producer_lost: bool = False


@dataclass(frozen=True)
class Ready:
    pass


@dataclass(frozen=True)
class StartFailed:
    message: str


def run_transaction(
    producer: KafkaProducer,
    job: TransactionJob,
    flush_seconds: float | None = None,
    sent: list[Any] | None = None,
) -> None:
    """Send the job's records and offsets in one transaction and commit it; raises if anything failed.

    Every record is flushed and checked before the commit, within ``flush_seconds``: kafka-python 3.0 waits
    forever in ``commit_transaction`` when the broker refused a batch it split (a record too large for the
    topic), so a refused record is raised here instead, and the transaction is aborted. The send futures are
    appended to ``sent`` as they are made (the caller inspects them when something failed).
    """
    sent = [] if sent is None else sent
    producer.begin_transaction()
    for topic, key, value in job.records:
        sent.append(producer.send(topic, key=key, value=value))
    for labels in job.labels:
        for key, value in label_records(labels):
            sent.append(producer.send(job.labels_topic, key=key, value=value))
    producer.flush(timeout=flush_seconds)  # raises KafkaError when not done in time
    refused = next((future for future in sent if future.failed()), None)
    if refused is not None:
        raise refused.exception
    if job.offsets:
        offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in job.offsets.items()}
        producer.send_offsets_to_transaction(offsets, job.group)
    producer.commit_transaction()


class _Producer:
    """The committer's side: one transactional producer, for as long as it can go on."""

    def __init__(self, config: dict[str, Any], connect_timeout: float | None) -> None:
        self.config = config
        self.connect_timeout = connect_timeout
        self.producer: KafkaProducer | None = None
        self.lost = False  # fenced, or an abort failed: no more transactions with this producer
        # Well before the broker aborts the transaction for its timeout (that would fence the producer).
        self.flush_seconds = config.get("transaction_timeout_ms", 60_000) / 2000.0

    def start(self) -> None:
        self.producer = connect_producer(self.config, self.connect_timeout)
        self.producer.init_transactions()

    def commit(self, job: TransactionJob) -> TransactionOutcome:
        assert self.producer is not None
        began = time.monotonic()
        if self.lost:
            return TransactionOutcome(
                False, "the producer was lost in an earlier transaction", producer_lost=True
            )
        sent: list[Any] = []
        try:
            run_transaction(self.producer, job, self.flush_seconds, sent)
        except Exception as error:  # a Kafka error, or a record the client could not encode
            return self.fail(error, sent, began)
        return TransactionOutcome(True, open_seconds=time.monotonic() - began)

    def fail(self, error: Exception, sent: list[Any], began: float) -> TransactionOutcome:
        """The transaction failed: a fence ends this producer; anything else is aborted (a failed abort ends the
        producer too). Never ``init_transactions`` here: see the module's docstring."""
        assert self.producer is not None
        if fence_seen(error, self.producer, sent, settle_seconds=SETTLE_SECONDS):
            self.lost = True
            return TransactionOutcome(
                False,
                describe(error, sent),
                fenced=True,
                open_seconds=time.monotonic() - began,
                producer_lost=True,
            )
        try:
            self.producer.abort_transaction()
        except Exception as abort_error:
            self.lost = True
            fenced = fence_seen(abort_error, self.producer, sent)
            return TransactionOutcome(
                False,
                f"{describe(error, sent)}; the abort failed too: {abort_error!r}",
                fenced=fenced,
                open_seconds=time.monotonic() - began,
                producer_lost=True,
            )
        return TransactionOutcome(
            False,
            describe(error, sent),
            open_seconds=time.monotonic() - began,
            rebalance=isinstance(error, REBALANCE_ERRORS),
        )

    def close(self) -> None:
        """Close the producer; a lost one is not flushed (its records may never go out)."""
        if self.producer is not None:
            with contextlib.suppress(Exception):  # the process ends anyway
                self.producer.close(timeout=0 if self.lost else 10)


def fence_seen(error: BaseException, producer: Any, sent: list[Any], settle_seconds: float = 0.0) -> bool:
    """Whether a failed transaction was fenced, however kafka-python 3.0 reports it: ``ProducerFencedError``
    raised, or wrapped in a ``KafkaError`` ("Cannot perform send ...", the fence as an argument), or only in the
    text of one ("... error state: ProducerFencedError"); ``InvalidProducerEpochError`` on the records sent
    (kafka-python then bumps the epoch itself and refuses the next send with an ``IllegalStateError``); the
    producer's own last error; or the unknown EndTxn error of a fence under transactions v2. With
    ``settle_seconds``, the records still in flight get that long to fail with the reason."""
    if _fence_in(error) or _fence_in(
        getattr(getattr(producer, "_transaction_manager", None), "last_error", None)
    ):
        return True
    deadline = time.monotonic() + settle_seconds
    while True:
        if any(future.failed() and _fence_in(future.exception) for future in sent):
            return True
        if time.monotonic() >= deadline or all(future.is_done for future in sent):
            return False
        time.sleep(0.02)


def _fence_in(error: Any) -> bool:
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, FENCE_ERRORS) or fenced_in_disguise(current):
            return True
        text = repr(current)
        if any(kind.__name__ in text for kind in FENCE_ERRORS):
            return True
        pending.extend(current.args)
        pending.extend((current.__cause__, current.__context__))
    return False


def describe(error: BaseException, sent: list[Any]) -> str:
    """The error, and the first different error of a record sent in the transaction (often the reason)."""
    text = repr(error)
    reason = next((future.exception for future in sent if future.failed()), None)
    if reason is not None and repr(reason) != text:
        text += f" (a record sent in it failed with {reason!r})"
    return text


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
            conn.send(producer.commit(message))
            busy = False
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        producer.close()


class Committer:
    """The worker's handle on the committer process: at most one transaction in flight at a time.

    ``answer_seconds`` bounds every wait for the committer's answer (default: four transaction timeouts, at
    least two minutes, room for a broker that comes back within that time). A committer that does not answer
    in time is killed and the worker stops: the transaction's outcome is unknown, so nothing more may be
    committed, and a restart reads again whatever was not committed."""

    def __init__(
        self,
        config: dict[str, Any],
        connect_timeout: float | None = None,
        answer_seconds: float | None = None,
    ) -> None:
        self.config = config
        self.connect_timeout = connect_timeout
        if answer_seconds is None:
            answer_seconds = max(120.0, 4 * config.get("transaction_timeout_ms", 60_000) / 1000.0)
        self.answer_seconds = answer_seconds
        self.conn: Connection | None = None
        self.process: multiprocessing.process.BaseProcess | None = None
        self.in_flight = False
        # A receive was interrupted mid-message, or no answer came in time: the pipe is out of step.
        self.broken = False
        self._waited = 0.0  # seconds spent waiting for the outcome in flight (over interrupted waits too)

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
        self.broken, self.in_flight, self._waited = False, False, 0.0
        self._wait_ready(should_stop)

    def submit(self, job: TransactionJob) -> None:
        if self.in_flight:
            raise RuntimeError("a transaction is already in flight; wait for its outcome first")
        self._conn().send(job)
        self.in_flight = True
        self._waited = 0.0

    def outcome(self) -> TransactionOutcome:
        """Wait for the outcome of the transaction in flight, at most ``answer_seconds`` in all. Interrupted
        while waiting (Ctrl-C), it can be called again: the transaction stays in flight."""
        conn = self._conn()
        while not conn.poll(0.5):  # an interruption here leaves the pipe in step (nothing read yet)
            self._waited += 0.5
            if self.process is not None and not self.process.is_alive():
                raise KafkaSetupError(self._died())
            if self._waited >= self.answer_seconds:
                self._kill()
                raise KafkaSetupError(
                    f"the committer process (the worker's Kafka producer) did not finish a transaction in "
                    f"{self.answer_seconds:.0f}s, so its outcome is unknown and the worker stops without "
                    "committing anything more; a restart reads again whatever was not committed. Check that the "
                    "broker is reachable and healthy"
                )
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

    def restart_producer(self, should_stop: Any = lambda: False) -> None:
        """A new producer with the same transactional id, in a new committer process (the old producer may be
        stuck inside kafka-python); its ``init_transactions`` ends any open transaction. Only for a producer
        the broker fenced because its transaction outlived the timeout, or one that failed for another reason:
        with a second worker alive on the id this would fence that worker in turn."""
        self.close()
        self.start(should_stop)

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
            self._kill()

    def _kill(self) -> None:
        """End the process now (SIGKILL: its producer may be stuck); the pipe is unusable afterwards."""
        self.broken = True
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
                self.process.join(timeout=10)
            self.process = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None

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
                "the last transaction's outcome is unknown (the worker was interrupted while reading it from "
                "the committer process, or the committer did not answer in time), so the worker sends nothing "
                "more (a restart reads uncommitted posts again)"
            )
        if self.conn is None:
            raise KafkaSetupError("the committer process is not running; call start() first")
        return self.conn


def fenced_in_disguise(error: BaseException) -> bool:
    """kafka-python 3.0 reports a commit that the broker refused because another producer took the
    transactional id (Kafka 4's transactions v2) as an unknown EndTxn error rather than ProducerFencedError.
    Aborting then fails too, and restarting the producer would fence the other worker in turn, so it is
    treated as the fence it is: the worker decides what it means (docs/architecture.md, "The batch loop")."""
    text = repr(error)
    return "EndTxnResponse" in text and "UnknownError" in text
