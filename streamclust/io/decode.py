"""Turn raw records into Posts, or into failures that say why not.

Decoding never raises, whatever the input: ``decode_json`` and ``post_from_mapping`` return a Post or a
``(reason, detail)`` pair for one record; ``decode_records`` decodes a batch into ``(posts, failures)``
(``decode_each`` keeps each post's position too), and the caller sends the failures to a rejects file or the
dead-letter topic. ``reason`` is one of ``REASONS``; ``detail`` is one short line.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from streamclust.config import InputSettings
from streamclust.schema import Post


@dataclass(frozen=True, slots=True)
class DecodeFailure:
    """A record that could not become a Post: why (``reason``, a short machine-readable code, and ``detail``) and
    where it came from. File mode writes it to its rejects (``io/files/writer.py``); the Kafka worker sends it to
    the dead-letter topic as a ``DeadLetter`` (``io/kafka/records.py``), which adds the Kafka coordinates."""

    raw: bytes
    reason: str
    detail: str
    position: Any = None  # where it came from: a line number in file mode, the consumer record in Kafka


P = TypeVar("P")
Decoder = Callable[[bytes, InputSettings], Post | tuple[str, str]]  # decode_json, or a stricter one


REASONS = {
    "not_utf8": "the bytes are not UTF-8",
    "not_json": "the bytes are not one JSON value",
    "too_deep": "the JSON nests deeper than Python can read",
    "number_too_large": "a number has too many digits to convert (over 4300) or is too large for a float",
    "bad_unicode": "a string holds a lone UTF-16 surrogate (such as the escape \\ud800), which is not text",
    "not_an_object": "the JSON value is not an object",
    "missing_id": "there is no id at the id field",
    "missing_text": "there is no text at the text field",
    "empty_text": "the text is empty or only whitespace",
    "text_too_large": "the text is longer than input.max_text_chars",
    "wrong_type": "the id is not a string or integer, or the text is not a string",
    "bad_timestamp": "the timestamp is not unix seconds, milliseconds or ISO 8601 within years 1 to 9999",
    "bad_metadata": "the other fields cannot be kept with the post",
    "unreadable": "anything else that stopped the record from becoming a post",
}

MAX_DETAIL_CHARS = 200
EARLIEST_SECONDS = -62_135_596_800.0  # 0001-01-01T00:00:00Z
LATEST_SECONDS = 253_402_300_799.0  # 9999-12-31T23:59:59Z
# A lone surrogate can only come from a \uD800-\uDFFF escape; records without one skip the full check.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abcdefABCDEF]")


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
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError("timestamp is too large") from None
        if not math.isfinite(seconds):
            raise ValueError("timestamp is not finite")
        seconds = seconds / 1000.0 if seconds > 1e11 else seconds
    elif isinstance(value, str):
        try:
            seconds = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (OverflowError, OSError):
            raise ValueError("timestamp is out of range") from None
    else:
        raise ValueError(f"a {type(value).__name__} is not a timestamp")
    if not EARLIEST_SECONDS <= seconds <= LATEST_SECONDS:
        raise ValueError("timestamp is outside the years 1 to 9999")
    return seconds


def post_from_mapping(record: Any, fields: InputSettings) -> Post | tuple[str, str]:
    """A Post, or ``(reason, detail)`` explaining why the mapping is not one. Never raises."""
    try:
        return checked_post(record, fields)
    except RecursionError:
        return "too_deep", "a value nests too deeply to read"
    except Exception as error:  # the last line of defence: a record never stops the stream
        return "unreadable", short(f"{type(error).__name__}: {error}")


def checked_post(record: Any, fields: InputSettings) -> Post | tuple[str, str]:
    if not isinstance(record, Mapping):
        return "not_an_object", f"expected a JSON object, got {type(record).__name__}"
    post_id = field_at(record, fields.id_field)
    if post_id is None or post_id == "":
        return "missing_id", short(f"no value at '{fields.id_field}'")
    if not isinstance(post_id, str | int) or isinstance(post_id, bool):
        return "wrong_type", short(
            f"'{fields.id_field}' must be a string or integer, got {type(post_id).__name__}"
        )
    if isinstance(post_id, int):
        try:
            post_id = str(post_id)
        except ValueError:
            return "number_too_large", short(f"'{fields.id_field}' has too many digits")
    text = field_at(record, fields.text_field)
    if text is None:
        return "missing_text", short(f"no value at '{fields.text_field}'")
    if not isinstance(text, str):
        return "wrong_type", short(f"'{fields.text_field}' must be a string, got {type(text).__name__}")
    if not text.strip():
        return "empty_text", short(f"'{fields.text_field}' is empty")
    if len(text) > fields.max_text_chars:
        return "text_too_large", f"text has {len(text)} characters, the limit is {fields.max_text_chars}"
    for name, value in ((fields.id_field, post_id), (fields.text_field, text)):
        if not is_text(value):
            return "bad_unicode", short(f"'{name}' holds a lone UTF-16 surrogate")
    try:
        timestamp = parse_timestamp(field_at(record, fields.timestamp_field))
    except ValueError as error:
        return "bad_timestamp", short(f"'{fields.timestamp_field}': {error}")
    source = field_at(record, fields.source_field)
    if source is not None:
        try:
            source = str(source)
        except ValueError:
            return "number_too_large", short(f"'{fields.source_field}' has too many digits")
        if not is_text(source):
            return "bad_unicode", short(f"'{fields.source_field}' holds a lone UTF-16 surrogate")
    used = {fields.id_field, fields.text_field, fields.timestamp_field, fields.source_field}
    metadata = {key: value for key, value in record.items() if key not in used}
    try:
        return Post(id=str(post_id), text=str(text), timestamp=timestamp, source=source, metadata=metadata)
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        place = ".".join(str(step) for step in first["loc"])
        return "bad_metadata", short(f"{place}: {first['msg']}")


def decode_json(raw: bytes, fields: InputSettings) -> Post | tuple[str, str]:
    """The Post in one JSON record, or ``(reason, detail)``. Never raises."""
    try:
        return decoded_post(raw, fields)
    except RecursionError:
        return "too_deep", "the JSON nests too deeply to read"
    except Exception as error:  # the last line of defence: a record never stops the stream
        return "unreadable", short(f"{type(error).__name__}: {error}")


def decoded_post(raw: bytes, fields: InputSettings) -> Post | tuple[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return "not_utf8", f"bytes are not UTF-8: {error.reason} at byte {error.start}"
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        return "not_json", f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
    except RecursionError:
        return "too_deep", "the JSON nests too deeply to read"
    except ValueError:  # an integer over Python's int/str conversion limit
        return "number_too_large", "an integer has more digits than Python converts (4300)"
    if _SURROGATE_ESCAPE.search(raw) is not None:
        try:
            json.dumps(record, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return "bad_unicode", "a string holds a lone UTF-16 surrogate (an escape from \\ud800 to \\udfff)"
        except (RecursionError, ValueError):
            return "too_deep", "the JSON nests too deeply to read"
    return post_from_mapping(record, fields)


def is_text(value: str) -> bool:
    """True when ``value`` can be written as UTF-8 (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def short(detail: str) -> str:
    """One line of at most MAX_DETAIL_CHARS characters, safe to write anywhere."""
    line = " ".join(detail.split())
    line = line if len(line) <= MAX_DETAIL_CHARS else line[: MAX_DETAIL_CHARS - 3] + "..."
    return line.encode("utf-8", errors="replace").decode("utf-8")


def decode_records(
    raws: Iterable[tuple[bytes, Any]], fields: InputSettings, decode: Decoder = decode_json
) -> tuple[list[Post], list[DecodeFailure]]:
    """Decode ``(raw bytes, position)`` pairs into posts and failures, keeping input order within each list."""
    decoded, failures = decode_each(raws, fields, decode)
    return [post for post, _ in decoded], failures


def decode_each(
    raws: Iterable[tuple[bytes, P]], fields: InputSettings, decode: Decoder = decode_json
) -> tuple[list[tuple[Post, P]], list[DecodeFailure]]:
    """Decode ``(raw bytes, position)`` pairs with ``decode``: each post with its position, and the failures,
    keeping input order within each list."""
    decoded: list[tuple[Post, P]] = []
    failures: list[DecodeFailure] = []
    for raw, position in raws:
        outcome = decode(raw, fields)
        if isinstance(outcome, Post):
            decoded.append((outcome, position))
        else:
            reason, detail = outcome
            failures.append(DecodeFailure(raw=raw, reason=reason, detail=detail, position=position))
    return decoded, failures
