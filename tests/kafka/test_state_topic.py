"""Checkpoints on a real broker's state topic: what a committed transaction wrote is read back, an aborted one
is never seen, and a follower picks up a newer checkpoint as soon as it is committed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from kafka import KafkaProducer
from kafka_support import Stream

from streamclust.config import KafkaSettings, load_settings
from streamclust.io.kafka.clients import transactional_producer_config
from streamclust.io.kafka.durability.state_topic import StateFollower, read_latest_state
from streamclust.state.model_state import FORMAT_VERSION, ModelState
from streamclust.state.records import state_records

pytestmark = pytest.mark.kafka


def checkpoint(model_version: int, position: int) -> ModelState:
    arrays = {"centroids": np.random.default_rng(position).random((64, 64)).astype(np.float32)}
    return ModelState(FORMAT_VERSION, model_version, position, "f", {"at": position}, arrays, {})


class StateWriter:
    """Sends checkpoints the way a worker does: all records of one checkpoint in one transaction."""

    def __init__(self, kafka: KafkaSettings, transactional_id: str) -> None:
        self.topic = kafka.state_topic
        self.producer = KafkaProducer(**transactional_producer_config(kafka, transactional_id))
        self.producer.init_transactions()

    def write(self, state: ModelState, namespace: str = "main", commit: bool = True) -> None:
        self.producer.begin_transaction()
        for key, value in state_records(state, namespace, chunk_bytes=4_096):
            self.producer.send(self.topic, key=key, value=value)
        self.producer.flush()
        if commit:
            self.producer.commit_transaction()
        else:
            self.producer.abort_transaction()

    def close(self) -> None:
        self.producer.close()


@pytest.fixture
def kafka(stream: Stream) -> KafkaSettings:
    stream.create_topics()
    return load_settings(stream.config).kafka


def test_a_committed_checkpoint_is_read_back_and_an_aborted_one_is_not(kafka: KafkaSettings) -> None:
    assert read_latest_state(kafka, "main", timeout_s=30) is None
    writer = StateWriter(kafka, "state-writer-a")
    try:
        writer.write(checkpoint(1, 1_000))
        writer.write(checkpoint(2, 5_000), commit=False)
    finally:
        writer.close()
    state = read_latest_state(kafka, "main", timeout_s=30)
    assert state is not None and (state.model_version, state.position) == (1, 1_000)
    assert np.array_equal(state.arrays["centroids"], checkpoint(1, 1_000).arrays["centroids"])
    assert read_latest_state(kafka, "another-namespace", timeout_s=30) is None


def test_a_follower_sees_each_newer_checkpoint(kafka: KafkaSettings) -> None:
    writer = StateWriter(kafka, "state-writer-b")
    follower = StateFollower(kafka, "main")
    try:
        writer.write(checkpoint(1, 1_000))
        first = poll_until(follower, current_model_version=0)
        assert first is not None and first.order == (1, 1_000)
        assert follower.poll_newer(1, current_position=1_000) is None
        writer.write(checkpoint(1, 3_000), commit=False)
        writer.write(checkpoint(2, 4_000))
        newer = poll_until(follower, current_model_version=1)
        assert newer is not None and newer.order == (2, 4_000)
    finally:
        follower.close()
        writer.close()


def poll_until(follower: StateFollower, current_model_version: int, seconds: float = 30.0) -> Any:
    """Poll (briefly, as a labelling loop would between batches) until a newer checkpoint shows up."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = follower.poll_newer(current_model_version)
        if state is not None:
            return state
    return None
