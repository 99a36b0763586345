"""A worker killed with SIGKILL comes back with the model it had: it restores the newest checkpoint from the state
topic and learns again, batch for batch, the posts committed after it. A fixed set of probe posts then gets the
same labels as from an engine that saw the same stream without interruption."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka_support import CommittedReader, Stream, WorkerProcess, banking_texts, post_values

from streamclust.config import Settings, load_settings
from streamclust.engine import Engine
from streamclust.io.decode import decode_json
from streamclust.io.kafka.durability.checkpoints import offsets_of
from streamclust.io.kafka.durability.state_topic import read_latest_state
from streamclust.schema import Post
from streamclust.state.capture import capture, restore
from streamclust.state.records import state_records

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(400, func_only=True)]

POSTS = 5_000
PROBES = 300


def checkpointing_config(stream: Stream, every_posts: int = 1_000) -> Settings:
    """Deterministic settings (retrains swap at a fixed position, in the foreground), small batches and a
    checkpoint every ``every_posts`` posts."""
    stream.kafka["batch_size"] = 100
    mapping = stream.settings_mapping()
    mapping["encoder"] |= {"swap": "at_position", "background": False, "retrain_every_posts": 1_500}
    mapping["encoder"] |= {"swap_after_posts": 300}
    mapping["state"] = {"checkpoint_every_posts": every_posts, "checkpoint_every_seconds": 3_600.0}
    stream.config.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return load_settings(stream.config)


def committed_offset(settings: Settings, partition: TopicPartition) -> int:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers, group_id=settings.kafka.group_id
    )
    try:
        return consumer.committed(partition) or 0
    finally:
        consumer.close()


def checkpoint_offset(settings: Settings, partition: TopicPartition) -> int | None:
    state = read_latest_state(settings.kafka, settings.kafka.group_id)
    return None if state is None else offsets_of(state)[partition]


def kill_between_checkpoints(
    stream: Stream, settings: Settings, partition: TopicPartition, workers: list[WorkerProcess]
) -> tuple[int, int]:
    """Start a worker and SIGKILL it once it has committed labels at least 300 posts past its checkpoint; returns
    what it left: the checkpoint's offset and the committed one. Should a checkpoint land between the reads and the
    kill (nothing left to learn again), the next worker restores it and is killed the same way."""
    for _ in range(3):
        worker = WorkerProcess(stream.config, "solo")
        workers.append(worker)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            found = checkpoint_offset(settings, partition)
            if found is not None and committed_offset(settings, partition) - found >= 300:
                break
            time.sleep(0.3)
        else:
            pytest.fail(f"no checkpoint with labels committed past it in 180 s\n{worker.log_tail()}")
        worker.kill()
        checkpoint = checkpoint_offset(settings, partition) or 0
        committed = committed_offset(settings, partition)
        if checkpoint < committed:
            return checkpoint, committed
    pytest.fail("three kills in a row landed right after a checkpoint")


def batches_from_labels(labels: list[Any], offset_of: dict[str, int]) -> list[tuple[float, list[int]]]:
    """The worker's engine calls, rebuilt from its committed labels: one ``processed_at`` per call, its posts
    in input order (as input offsets)."""
    calls: dict[float, list[int]] = defaultdict(list)
    for record in labels:
        label = json.loads(record.value)
        calls[label["processed_at"]].append(offset_of[label["post_id"]])
    return [(at, sorted(offsets)) for at, offsets in sorted(calls.items())]


def probe_posts() -> list[Post]:
    texts = banking_texts()
    return [Post(id=f"probe-{n}", text=texts[-1 - n]) for n in range(PROBES)]


@pytest.fixture
def one_partition(kafka_broker: Any, tmp_path: Path) -> Stream:
    """A stream whose input has one partition: the posts have one order, so the reference engine's too."""
    return Stream(kafka_broker.bootstrap, tmp_path, partitions=1)


