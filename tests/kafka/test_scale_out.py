"""Shared mode on the real broker: three workers over six partitions label 30,000 posts while one of them, the
trainer, is killed. Every post gets exactly one label, the trainer role moves to a survivor which resumes from
the last published model, and every label is the one the published model it names gives to that post. And a
labeler given partitions while it waits for the first model reads all of them once the model comes.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka_support import DATA, CommittedReader, Stream, WorkerProcess, banking_texts

from streamclust.config import Settings, load_settings
from streamclust.engine import Engine
from streamclust.io.kafka.clients import worker_consumer_config
from streamclust.io.kafka.durability.state_topic import read_latest_state
from streamclust.io.kafka.shared_mode.election import trainer_group
from streamclust.io.kafka.shared_mode.followed_model import FollowedModel
from streamclust.io.kafka.shared_mode.labeler import LabelingWorker
from streamclust.io.kafka.shared_mode.trainer import Trainer
from streamclust.schema import Post
from streamclust.state.capture import restore
from streamclust.state.model_state import ModelState
from streamclust.state.records import StateAssembler

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900, func_only=True)]

POSTS = 30_000
PROBES = 600
WORKERS = ("w1", "w2", "w3")


def stream_texts() -> list[str]:
    """Banking77's 13k support tickets, then StackOverflow titles: 33k different short texts."""
    with gzip.open(DATA / "stackoverflow.jsonl.gz", "rt", encoding="utf-8") as lines:
        titles = [json.loads(line)["text"] for line in lines]
    return banking_texts() + titles


def posts_of(texts: list[str], prefix: str) -> list[tuple[bytes, bytes]]:
    return [
        (f"{prefix}{n}".encode(), json.dumps({"id": f"{prefix}{n}", "text": text}).encode())
        for n, text in enumerate(texts)
    ]


def shared_config(stream: Stream, workdir: Path) -> Path:
    """A small, quick engine (tiny autoencoder, a retrain every 8,000 posts) in shared mode; the trainer
    publishes often so new clusters reach the labelers soon."""
    mapping = stream.settings_mapping()
    mapping["encoder"] |= {"reservoir_size": 1_000, "retrain_every_posts": 8_000, "retrain_epochs": 1}
    mapping["scale"] = {"mode": "shared", "publish_every_seconds": 2.0, "publish_on_change_seconds": 0.5}
    config = workdir / "shared.yaml"
    config.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    return config


