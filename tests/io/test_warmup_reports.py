"""During the warm-up the Kafka worker commits nothing, yet /metrics shows what it read and holds, and /readyz
stays 'not ready' until the model is warm. Broker-free: a scripted consumer and committer stand in for Kafka."""

from __future__ import annotations

import json
import logging
from collections import deque
from dataclasses import dataclass
from typing import Any

import pytest
from kafka import TopicPartition
from prometheus_client import CollectorRegistry

from streamclust.config import Settings
from streamclust.io.kafka.worker.batch_loop import KafkaWorker
from streamclust.io.kafka.worker.committer import TransactionJob, TransactionOutcome
from streamclust.obs.metrics import WorkerMetrics
from streamclust.obs.progress_log import ProgressLog
from streamclust.observer import HeldReport, WorkerReport
from streamclust.testing import FirstWordEngine

PARTITION = TopicPartition("posts", 0)


@dataclass(frozen=True)
class Record:
    offset: int
    value: bytes
    topic: str = PARTITION.topic
    partition: int = PARTITION.partition
    key: bytes | None = None
    timestamp: int = 1_700_000_000_000


class ScriptedConsumer:
    """Returns the scripted polls in turn, then nothing; the partition's end is after the last record."""

    def __init__(self, polls: list[list[Record]]) -> None:
        self.polls = deque(polls)
        self.end = sum(len(poll) for poll in polls)
        self.read = 0
        self.seeks: list[tuple[TopicPartition, int]] = []

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        records = self.polls.popleft() if self.polls else []
        self.read += len(records)
        return {PARTITION: records} if records else {}

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def highwater(self, tp: TopicPartition) -> int:
        return self.end

    def position(self, tp: TopicPartition, timeout_ms: int) -> int:
        return self.read

    def group_metadata(self) -> str:
        return "group"

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


class CommittingCommitter:
    def __init__(self) -> None:
        self.jobs: list[TransactionJob] = []
        self.broken = False

    def submit(self, job: TransactionJob) -> None:
        self.jobs.append(job)

    def outcome(self) -> TransactionOutcome:
        return TransactionOutcome(committed=True)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[WorkerReport | HeldReport] = []

    def observe_batch(self, report: WorkerReport) -> None:
        self.seen.append(report)

    def observe_held(self, report: HeldReport) -> None:
        self.seen.append(report)

    def observe_rebalance(self, assigned: int, revoked: int) -> None:
        return None


def polls_of(sizes: list[int]) -> list[list[Record]]:
    polls, offset = [], 0
    for size in sizes:
        polls.append(
            [
                Record(o, json.dumps({"id": str(o), "text": f"word{o % 3} post"}).encode())
                for o in range(offset, offset + size)
            ]
        )
        offset += size
    return polls


def warming_worker(polls: list[list[Record]], *observers: Any) -> KafkaWorker:
    settings = Settings.model_validate({"encoder": {"warmup_posts": 100}, "http": {"enabled": False}})
    worker = KafkaWorker(settings, FirstWordEngine(warmup_posts=100), observers=observers)
    worker.consumer = ScriptedConsumer(polls)
    worker.committer = CommittingCommitter()
    worker._running = True
    worker.on_assigned({PARTITION})
    return worker


def test_held_posts_show_as_pending_and_reads_count_once() -> None:
    metrics = WorkerMetrics(CollectorRegistry())
    worker = warming_worker(polls_of([40, 40, 40]), metrics)
    sample = metrics.registry.get_sample_value

    worker.run_once()
    worker.run_once()

    assert sample("streamclust_pending_posts") == 80
    assert sample("streamclust_posts_consumed_total") == 80  # visible before anything is committed
    assert sample("streamclust_posts_labelled_total") == 0

    worker.run_once()  # the 100th post ends the warm-up: all 120 are labelled and committed

    assert sample("streamclust_pending_posts") == 0
    assert sample("streamclust_posts_consumed_total") == 120  # not 80 + 120
    assert sample("streamclust_posts_labelled_total") == 120


def test_observers_hear_each_warm_up_poll_then_the_committed_span() -> None:
    recorder = Recorder()
    worker = warming_worker(polls_of([60, 60]), recorder)

    worker.run_once()
    worker.run_once()

    held, committed = recorder.seen
    assert isinstance(held, HeldReport)
    assert (held.consumed, held.held, held.warmup_posts, held.lag) == (60, 60, 100, {("posts", 0): 60})
    assert isinstance(committed, WorkerReport) and committed.committed
    assert committed.consumed == 60  # the reads of the second poll; the first were in the HeldReport
    assert sum(len(labels) for labels in committed.labels) == 120


def test_readiness_stays_off_through_the_whole_warm_up_and_turns_on_with_the_model() -> None:
    worker = warming_worker(polls_of([0, 30, 0, 30, 30, 30]))  # idle, posts, idle, ..., the 100th post
    readiness = []
    for _ in range(6):
        worker.run_once()
        readiness.append(worker.is_ready())

    assert readiness == [False, False, False, False, False, True]


def test_a_warm_up_that_ends_inside_the_first_poll_is_announced_as_the_first_model() -> None:
    lines: list[str] = []
    worker = warming_worker(polls_of([150]), ProgressLog(say=lines.append))

    worker.run_once()  # 150 posts in one poll: the model is trained and labels them all at once

    assert len(lines) == 1 and lines[0].startswith("first model ready (version 1, ")
    assert lines[0].endswith("labelled the first 150 posts")


def test_a_worker_whose_model_is_warm_from_the_start_names_the_model_it_labels_with() -> None:
    lines: list[str] = []
    worker = warming_worker(polls_of([150]), ProgressLog(say=lines.append))
    worker.engine = FirstWordEngine(warmup_posts=0)  # as a restored checkpoint is

    worker.run_once()

    assert len(lines) == 1 and lines[0].startswith("labelling with model version 1 (")


def test_input_that_goes_quiet_during_the_warm_up_is_told_once_with_the_posts_held(
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = warming_worker(polls_of([40]))
    worker.idle_flush_seconds = 30.0
    worker.run_once()  # 40 posts held
    worker._last_record_at -= 6  # then 6 s without a record

    with caplog.at_level(logging.INFO, logger="streamclust.kafka"):
        worker.run_once()
        worker.run_once()

    told = [record.getMessage() for record in caplog.records if "input quiet" in record.getMessage()]
    assert told == [
        "input quiet with 40 of 100 posts held for the warm-up; they are labelled after 30 s without new posts "
        "(--idle-flush-seconds)"
    ]
