"""Turn raw records into Posts, or into failures that say why not.

Decoding never raises on bad input: ``decode_records`` returns ``(posts, failures)`` and the caller sends the
failures to a rejects file or the dead-letter topic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from streamclust.config import InputSettings
from streamclust.schema import Post


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """A record that could not become a Post. ``reason`` is a short machine-readable code."""

    raw: bytes
    reason: str
    detail: str
    position: Any = None  # where it came from: a line number, or (topic, partition, offset)


REASONS = (
    "not_utf8",
    "not_json",
    "not_an_object",
    "missing_id",
    "missing_text",
    "empty_text",
    "text_too_large",
    "wrong_type",
    "bad_timestamp",
)


def field_at(record: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``payload.body``), or None when any step is missing."""
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return None
        value = value[step]
    return value


def parse_timestamp(value: Any) -> float | None:
    """Unix seconds (or milliseconds, recognised by size) or an ISO 8601 string; raises ValueError otherwise."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError("timestamp is not finite")
        return seconds / 1000.0 if seconds > 1e11 else seconds
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    raise ValueError(f"a {type(value).__name__} is not a timestamp")


def post_from_mapping(record: Any, fields: InputSettings) -> Post | tuple[str, str]:
    """A Post, or ``(reason, detail)`` explaining why the mapping is not one."""
    if not isinstance(record, Mapping):
        return "not_an_object", f"expected a JSON object, got {type(record).__name__}"
    post_id = field_at(record, fields.id_field)
    if post_id is None or post_id == "":
        return "missing_id", f"no value at '{fields.id_field}'"
    if not isinstance(post_id, str | int) or isinstance(post_id, bool):
        return "wrong_type", f"'{fields.id_field}' must be a string or integer, got {type(post_id).__name__}"
    text = field_at(record, fields.text_field)
    if text is None:
        return "missing_text", f"no value at '{fields.text_field}'"
    if not isinstance(text, str):
        return "wrong_type", f"'{fields.text_field}' must be a string, got {type(text).__name__}"
    if not text.strip():
        return "empty_text", f"'{fields.text_field}' is empty"
    if len(text) > fields.max_text_chars:
        return "text_too_large", f"text has {len(text)} characters, the limit is {fields.max_text_chars}"
    try:
        timestamp = parse_timestamp(field_at(record, fields.timestamp_field))
    except ValueError as error:
        return "bad_timestamp", f"'{fields.timestamp_field}': {error}"
    source = field_at(record, fields.source_field)
    used = {fields.id_field, fields.text_field, fields.timestamp_field, fields.source_field}
    metadata = {key: value for key, value in record.items() if key not in used}
    return Post(
        id=str(post_id),
        text=text,
        timestamp=timestamp,
        source=None if source is None else str(source),
        metadata=metadata,
    )


def decode_json(raw: bytes, fields: InputSettings) -> Post | tuple[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return "not_utf8", f"bytes are not UTF-8: {error.reason} at byte {error.start}"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return "not_json", f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
    return post_from_mapping(record, fields)


def decode_records(
    raws: Iterable[tuple[bytes, Any]], fields: InputSettings
) -> tuple[list[Post], list[DecodeFailure]]:
    """Decode ``(raw bytes, position)`` pairs into posts and failures, keeping input order within each list."""
    posts: list[Post] = []
    failures: list[DecodeFailure] = []
    for raw, position in raws:
        outcome = decode_json(raw, fields)
        if isinstance(outcome, Post):
            posts.append(outcome)
        else:
            reason, detail = outcome
            failures.append(DecodeFailure(raw=raw, reason=reason, detail=detail, position=position))
    return posts, failures