def current_trainer(bootstrap: str, settings: Settings) -> str | None:
    """The instance id of the trainer group's member that owns the control partition, if any."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        group = trainer_group(settings.kafka)
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    for member in description["members"]:
        assignment = member["member_assignment"] or {"assigned_partitions": []}
        if any(topic["partitions"] for topic in assignment["assigned_partitions"]):
            return str(member["client_id"]).removeprefix("streamclust-election-")
    return None


def published_models(settings: Settings) -> dict[tuple[int, int], ModelState]:
    """Every model published so far, by (model version, position), read from the state topic in log order."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers,
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    partition = TopicPartition(settings.kafka.state_topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    end = consumer.end_offsets([partition])[partition]
    assembler = StateAssembler()
    models: dict[tuple[int, int], ModelState] = {}
    deadline = time.monotonic() + 120
    while consumer.position(partition) < end and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                assembler.add(record.key, record.value)
                if record.key is not None and record.key.endswith(b"/manifest"):
                    latest = assembler.latest(settings.kafka.group_id)
                    if latest is not None:
                        models[(latest.model_version, latest.position)] = latest
    consumer.close()
    return models


def wait_for_position(settings: Settings, position: int, timeout: float) -> ModelState | None:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = read_latest_state(settings.kafka, settings.kafka.group_id, timeout_s=10)
        if state is not None and state.position >= position:
            return state
        time.sleep(1.0)
    return state


def test_three_workers_share_one_model_and_survive_losing_the_trainer(
    stream: Stream, workers: list[WorkerProcess], tmp_path: Path
) -> None:
    stream = Stream(stream.bootstrap, tmp_path, partitions=6, state_topic=f"state-{uuid.uuid4().hex[:8]}")
    config = shared_config(stream, tmp_path)
    settings = load_settings(config)
    texts = stream_texts()
    posts = posts_of(texts[:POSTS], "post-")
    probes = posts_of(texts[POSTS : POSTS + PROBES], "probe-")
    stream.create_topics()

    running = {name: WorkerProcess(config, name) for name in WORKERS}
    workers.extend(running.values())
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    producer = threading.Thread(target=stream.produce, args=(posts,), kwargs={"rate": 1_000.0})
    producer.start()  # 30 s of input

    # Kill the trainer mid-stream, once the labelers have its model and are labelling.
    labels.read_until(3_000, timeout=240)
    assert len(labels.records) >= 3_000, "\n".join(w.log_tail() for w in running.values())
    trainer = current_trainer(stream.bootstrap, settings)
    assert trainer in running, trainer
    running[trainer].kill()
    labelled_at_kill = len(labels.records)
    survivors = {name: worker for name, worker in running.items() if name != trainer}

    # The role moves to a survivor, which resumes from the last published model.
    deadline = time.monotonic() + 120
    successor = None
    while successor not in survivors and time.monotonic() < deadline:
        labels.read_for(1.0)
        successor = current_trainer(stream.bootstrap, settings)
    assert successor in survivors, f"no new trainer: {successor}"
    assert survivors[successor].wait_for_log("trainer started", timeout=60)

    producer.join(timeout=120)
    assert not producer.is_alive()
    labels.read_until(POSTS, timeout=300)
    caught_up = wait_for_position(settings, POSTS, timeout=300)
    assert caught_up is not None and caught_up.position == POSTS, caught_up and caught_up.position
    stream.produce(probes)
    labels.read_until(POSTS + PROBES, timeout=120)
    final = wait_for_position(settings, POSTS + PROBES, timeout=120)
    labels.read_for(3.0)  # a duplicate committed late would show up here
    for worker in survivors.values():
        assert worker.terminate() == 0, worker.log_tail()

    # Every post exactly once.
    counts = labels.keys()
    wanted = {key.decode() for key, _ in posts + probes}
    assert set(counts) == wanted, f"{len(wanted - set(counts))} posts without a label"
    assert max(counts.values()) == 1, [key for key, count in counts.items() if count > 1][:5]
    assert 0 < labelled_at_kill < POSTS

    # The model learned every post exactly once, across the failover.
    assert final is not None and final.position == POSTS + PROBES

    # Every label is what the model it names gives: ids agree whichever worker labelled the post.
    models = published_models(settings)
    by_model: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for record in labels.records:
        value = json.loads(record.value)
        by_model[(value["model_version"], value["model_position"])].append(value)
    assert set(by_model) <= set(models), sorted(set(by_model) - set(models))[:5]
    assert len(by_model) >= 3  # labels came from successive published models
    text_of = {key.decode(): json.loads(value)["text"] for key, value in posts + probes}
    mismatches = 0
    for model_key, values in by_model.items():
        engine = restore(models[model_key], settings)
        expected = engine.assign([Post(id=v["post_id"], text=text_of[v["post_id"]]) for v in values])
        got = np.array([v["cluster_id"] for v in values])
        mismatches += int((expected.labels.cluster_ids != got).sum())
        engine.close()
    assert mismatches == 0, f"{mismatches} labels differ from their model's assignment"
    assert len({key[0] for key in by_model}) >= 2  # a retrain published a new encoder version on the way

    # Cluster events were published once: no cluster was born twice.
    events = CommittedReader(stream.bootstrap, stream.topic("events"))
    events.read_for(5.0)
    born = Counter(
        json.loads(record.value)["cluster_id"]
        for record in events.records
        if json.loads(record.value)["kind"] == "created"
    )
    assert born and max(born.values()) == 1
    events.close()
    labels.close()


def member_partitions(bootstrap: str, group: str) -> dict[str, set[int]]:
    """The input partitions each member of ``group`` owns (by client id), as the group coordinator reports them."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
    finally:
        admin.close()
    owned = {}
    for member in description["members"]:
        assignment = member["member_assignment"] or {"assigned_partitions": []}
        owned[member["client_id"]] = {
            p for topic in assignment["assigned_partitions"] for p in topic["partitions"]
        }
    return owned


def test_a_labeler_waiting_for_the_first_model_reads_every_partition_it_was_given_meanwhile(
    stream: Stream, tmp_path: Path
) -> None:
    """Before the first model a labeler is given partitions with a backlog in two rebalances (when it joins, and
    when the other member leaves); once the model is published it labels every post of all of them, once."""
    stream = Stream(stream.bootstrap, tmp_path, partitions=4, state_topic=f"state-{uuid.uuid4().hex[:8]}")
    settings = load_settings(shared_config(stream, tmp_path))
    stream.create_topics()
    posts = posts_of(stream_texts()[:4_000], "held-")  # about 1,000 a partition: more than one batch
    stream.produce(posts)
    group = settings.kafka.group_id

    other = KafkaConsumer(**worker_consumer_config(settings.kafka) | {"client_id": "other"})
    other.subscribe([settings.kafka.input_topic])
    labeler = LabelingWorker(settings, FollowedModel(settings), instance_id="waiting")
    thread = threading.Thread(target=labeler.run, daemon=True)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    trainer = Trainer(settings, engine_factory=lambda: Engine.from_settings(settings))

    def poll_other(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            other.poll(timeout_ms=200)

    try:
        deadline = time.monotonic() + 60
        while len(other.assignment()) < 4 and time.monotonic() < deadline:
            other.poll(timeout_ms=200)
        assert len(other.assignment()) == 4
        thread.start()
        owned: dict[str, set[int]] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # the other member polls on, so it hands two partitions over
            poll_other(0.5)
            owned = member_partitions(stream.bootstrap, group)
            if len(owned.get("other", ())) == 2 and sum(len(p) for p in owned.values()) == 4:
                break
        assert len(owned.get("other", ())) == 2, owned
        poll_other(3.0)  # the labeler waits with its two for a while
        other.close()  # then it is given the other two
        deadline = time.monotonic() + 60
        while list(member_partitions(stream.bootstrap, group).values()) != [{0, 1, 2, 3}]:
            assert time.monotonic() < deadline, member_partitions(stream.bootstrap, group)
            time.sleep(0.5)
        labels.read_for(3.0)  # and waits with all four
        assert not labels.records  # nothing is labelled before the first model

        trainer.start()
        deadline = time.monotonic() + 120
        while trainer.published_models == 0 and time.monotonic() < deadline:
            trainer.step()
        assert trainer.published_models == 1

        labels.read_until(len(posts), timeout=120)
        labels.read_for(2.0)
    finally:
        other.close()
        trainer.close()
        labeler.stop()
        thread.join(timeout=60)
        labels.close()
    assert not thread.is_alive()
    counts = labels.keys()
    wanted = {key.decode() for key, _ in posts}
    assert set(counts) == wanted, f"{len(wanted - set(counts))} posts without a label"
    assert max(counts.values()) == 1
