"""Bad records go to the dead-letter topic, with their bytes, a reason and where they came from; the good posts
around them are all labelled."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from kafka_support import CommittedReader, Stream, post_values, run_until_committed

from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.featurize import build_featurizer
from streamclust.io.kafka import KafkaWorker
from streamclust.io.kafka.records import original_bytes

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(180, func_only=True)]

BAD_RECORDS: list[tuple[bytes, str]] = [
    (b"this is not json", "not_json"),
    (b"", "not_json"),
    (b'{"id": "u1", "text": "caf\xe9"}', "not_utf8"),
    (b"[1, 2, 3]", "not_an_object"),
    (b'{"text": "a post without an id"}', "missing_id"),
    (b'{"id": "m1"}', "missing_text"),
    (b'{"id": "e1", "text": "   "}', "empty_text"),
    (json.dumps({"id": "t1", "text": "card " * 200}).encode(), "text_too_large"),
    (b'{"id": "w1", "text": 42}', "wrong_type"),
    (b'{"id": ["w2"], "text": "my card is lost"}', "wrong_type"),
]


def test_bad_records_are_dead_lettered_and_good_ones_labelled(stream: Stream) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=1)  # one partition: offsets are positions
    good = post_values(400, prefix="good-")
    records: list[tuple[bytes | None, bytes]] = []
    expected: dict[int, tuple[bytes, str]] = {}  # input offset -> (bytes, reason)
    for number, (key, value) in enumerate(good):
        records.append((key, value))
        if number % 40 == 39:  # a bad record after every 40 good ones
            raw, reason = BAD_RECORDS[number // 40]
            expected[len(records)] = (raw, reason)
            records.append((None, raw))
    stream.create_topics()
    stream.produce(records)

    settings = load_settings(stream.config)
    assert settings.input.max_text_chars == 500
    worker = KafkaWorker(settings, Engine.from_settings(settings), instance_id="solo")
    run_until_committed(worker, len(good))

    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(len(good), timeout=10)
    labels.read_for(1.0)
    assert sorted(labels.keys().items()) == sorted((key.decode(), 1) for key, _ in good)

    dead = CommittedReader(stream.bootstrap, stream.topic("deadletter"))
    dead.read_until(len(expected), timeout=10)
    dead.read_for(1.0)
    letters = [json.loads(record.value) for record in dead.records]
    assert len(letters) == len(BAD_RECORDS)
    for letter in letters:
        raw, reason = expected[letter["offset"]]
        assert (letter["reason"], original_bytes(letter)) == (reason, raw)
        assert (letter["topic"], letter["partition"]) == (stream.topic("input"), 0)
        assert letter["detail"]
    labels.close()
    dead.close()


def poisoned(featurizer: Any) -> Any:
    """``featurizer``, made to raise on any text holding ``POISON`` (as a tokenizer may on odd input)."""

    class Poisoned(type(featurizer)):  # type: ignore[misc]
        def transform(self, texts: Sequence[str], learn: bool = True) -> Any:
            if any("POISON" in text for text in texts):
                raise TypeError("cannot tokenize this text")
            return super().transform(texts, learn=learn)

    featurizer.__class__ = Poisoned
    return featurizer


def test_a_post_the_engine_cannot_take_is_dead_lettered_alone_in_warm_up_and_after(stream: Stream) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=1, batch_size=50)
    good = post_values(600, prefix="good-")
    records: list[tuple[bytes | None, bytes]] = []
    poison_offsets = []
    for number, (key, value) in enumerate(good):
        records.append((key, value))
        if number in (30, 150, 400):  # two while the engine holds posts for its warm-up (200), one after
            poison_offsets.append(len(records))
            records.append((None, json.dumps({"id": f"poison-{number}", "text": "POISON card"}).encode()))
    stream.create_topics()
    stream.produce(records)

    settings = load_settings(stream.config)
    engine = Engine.from_settings(
        settings, poisoned(build_featurizer(settings.featurize, seed=settings.seed))
    )
    worker = KafkaWorker(settings, engine, instance_id="solo")
    run_until_committed(worker, len(good))

    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labels.read_until(len(good), timeout=10)
    labels.read_for(1.0)
    assert sorted(labels.keys().items()) == sorted((key.decode(), 1) for key, _ in good)
    dead = CommittedReader(stream.bootstrap, stream.topic("deadletter"))
    dead.read_until(len(poison_offsets), timeout=10)
    dead.read_for(1.0)
    letters = sorted(
        (json.loads(record.value) for record in dead.records), key=lambda letter: letter["offset"]
    )
    assert [letter["offset"] for letter in letters] == poison_offsets
    assert {letter["reason"] for letter in letters} == {"engine_error"}
    assert all(letter["detail"].startswith("TypeError: cannot tokenize") for letter in letters)
    labels.close()
    dead.close()
