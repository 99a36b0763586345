"""The committer process runs the worker's transactions; a failed one is aborted and read again, also when the
worker had already gone on to the next batch.

The failure is real: a record larger than the producer's ``max_request_size`` makes kafka-python refuse it, and
the committer aborts the open transaction.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kafka import TopicPartition
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values, run_until_committed

from streamclust.config import load_settings
from streamclust.io.kafka import KafkaWorker
from streamclust.io.kafka.clients import transactional_producer_config
from streamclust.io.kafka.worker.committer import Committer, TransactionJob, TransactionOutcome
from streamclust.testing import FirstWordEngine

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(180, func_only=True)]

TOO_LARGE = b"x" * 3_000_000  # over the producer's max_request_size


def test_the_committer_commits_and_aborts_transactions_and_goes_on_after_a_failure(stream: Stream) -> None:
    stream.create_topics()
    settings = load_settings(stream.config)
    committer = Committer(transactional_producer_config(settings.kafka, "committer-test"), 60)
    committer.start()
    events = stream.topic("events")
    try:
        first = committer.commit(TransactionJob(labels_topic=events, records=[(events, b"a", b"1")]))
        failed = committer.commit(
            TransactionJob(labels_topic=events, records=[(events, b"b", b"2"), (events, b"c", TOO_LARGE)])
        )
        after = committer.commit(TransactionJob(labels_topic=events, records=[(events, b"d", b"4")]))
    finally:
        committer.close()

    assert first.committed and after.committed
    assert not failed.committed and not failed.fenced and "TooLarge" in (failed.error or "")
    reader = CommittedReader(stream.bootstrap, events)
    reader.read_until(2, timeout=30)
    reader.read_for(1.0)
    assert sorted(reader.keys()) == ["a", "d"]  # "b" went out in the aborted transaction: never readable
    reader.close()
    assert committer.process is None


def test_a_transaction_failing_while_the_worker_has_read_ahead_is_read_again_with_the_batch_after_it(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    posts = post_values(6_000, prefix="ahead-")
    stream.create_topics()
    stream.produce(posts)
    outcomes: list[tuple[TransactionOutcome, bool]] = []
    jobs = 0
    worker_box: list[KafkaWorker] = []
    submit, outcome = Committer.submit, Committer.outcome

    def submit_with_one_failure(self: Committer, job: TransactionJob) -> None:
        nonlocal jobs
        if job.labels:
            jobs += 1
            if jobs == 4:  # a batch from the backlog, handed over while the worker goes on reading
                job.records.append((job.labels_topic, b"too-large", TOO_LARGE))
        submit(self, job)

    def outcome_noting_overlap(self: Committer) -> TransactionOutcome:
        result = outcome(self)
        outcomes.append((result, bool(worker_box[0].uncommitted)))  # a batch read after the one in flight?
        return result

    monkeypatch.setattr(Committer, "submit", submit_with_one_failure)
    monkeypatch.setattr(Committer, "outcome", outcome_noting_overlap)
    settings = load_settings(stream.config)
    worker = KafkaWorker(settings, FirstWordEngine(warmup_posts=300), instance_id="solo")
    worker_box.append(worker)
    run_until_committed(worker, len(posts))

    failures = [(result, overlapped) for result, overlapped in outcomes if not result.committed]
    assert len(failures) == 1
    assert failures[0][1], "the failed transaction was settled only after the next batch had been read"
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(len(posts), timeout=30)
    labels.read_for(1.0)
    assert sorted(labels.keys().items()) == sorted((key.decode(), 1) for key, _ in posts)
    labels.close()
    assert committed_offsets(stream, settings.kafka.group_id) == len(posts)


def committed_offsets(stream: Stream, group_id: str) -> int:
    """The sum of the group's committed input offsets (one post per offset here)."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=stream.bootstrap, group_id=group_id, enable_auto_commit=False)
    try:
        topic = stream.topic("input")
        total: Any = 0
        for partition in consumer.partitions_for_topic(topic) or ():
            total += consumer.committed(TopicPartition(topic, partition)) or 0
        return int(total)
    finally:
        consumer.close()


def committers_of(pid: int) -> set[int]:
    """The worker's committer process (``spawn`` runs it as ``python -c "from multiprocessing.spawn ..."``)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if parent == pid and b"multiprocessing.spawn" in command:
                found.add(int(entry.name))
    return found


def running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_worker_killed_with_sigkill_takes_its_committer_with_it(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    stream.create_topics()
    worker = WorkerProcess(stream.config, "solo")
    workers.append(worker)
    assert worker.wait_for_log("worker connected", timeout=120), worker.log_tail()
    committers = committers_of(worker.process.pid)
    assert len(committers) == 1, committers

    worker.kill()
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in committers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(pid) for pid in committers)
