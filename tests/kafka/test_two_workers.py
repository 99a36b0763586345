"""Two workers in one consumer group share the input partitions; every post is labelled once."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaAdminClient
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300, func_only=True)]

POSTS = 8_000


def member_assignments(bootstrap: str, group: str) -> list[set[int]]:
    """The input partitions each member of ``group`` owns, as the group coordinator reports them."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    shares = []
    for member in description["members"]:
        assignment = member["member_assignment"] or {"assigned_partitions": []}
        shares.append({p for topic in assignment["assigned_partitions"] for p in topic["partitions"]})
    return shares


def test_two_workers_share_partitions_and_label_each_post_once(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=4)
    posts = post_values(POSTS, prefix="pair-")
    stream.create_topics()
    producer = threading.Thread(target=stream.produce, args=(posts,), kwargs={"rate": 400.0})
    producer.start()  # 20 s of input: the second worker joins while posts flow

    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    first = WorkerProcess(stream.config, "first")
    workers.append(first)
    labels.read_for(8.0)
    second = WorkerProcess(stream.config, "second")
    workers.append(second)

    deadline = time.monotonic() + 60
    shares: list[set[int]] = []
    while time.monotonic() < deadline:
        labels.read_for(1.0)
        shares = member_assignments(stream.bootstrap, stream.kafka["group_id"])
        if len(shares) == 2 and all(shares):
            break
    assert len(shares) == 2 and all(shares), f"assignments {shares}\n{second.log_tail()}"
    assert shares[0].isdisjoint(shares[1]) and shares[0] | shares[1] == {0, 1, 2, 3}

    producer.join(timeout=60)
    labels.read_until(POSTS, timeout=120)
    labels.read_for(2.0)
    assert first.terminate() == 0, first.log_tail()
    assert second.terminate() == 0, second.log_tail()
    counts = labels.keys()
    assert set(counts) == {key.decode() for key, _ in posts}
    assert max(counts.values()) == 1
    labels.close()
