"""The broker goes away mid-stream and comes back on the same port and data: the worker logs that it is retrying,
stays up, and once the broker is back every post has exactly one committed label.

This test stops and restarts a broker of its own (``local-broker --keep-data``), never the session's broker.
"""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka_support import REPO, CommittedReader, Stream, WorkerProcess, post_values

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900, func_only=True)]

BROKER_SCRIPT = REPO / "deploy" / "kafka" / "local-broker"
BEFORE_OUTAGE = 40_000  # a backlog the worker is still working through when the broker stops
AFTER_OUTAGE = 2_000
OUTAGE_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnBroker:
    """A broker for this test alone; ``stop(keep_data=True)`` then ``start()`` is an outage and a recovery."""

    def __init__(self, run_dir: Path) -> None:
        self.port, self.controller_port, self.run_dir = free_port(), free_port(), run_dir

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, action: str, *flags: str) -> subprocess.CompletedProcess[str]:
        command = [str(BROKER_SCRIPT), action, "--port", str(self.port), "--run-dir", str(self.run_dir)]
        command += ["--controller-port", str(self.controller_port), *flags]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    def start(self) -> None:
        outcome = self.call("start", "--keep-data")
        assert outcome.returncode == 0, f"the test's own broker did not start:\n{outcome.stderr}"

    def stop(self, keep_data: bool) -> None:
        self.call("stop", *(["--keep-data"] if keep_data else []))


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[OwnBroker]:
    broker = OwnBroker(tmp_path / "own-broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop(keep_data=False)


def json_log_lines(worker: WorkerProcess) -> list[dict[str, Any]]:
    lines = []
    for line in worker.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def worker_story(worker: WorkerProcess) -> str:
    """The worker's log lines other than the broker watch's retries, for a failure message."""
    kept = [line for line in json_log_lines(worker) if "unreachable, retrying" not in line["msg"]]
    return "\n".join(json.dumps(line) for line in kept[-60:])


def where_labels_are(bootstrap: str, topic: str, group: str, input_topic: str, missing: set[str]) -> str:
    """For a failure message: per label partition the committed end (last stable offset) against the high
    watermark, how many of the ``missing`` posts have a label record in the log at all (aborted or still open),
    and the group's committed input offsets against the input's ends."""
    from kafka import KafkaConsumer, TopicPartition

    ends: dict[str, dict[int, int]] = {}
    found: dict[int, list[int]] = {}
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level=isolation, enable_auto_commit=False
        )
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        ends[isolation] = {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
        if isolation == "read_uncommitted":
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and any(
                consumer.position(tp) < ends[isolation][tp.partition] for tp in partitions
            ):
                for tp, batch in consumer.poll(timeout_ms=200).items():
                    for record in batch:
                        if record.key.decode() in missing:
                            found.setdefault(tp.partition, []).append(record.offset)
        consumer.close()
    probe = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    inputs = [
        TopicPartition(input_topic, p) for p in sorted(probe.partitions_for_topic(input_topic) or set())
    ]
    committed = {tp.partition: probe.committed(tp) for tp in inputs}  # reads the offsets; joins no group
    input_ends = {tp.partition: offset for tp, offset in probe.end_offsets(inputs).items()}
    probe.close()
    in_log = {p: (len(o), min(o), max(o)) for p, o in found.items()}
    return (
        f"labels: committed ends {ends['read_committed']}, high watermarks {ends['read_uncommitted']}; missing posts "
        f"with a record in the log (count, first and last offset, by partition): {in_log}; the group's committed "
        f"input offsets {committed} of {input_ends}"
    )


def test_worker_retries_through_a_broker_outage_and_labels_every_post_once(
    own_broker: OwnBroker, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    stream = Stream(own_broker.bootstrap, tmp_path)
    settings = stream.settings_mapping() | {"logging": {"level": "INFO", "format": "json"}}
    stream.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    stream.create_topics()
    before = post_values(BEFORE_OUTAGE, prefix="before-")
    after = post_values(AFTER_OUTAGE, prefix="after-")
    stream.produce(before)

    worker = WorkerProcess(stream.config, "outage", "--engine", "first-word")
    workers.append(worker)
    assert worker.wait_for_log("partitions assigned", timeout=90), worker.log_tail()
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(1, timeout=60)
    labels.close()

    outage_started = time.time()
    own_broker.stop(keep_data=True)
    assert worker.wait_for_log("retrying", timeout=60), worker.log_tail()
    time.sleep(OUTAGE_SECONDS)
    assert worker.alive(), worker.log_tail()
    retries = [line for line in json_log_lines(worker) if "retrying" in line["msg"]]
    assert retries and all(line["level"] == "warning" for line in retries), retries[:3]
    assert {"attempt", "retry_in_seconds", "error"} <= set(retries[0]), retries[0]

    own_broker.start()
    stream.produce(after)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    total = BEFORE_OUTAGE + AFTER_OUTAGE
    labels.read_until(total, timeout=300)
    labels.read_for(3.0)  # a duplicate committed late would show up here
    assert worker.alive(), worker.log_tail()
    assert worker.terminate() == 0, worker.log_tail()

    counts = labels.keys()
    wanted = {key.decode() for key, _ in before + after}
    missing = wanted - set(counts)
    doubled = {post_id: count for post_id, count in counts.items() if count > 1}
    where = (
        where_labels_are(
            stream.bootstrap, stream.topic("labels"), stream.kafka["group_id"], stream.topic("input"), missing
        )
        if missing
        else ""
    )
    assert not missing, (
        f"{len(missing)} posts without a label, e.g. {sorted(missing)[:5]}; {len(labels.records)} label records "
        f"read; {where}; the worker's log without its retry lines:\n{worker_story(worker)}"
    )
    assert not doubled, f"{len(doubled)} posts labelled more than once, e.g. {list(doubled.items())[:5]}"
    assert set(counts) == wanted
    # The outage hit mid-stream: posts of the first backlog were still labelled after the broker went down.
    before_ids = {key for key, _ in before}
    late = [record for record in labels.records if record.key in before_ids]
    assert any(json.loads(record.value)["processed_at"] >= outage_started for record in late)
    labels.close()


def test_broker_watch_tells_a_listening_server_from_a_closed_port() -> None:
    from streamclust.io.kafka.clients import BrokerWatch

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        listening = f"127.0.0.1:{server.getsockname()[1]}"
        closed = f"127.0.0.1:{free_port()}"

        assert BrokerWatch(f"{closed},{listening}").unreachable_because() is None
        reason = BrokerWatch(closed).unreachable_because()
        assert reason is not None and reason.startswith(closed)


def test_broker_watch_warns_while_unreachable_and_stays_quiet_after_progress(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from streamclust.io.kafka.clients import BrokerWatch

    quiet_server, watched_server = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    quiet = BrokerWatch(quiet_server, every_seconds=60.0)
    quiet.saw_progress()  # a batch was just committed: no check, no warning
    watch = BrokerWatch(watched_server, every_seconds=60.0)

    def warnings_about(server: str) -> list[logging.LogRecord]:
        return [
            record
            for record in caplog.records
            if record.getMessage() == "kafka broker unreachable, retrying"
            and str(getattr(record, "error", "")).startswith(server)
        ]

    with caplog.at_level("WARNING", logger="streamclust.kafka"):
        quiet.start()
        watch.start()
        deadline = time.monotonic() + 15
        while len(warnings_about(watched_server)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        quiet.stop()
        watch.stop()

    first, second = warnings_about(watched_server)[:2]
    assert (getattr(first, "attempt", None), getattr(first, "retry_in_seconds", None)) == (1, 1.0)
    assert (getattr(second, "attempt", None), getattr(second, "retry_in_seconds", None)) == (2, 2.0)
    assert warnings_about(quiet_server) == []
