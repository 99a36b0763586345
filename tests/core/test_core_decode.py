"""Decoding raw records into posts: bad input becomes a failure with a reason, never an exception."""

from __future__ import annotations

import json

import pytest

from streamclust.config import InputSettings
from streamclust.io.decode import REASONS, decode_json, decode_records, post_from_mapping
from streamclust.schema import Post

FIELDS = InputSettings(max_text_chars=50)


def reason_of(raw: bytes, fields: InputSettings = FIELDS) -> str:
    outcome = decode_json(raw, fields)
    assert not isinstance(outcome, Post), outcome
    reason, detail = outcome
    assert detail
    return reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"id": "1", "text": "caf\xe9"}', "not_utf8"),
        (b'{"id": "1", "text": ', "not_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (b'"just a string"', "not_an_object"),
        (b'{"text": "hello"}', "missing_id"),
        (b'{"id": "", "text": "hello"}', "missing_id"),
        (b'{"id": "1"}', "missing_text"),
        (b'{"id": "1", "text": "   "}', "empty_text"),
        (json.dumps({"id": "1", "text": "x" * 51}).encode(), "text_too_large"),
        (b'{"id": "1", "text": 42}', "wrong_type"),
        (b'{"id": true, "text": "hello"}', "wrong_type"),
        (b'{"id": {"a": 1}, "text": "hello"}', "wrong_type"),
        (b'{"id": "1", "text": "hello", "timestamp": "yesterday"}', "bad_timestamp"),
        (b'{"id": "1", "text": "hello", "timestamp": 1e308}', "bad_timestamp"),
        (b'{"id": "1", "text": "hello", "timestamp": NaN}', "bad_timestamp"),
        (b'{"id": "1", "text": "hello", "timestamp": "9999-12-31T23:59:59-14:00"}', "bad_timestamp"),
        (b'{"id": "\\ud800", "text": "hello"}', "bad_unicode"),
        (b'{"id": "1", "text": "a lone \\udc00 low half"}', "bad_unicode"),
        (b'{"id": "1", "text": "hello", "lang": {"\\ud800": 1}}', "bad_unicode"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
        (b'{"id": "1", "text": "hello", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "too_deep"),
        (b'{"id": ' + b"9" * 5000 + b', "text": "hello"}', "number_too_large"),
    ],
)
def test_each_kind_of_bad_record_gets_its_reason(raw: bytes, reason: str) -> None:
    assert reason in REASONS
    assert reason_of(raw) == reason


def test_a_good_record_becomes_a_post_with_the_rest_as_metadata() -> None:
    raw = json.dumps(
        {"id": 7, "text": "card declined", "timestamp": 1_700_000_000_000, "lang": "en"}
    ).encode()
    post = decode_json(raw, FIELDS)
    assert post == Post(id="7", text="card declined", timestamp=1_700_000_000.0, metadata={"lang": "en"})


def test_nested_dotted_field_paths() -> None:
    fields = InputSettings(id_field="meta.uuid", text_field="payload.body", timestamp_field="meta.at")
    raw = json.dumps(
        {"meta": {"uuid": "u-1", "at": "2024-01-02T03:04:05Z"}, "payload": {"body": "flight delayed"}}
    ).encode()

    post = decode_json(raw, fields)

    assert isinstance(post, Post)
    assert (post.id, post.text, post.timestamp) == ("u-1", "flight delayed", 1_704_164_645.0)
    assert reason_of(b'{"meta": {"uuid": "u-1"}, "payload": "flat"}', fields) == "missing_text"
    assert reason_of(b'{"meta": {"uuid": "u-1"}, "payload": {"body": ["a"]}}', fields) == "wrong_type"


def test_decoding_a_batch_keeps_order_and_positions() -> None:
    raws = [(b'{"id": "a", "text": "one"}', 1), (b"oops", 2), (b'{"id": "b", "text": "two"}', 3)]

    posts, failures = decode_records(raws, FIELDS)

    assert [post.id for post in posts] == ["a", "b"]
    assert [(failure.reason, failure.position, failure.raw) for failure in failures] == [
        ("not_json", 2, b"oops")
    ]


def test_a_surrogate_pair_is_text_and_a_nul_is_kept() -> None:
    post = decode_json(b'{"id": "1", "text": "smile \\ud83d\\ude00 and a \\u0000 nul"}', FIELDS)
    assert isinstance(post, Post)
    assert post.text == "smile \U0001f600 and a \x00 nul"


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"id": 10**5000, "text": "hello"}, "number_too_large"),
        ({"id": "1", "text": "hello", "source": 10**5000}, "number_too_large"),
        ({"id": "\udfff", "text": "hello"}, "bad_unicode"),
        ({"id": "1", "text": "hello", 7: "a key that is not a string"}, "bad_metadata"),
    ],
)
def test_mappings_built_in_python_are_checked_too(record: dict[object, object], reason: str) -> None:
    outcome = post_from_mapping(record, FIELDS)
    assert not isinstance(outcome, Post)
    assert outcome[0] == reason
    assert reason in REASONS and len(outcome[1]) <= 200


def test_every_reason_says_what_it_means() -> None:
    assert all(meaning and "\n" not in meaning for meaning in REASONS.values())
