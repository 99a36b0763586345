"""One bad record becomes that record's dead letter: the worker's decoding never raises, a post the engine cannot
take is left out of its batch alone, and a dead letter always fits in one produce request."""

from __future__ import annotations

import base64
import doctest
import hashlib
import json
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamclust.config import EncoderSettings, InputSettings, NoveltySettings
from streamclust.engine import Engine
from streamclust.errors import ModelError
from streamclust.featurize import HashingFeaturizer
from streamclust.featurize.base import FeatureBatch
from streamclust.io.kafka.isolation import MAX_ID_BYTES, decode_record, process_guarded
from streamclust.io.kafka.records import MAX_VALUE_BYTES, DeadLetter, original_bytes
from streamclust.result import BatchResult
from streamclust.schema import Post

FIELDS = InputSettings(max_text_chars=500)
WORDS = (
    "card declined payment visa flight airport luggage recipe oven flour python module guitar chord".split()
)

HOSTILE: list[bytes] = [
    b'{"id": "\\ud800", "text": "my card was declined"}',  # a lone surrogate in the id
    b'{"id": "s1", "text": "card \\udfff declined"}',  # ... and in the text
    b'{"id": "deep", "text": "card", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"id": ' + b"9" * 5_000 + b', "text": "my card was declined"}',
    json.dumps({"id": "x" * (MAX_ID_BYTES + 1), "text": "card declined"}).encode(),
    b"\xff\xfe\x00\x00",
    b'{"id": "n\\u0000", "text": 7}',
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_records_are_failures_with_a_reason_not_exceptions(raw: bytes) -> None:
    outcome = decode_record(raw, FIELDS)
    assert isinstance(outcome, tuple), outcome
    reason, detail = outcome
    assert reason and detail and len(detail) <= 500


def test_an_exception_in_the_decoder_names_its_class(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(raw: bytes, fields: InputSettings) -> Post:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("streamclust.io.kafka.isolation.decode_json", broken)
    reason, detail = decode_record(b'{"id": "1", "text": "fine"}', FIELDS)  # type: ignore[misc]
    assert reason == "undecodable"
    assert detail.startswith("RecursionError")


characters = st.characters(exclude_categories=()) | st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\U0001f600"]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(characters),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.binary(max_size=300)
    | st.builds(lambda value: json.dumps(value).encode(), json_values)
    | st.builds(
        lambda post_id, text: json.dumps({"id": post_id, "text": text}).encode(),
        st.text(characters, max_size=5) | st.integers(),
        st.text(characters, max_size=30),
    )
)
def test_any_bytes_decode_to_a_writable_post_or_a_failure(raw: bytes) -> None:
    outcome = decode_record(raw, FIELDS)
    if isinstance(outcome, Post):
        outcome.id.encode("utf-8")  # the worker can write its label
        outcome.text.encode("utf-8")
    else:
        assert all(isinstance(part, str) and part for part in outcome)


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 1_500_000),
    st.none() | st.integers(0, 1_200_000),
    st.text(max_size=50) | st.just("\ud800" * 20_000),
)
def test_a_dead_letter_is_far_smaller_than_a_produce_request_whatever_came_in(
    value_bytes: int, key_bytes: int | None, detail: str
) -> None:
    raw = bytes(np.random.default_rng(value_bytes).integers(0, 256, value_bytes, dtype=np.uint8))
    key = None if key_bytes is None else b"k" * key_bytes
    record_key, value = DeadLetter(raw, key, "text_too_large", detail, "posts", 2, 41, 17).to_record(at=1.0)
    assert len(record_key) + len(value) < 100_000  # the producer takes up to 1 MiB
    letter = json.loads(value)
    assert letter["value_bytes"] == value_bytes
    assert letter["value_sha256"] == hashlib.sha256(raw).hexdigest()
    assert letter["truncated"] == (value_bytes > MAX_VALUE_BYTES)
    assert base64.b64decode(letter["value_base64"]) == raw[:MAX_VALUE_BYTES]
    if letter["truncated"]:
        with pytest.raises(ValueError, match="posts/2/41"):
            original_bytes(letter)
    else:
        assert original_bytes(letter) == raw


