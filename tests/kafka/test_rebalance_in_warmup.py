"""Partitions that move while the engine still holds posts (warm-up): the held state is dropped, a fresh engine
starts, and the posts are read again from the committed offsets, so nothing is lost or labelled twice."""

from __future__ import annotations

import threading
import time

import pytest
from kafka_support import CommittedReader, Stream, post_values

from streamclust.config import load_settings
from streamclust.io.kafka import KafkaWorker
from streamclust.testing import FirstWordEngine

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180, func_only=True)]


def test_revoke_during_warmup_drops_held_posts_and_reads_them_again(stream: Stream) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=4)
    settings = load_settings(stream.config)
    stream.create_topics()
    stream.produce(post_values(1_000, prefix="early-"))

    engines: dict[str, list[FirstWordEngine]] = {"a": [], "b": []}

    def engine_for(name: str) -> FirstWordEngine:
        engines[name].append(FirstWordEngine(warmup_posts=1_500))  # more than the first 1,000 posts
        return engines[name][-1]

    first = KafkaWorker(settings, engine_for("a"), engine_factory=lambda: engine_for("a"), instance_id="a")
    first_thread = threading.Thread(target=first.run, daemon=True)
    first_thread.start()
    deadline = time.monotonic() + 60
    while len(engines["a"][-1].pending_post_ids) < 1_000 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(engines["a"][-1].pending_post_ids) == 1_000  # all held, nothing committed

    second = KafkaWorker(settings, engine_for("b"), engine_factory=lambda: engine_for("b"), instance_id="b")
    second_thread = threading.Thread(target=second.run, daemon=True)
    second_thread.start()
    deadline = time.monotonic() + 60
    while len(engines["a"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(engines["a"]) == 2, "the first worker should have dropped its held posts for a fresh engine"
    assert engines["a"][0].closed

    later = post_values(4_000, prefix="late-")
    stream.produce(later)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(5_000, timeout=90)
    labels.read_for(1.0)
    first.stop()
    second.stop()
    first_thread.join(timeout=30)
    second_thread.join(timeout=30)

    counts = labels.keys()
    expected = {key.decode() for key, _ in post_values(1_000, prefix="early-") + later}
    assert set(counts) == expected
    assert max(counts.values()) == 1
    assert first.committed_posts > 0 and second.committed_posts > 0
    labels.close()
