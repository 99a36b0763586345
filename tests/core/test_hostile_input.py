"""Hostile input, generated: arbitrary bytes, arbitrary JSON (deep, wide, huge numbers, every Unicode plane,
lone surrogates, NULs) and arbitrary sizes go through decoding and the engine. Every record has exactly one
outcome (a post or a reason), nothing raises, and every decoded post gets exactly one label."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from core_streams import TOPICS, make_stream, small_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamclust.config import InputSettings
from streamclust.engine import Engine
from streamclust.io.decode import MAX_DETAIL_CHARS, REASONS, decode_json, decode_records, post_from_mapping
from streamclust.schema import Post

FIELDS = InputSettings(max_text_chars=300)
FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# every plane, with lone surrogates, NUL, the last code point and a right-to-left mark drawn often
any_character = st.characters(exclude_categories=()) | st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\U0010ffff", "\u200f"]
)
any_text = st.text(any_character, max_size=400)
huge_integers = st.integers(min_value=-(10**5000), max_value=10**5000)
json_scalars = st.none() | st.booleans() | huge_integers | st.floats() | any_text
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(any_text, inner, max_size=5),
    max_leaves=30,
)
record_like = st.fixed_dictionaries(
    {"id": st.one_of(any_text, huge_integers, json_values), "text": st.one_of(any_text, json_values)},
    optional={
        "timestamp": st.one_of(json_scalars, st.floats(), st.text(max_size=40)),
        "source": json_values,
        "meta": json_values,
        "lang": any_text,
    },
)


def deeply_nested(depth: int, opener: bytes) -> bytes:
    closer = {b"[": b"]", b'{"a":': b"}"}[opener]
    return opener * depth + b"1" + closer * depth


def encodings(value: Any) -> Iterator[bytes]:
    """The ways a producer might put ``value`` on the wire: escaped ASCII JSON, raw UTF-8 (surrogates passed
    through as bytes), and JSON extended with NaN and Infinity."""
    try:
        yield json.dumps(value).encode("ascii")
        yield json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):  # an integer too long for str(): the producer could not send it
        return


good_records = st.builds(
    lambda number, topic: json.dumps({"id": f"good-{number}", "text": " ".join(TOPICS[topic][:6])}).encode(),
    st.integers(0, 10**6),
    st.sampled_from(sorted(TOPICS)),
)
raw_records = st.one_of(
    good_records,
    st.binary(max_size=600),
    record_like.flatmap(lambda record: st.sampled_from(list(encodings(record)) or [b""])),
    json_values.flatmap(lambda value: st.sampled_from(list(encodings(value)) or [b""])),
    st.builds(lambda digits: b'{"id": ' + b"9" * digits + b', "text": "a long id"}', st.integers(1, 6000)),
    st.builds(deeply_nested, st.integers(0, 120_000), st.sampled_from([b"[", b'{"a":'])),
    st.builds(
        lambda size, char: json.dumps({"id": "big", "text": char * size}).encode(),
        st.integers(0, 2 * FIELDS.max_text_chars),
        any_character,
    ),
)


def assert_one_outcome(outcome: Post | tuple[str, str]) -> None:
    if isinstance(outcome, Post):
        assert outcome.id and isinstance(outcome.text, str) and outcome.text.strip()
        outcome.id.encode("utf-8")
        outcome.text.encode("utf-8")  # what reaches the featurizer is text the tokenizers take
        assert len(outcome.text) <= FIELDS.max_text_chars
    else:
        reason, detail = outcome
        assert reason in REASONS
        assert 0 < len(detail) <= MAX_DETAIL_CHARS and "\n" not in detail
        detail.encode("utf-8")


@FAST
@given(raw=raw_records)
def test_decoding_any_bytes_gives_a_post_or_a_reason(raw: bytes) -> None:
    assert_one_outcome(decode_json(raw, FIELDS))


@FAST
@given(record=st.one_of(record_like, json_values))
def test_any_mapping_gives_a_post_or_a_reason(record: Any) -> None:
    assert_one_outcome(post_from_mapping(record, FIELDS))


@pytest.fixture(scope="module")
def warm_engine() -> Iterator[Engine]:
    engine = small_engine(epochs=5)
    engine.process(make_stream(["cards", "travel", "garden"], 200))
    assert engine.is_warm
    yield engine
    engine.close()


@FAST
@given(raws=st.lists(raw_records, max_size=25))
def test_a_warm_engine_labels_every_decoded_post_once(warm_engine: Engine, raws: list[bytes]) -> None:
    posts, failures = decode_records(((raw, n) for n, raw in enumerate(raws)), FIELDS)
    assert len(posts) + len(failures) == len(raws)
    unique = list({post.id: post for post in posts}.values())

    labels = warm_engine.process(unique).labels

    assert list(labels.post_ids) == [post.id for post in unique]


@settings(FAST, max_examples=25)
@given(
    good=st.integers(0, 45),
    batches=st.lists(st.lists(raw_records, max_size=15), min_size=1, max_size=4),
)
def test_posts_held_for_warm_up_get_exactly_one_label_after_flush(
    good: int, batches: list[list[bytes]]
) -> None:
    """Warm-up needs 30 posts: some examples complete it in the middle of the stream, some never do."""
    engine = small_engine(warmup_posts=30, epochs=2, hidden_dim=16, latent_dim=8)
    seen: set[str] = set()
    decoded: list[str] = []
    labelled: list[str] = []
    stream = [[json.dumps(post.model_dump()).encode() for post in make_stream(["cards", "music"], good)]]
    try:
        for raws in stream + batches:
            posts, _ = decode_records(((raw, None) for raw in raws), FIELDS)
            posts = [post for post in posts if not (post.id in seen or seen.add(post.id))]
            decoded += [post.id for post in posts]
            labelled += engine.process(posts).labels.post_ids
        labelled += engine.flush().labels.post_ids
    finally:
        engine.close()

    assert sorted(labelled) == sorted(decoded)