class PoisonedFeaturizer(HashingFeaturizer):
    """A hashing featurizer that raises on any text holding ``POISON``, as a tokenizer may on odd input."""

    def transform(self, texts: Sequence[str], learn: bool = True) -> FeatureBatch:
        if any("POISON" in text for text in texts):
            raise TypeError("cannot tokenize this text")
        return super().transform(texts, learn=learn)


def small_engine() -> Engine:
    return Engine(
        PoisonedFeaturizer(n_features=2048, ngram_max=1, seed=3),
        encoder=EncoderSettings(
            warmup_posts=120, hidden_dim=32, latent_dim=8, epochs=3, retrain_every_posts=0, background=False
        ),
        novelty=NoveltySettings(),
        seed=3,
        clock=lambda: 1_700_000_000.0,
    )


def posts(count: int, start: int = 0) -> list[Post]:
    rng = np.random.default_rng(start)
    return [
        Post(id=f"p{n}", text=" ".join(rng.choice(WORDS, size=6, replace=False)))
        for n in range(start, start + count)
    ]


def labels_of(result: BatchResult) -> dict[str, tuple[int, float]]:
    batch = result.labels
    return {
        post_id: (int(cluster), round(float(similarity), 5))
        for post_id, cluster, similarity in zip(
            batch.post_ids, batch.cluster_ids, batch.similarities, strict=True
        )
    }


def test_a_post_the_engine_cannot_take_is_left_out_and_the_rest_learned_once() -> None:
    guarded, twin = small_engine(), small_engine()
    warm_up = posts(120)
    process_guarded(guarded, warm_up, 1.0)
    twin.process(warm_up, 1.0)
    batch = posts(60, start=120)
    poisoned = [*batch[:30], Post(id="bad", text="POISON card"), *batch[30:]]

    outcome = process_guarded(guarded, poisoned, 2.0)
    expected = twin.process(batch, 2.0)

    assert set(outcome.culprits) == {30}
    assert outcome.culprits[30].startswith("TypeError: cannot tokenize")
    assert labels_of(outcome.result) == labels_of(expected)
    later = posts(60, start=180)  # the engine goes on exactly as one that never saw the bad post
    assert labels_of(guarded.process(later, 3.0)) == labels_of(twin.process(later, 3.0))


def test_a_post_that_breaks_the_warm_up_is_left_out_and_the_held_posts_are_labelled() -> None:
    engine = small_engine()
    held = [*posts(80), Post(id="bad", text="POISON")]
    assert not process_guarded(engine, held, 1.0).culprits  # held: nothing featurized yet
    batch = posts(60, start=80)

    outcome = process_guarded(engine, batch, 2.0, held)

    assert set(outcome.culprits) == {80}
    assert engine.is_warm and not engine.pending_post_ids
    assert set(outcome.result.labels.post_ids) == {post.id for post in [*held[:80], *batch]}


def test_a_flush_that_fails_on_one_post_labels_the_others() -> None:
    engine = small_engine()
    held = [*posts(10), Post(id="bad", text="POISON"), *posts(10, start=10)]
    process_guarded(engine, held, 1.0)

    outcome = process_guarded(engine, [], 2.0, held, flush=True)

    assert set(outcome.culprits) == {10}
    assert set(outcome.result.labels.post_ids) == {post.id for post in held if post.id != "bad"}


class BrokenEngine:
    """An engine that fails on every batch, whatever the posts."""

    def __init__(self) -> None:
        self.featurizer = HashingFeaturizer(n_features=64)
        self.model_version = 1
        self.pending_post_ids: list[str] = []

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        raise RuntimeError("out of memory")


def test_a_failure_no_single_post_causes_stops_with_what_happened() -> None:
    with pytest.raises(ModelError, match="no single post in it is the cause") as raised:
        process_guarded(BrokenEngine(), posts(5), 1.0)  # type: ignore[arg-type]
    assert "RuntimeError: out of memory" in str(raised.value)
    assert "restart reads it again" in str(raised.value)


def test_the_examples_in_the_docstrings_hold() -> None:
    import streamclust.io.kafka.records
    import streamclust.io.kafka.worker.batch_loop

    for module in (streamclust.io.kafka.records, streamclust.io.kafka.worker.batch_loop):
        outcome = doctest.testmod(module)
        assert outcome.attempted and not outcome.failed, module.__name__