def test_sigkill_and_restart_keeps_the_model_and_its_cluster_ids(
    one_partition: Stream, workers: list[WorkerProcess]
) -> None:
    stream = one_partition
    # Checkpoints 2,000 posts apart (the first at the end of the warm-up): a kill that lands 300 posts after one
    # has some 7 s of input before the next, room for a loaded machine's slow reads of the offsets.
    settings = checkpointing_config(stream, every_posts=2_000)
    input_partition = TopicPartition(stream.topic("input"), 0)
    posts = post_values(POSTS, prefix="r")
    stream.create_topics()
    producer = threading.Thread(target=stream.produce, args=(posts,), kwargs={"rate": 250.0})
    producer.start()  # 20 s of input: the kill lands mid-stream

    checkpoint, committed = kill_between_checkpoints(stream, settings, input_partition, workers)
    assert 0 < checkpoint < committed < POSTS

    second = WorkerProcess(stream.config, "solo")
    workers.append(second)
    assert second.wait_for_log("caught up", timeout=120), second.log_tail()
    assert f"posts={committed - checkpoint} " in second.log_tail(200), second.log_tail()
    assert "exact=True" in second.log_tail(200)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(POSTS, timeout=180)
    producer.join(timeout=60)
    assert second.terminate() == 0, second.log_tail()  # a clean stop writes a last checkpoint
    labels.read_to_end()

    counts = labels.keys()
    assert set(counts) == {key.decode() for key, _ in posts}
    assert max(counts.values()) == 1

    final = read_latest_state(settings.kafka, settings.kafka.group_id)
    assert final is not None and offsets_of(final)[input_partition] == POSTS
    stream_input = CommittedReader(stream.bootstrap, stream.topic("input"))
    stream_input.read_until(POSTS, timeout=60)
    value_at = {record.offset: record.value for record in stream_input.records}
    offset_of = {record.key.decode(): record.offset for record in stream_input.records}
    stream_input.close()
    reference = Engine.from_settings(settings)
    for at, offsets in batches_from_labels(labels.records, offset_of):
        batch = [decode_json(value_at[offset], settings.input) for offset in offsets]
        reference.process([post for post in batch if isinstance(post, Post)], at)
    labels.close()

    restored = restore(final, settings)
    probes = probe_posts()
    expected = reference.assign(probes).labels
    got = restored.assign(probes).labels
    assert (expected.cluster_ids >= 0).sum() > PROBES // 2, "most probes should fall into clusters"
    np.testing.assert_array_equal(got.cluster_ids, expected.cluster_ids)
    # Not just the probes: the model after the restart is the uninterrupted one, exactly.
    uninterrupted = capture(reference)
    assert final.position == uninterrupted.position == POSTS
    assert final.model_version == uninterrupted.model_version > 1
    for name, array in uninterrupted.arrays.items():
        np.testing.assert_array_equal(final.arrays[name], array, err_msg=name)
    for name, tensor in uninterrupted.tensors.items():
        assert torch.equal(final.tensors[name], tensor), name


def test_a_worker_killed_before_its_first_checkpoint_warms_up_again(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    settings = checkpointing_config(stream)
    posts = post_values(1_000, prefix="w")
    stream.create_topics()
    stream.produce(posts[:150])  # fewer than the warm-up needs: the worker holds them, commits nothing
    first = WorkerProcess(stream.config, "solo")
    workers.append(first)
    assert first.wait_for_log("partitions assigned", timeout=90), first.log_tail()
    time.sleep(3.0)
    first.kill()
    assert read_latest_state(settings.kafka, settings.kafka.group_id) is None

    stream.produce(posts[150:])
    second = WorkerProcess(stream.config, "solo")
    workers.append(second)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(1_000, timeout=120)
    assert second.terminate() == 0, second.log_tail()
    labels.read_for(1.0)
    assert "no checkpoint for this group yet" in second.log_tail(200)
    counts = labels.keys()
    assert set(counts) == {key.decode() for key, _ in posts} and max(counts.values()) == 1
    labels.close()
    state = read_latest_state(settings.kafka, settings.kafka.group_id)
    assert state is not None and state.position == 1_000


def test_a_corrupt_checkpoint_stops_the_worker_with_what_to_do(
    stream: Stream, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    settings = checkpointing_config(stream)
    engine = Engine.from_settings(settings)
    engine.process([Post(id=f"c{n}", text=text) for n, text in enumerate(banking_texts()[:300])])
    records = state_records(capture(engine), settings.kafka.group_id, chunk_bytes=4_096)
    key, value = records[1]
    damaged = value[:-100] + bytes(byte ^ 0xFF for byte in value[-100:])
    stream.create_topics()
    producer = KafkaProducer(bootstrap_servers=stream.bootstrap, acks="all")
    for record_key, record_value in [*records[:1], (key, damaged), *records[2:]]:
        producer.send(stream.topic("state"), key=record_key, value=record_value)
    producer.flush()
    producer.close()
    stream.produce(post_values(300, prefix="f"))

    refused = WorkerProcess(stream.config, "solo")
    workers.append(refused)
    assert refused.process.wait(timeout=120) == 2, refused.log_tail()
    message = refused.log_path.read_text()
    assert "checkpoint" in message and "corrupt" in message and "--fresh-model" in message, message

    fresh = WorkerProcess(stream.config, "solo", "--fresh-model")
    workers.append(fresh)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    assert len(labels.read_until(300, timeout=120)) == 300, fresh.log_tail()
    assert fresh.terminate() == 0
    labels.close()
    replaced = read_latest_state(settings.kafka, settings.kafka.group_id)
    assert replaced is not None and replaced.position == 300
