"""When the broker fences the worker's transactional producer, the worker tells the two causes apart.

A transaction that stayed open longer than its timeout (the broker was unreachable for that long) is aborted by
the broker, which also fences the producer's epoch: the worker starts a new producer and reads the batch again.
A transaction fenced sooner can only mean another worker started with the same transactional id: the worker
stops and says what to do. Both tests fence the worker for real, by initialising a second producer with its
transactional id on the broker; the first one makes every fencing count as a timed-out transaction.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from kafka import KafkaProducer
from kafka_support import CommittedReader, Stream, post_values

from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka import KafkaWorker
from streamclust.io.kafka.clients import transactional_producer_config

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(240, func_only=True)]

POSTS = 6_000


class WorkerThread:
    """A worker running in a thread, keeping the exception it stopped with."""

    def __init__(self, stream: Stream) -> None:
        self.settings = load_settings(stream.config)
        self.worker = KafkaWorker(self.settings, Engine.from_settings(self.settings), instance_id="solo")
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as error:  # kept for the test to inspect
            self.error = error

    def wait_until_committed(self, posts: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.worker.committed_posts < posts and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.05)

    def fence(self) -> None:
        """What a second worker with the same transactional id does when it starts."""
        config = transactional_producer_config(self.settings.kafka, self.worker.transactional_id)
        other = KafkaProducer(**config)
        other.init_transactions()
        other.close(timeout=5)

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=60)


def test_a_transaction_aborted_for_its_timeout_is_read_again_and_the_worker_goes_on(
    stream: Stream, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="streamclust.kafka")
    monkeypatch.setattr(KafkaWorker, "transaction_timeout_seconds", property(lambda self: 0.0))
    stream = Stream(stream.bootstrap, stream.workdir, partitions=2)
    posts = post_values(POSTS, prefix="fenced-")
    stream.create_topics()
    stream.produce(posts[: POSTS // 2])  # the other half after the fence: the fence lands mid-stream

    running = WorkerThread(stream)
    running.wait_until_committed(1_000, timeout=120)
    assert running.worker.committed_posts >= 1_000, running.error
    running.fence()
    stream.produce(posts[POSTS // 2 :])
    running.wait_until_committed(POSTS, timeout=120)
    alive = running.thread.is_alive()
    running.stop()

    assert alive and running.error is None, running.error
    # The fence cost the worker a transaction (a batch's, or a catalog update's): seen as a fence (it starts a
    # new producer) or, when kafka-python reports the broker's answer to the commit as an unknown error, as a
    # failed transaction, aborted and sent again.
    logged = [(record.getMessage(), getattr(record, "error", None)) for record in caplog.records]
    effects = [message for message, _ in logged if "outlived its timeout" in message or "failed" in message]
    assert effects, f"no transaction failed after the fence, so this test proved nothing: {logged}"
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(POSTS, timeout=30)
    labels.read_for(1.0)
    assert sorted(labels.keys().items()) == sorted((key.decode(), 1) for key, _ in posts)
    labels.close()


def test_a_second_worker_with_the_same_transactional_id_stops_the_first_with_what_to_do(
    stream: Stream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streamclust.kafka")
    posts = post_values(POSTS, prefix="twin-")
    stream.create_topics()
    stream.produce(posts)

    running = WorkerThread(stream)
    running.wait_until_committed(1_000, timeout=120)
    assert running.worker.committed_posts >= 1_000, running.error
    running.fence()
    running.thread.join(timeout=60)
    alive = running.thread.is_alive()
    if alive:
        running.stop()

    # What the worker logged (the committer's errors among them) says why, should this fail.
    logged = [(record.getMessage(), getattr(record, "error", None)) for record in caplog.records]
    assert not alive, f"the worker still runs 60 s after the fence: {logged}"
    assert isinstance(running.error, KafkaSetupError), (running.error, logged)
    assert "--instance-id" in str(running.error), (running.error, logged)
