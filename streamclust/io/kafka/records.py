"""What the worker writes to Kafka, as (key, value) bytes: labels, events, catalog entries, dead letters.

``KeyValue`` is the type of one such record everywhere in the Kafka adapter (the state records of a checkpoint
too)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from streamclust.result import LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent

KeyValue = tuple[bytes, bytes]


def value_of(record: Any) -> bytes:
    """A consumed record's value; a record without one (a tombstone) reads as empty bytes."""
    return record.value if record.value is not None else b""


def label_records(labels: LabelBatch) -> Iterator[KeyValue]:
    """One record per post: key = post id, value = the LabelRecord as JSON (``model_position`` only when set).

    Written directly rather than through pydantic (one record per post is the worker's hottest loop); the
    JSON decodes to the same values as ``LabelRecord.model_dump_json`` (checked by a test), fields in the same
    order.
    """
    tail = f',"model_version":{int(labels.model_version)},"processed_at":{json_float(labels.processed_at)}'
    if labels.model_position is not None:
        tail += f',"model_position":{int(labels.model_position)}'
    tail += "}"
    for post_id, cluster_id, similarity, outlier in zip(
        labels.post_ids,
        labels.cluster_ids.tolist(),
        labels.similarities.tolist(),
        labels.is_outlier.tolist(),
        strict=True,
    ):
        value = (
            f'{{"post_id":{encode_basestring(post_id)},"cluster_id":{cluster_id},'
            f'"similarity":{json_float(round(similarity, 6))},"is_outlier":{"true" if outlier else "false"}{tail}'
        )
        yield post_id.encode(), value.encode()


def json_float(value: float) -> str:
    """A float as JSON, as pydantic writes it: ``null`` for NaN and infinities."""
    return repr(value) if math.isfinite(value) else "null"


def event_record(event: ClusterEvent) -> KeyValue:
    return str(event.cluster_id).encode(), event.model_dump_json().encode()


def catalog_record(entry: CatalogEntry) -> KeyValue:
    """Keyed by cluster id, so the compacted catalog topic keeps the latest state of each cluster."""
    return str(entry.cluster_id).encode(), entry.model_dump_json().encode()


# What a dead letter carries of the input record, so that it always fits in one produce request (the worker's
# producer takes records of up to 1 MiB; the largest dead letter is under 100 KB whatever came in).
MAX_VALUE_BYTES = 65_536  # of the value, as base64 (88 KB)
MAX_KEY_BYTES = 1_024  # of the key
MAX_DETAIL_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input record that could not become a post, as the dead-letter topic carries it: why (a
    ``DecodeFailure``'s reason and detail, or ``engine_error`` for a post the engine could not take) and where it
    came from (``from_record``: the consumed record's topic, partition, offset, key and timestamp).

    Its record (``to_record``) carries the whole value when it has at most ``MAX_VALUE_BYTES`` bytes, else
    their first ``MAX_VALUE_BYTES`` with ``truncated: true``; always the value's size and SHA-256, so the
    original can be found (and checked) at its topic, partition and offset.

    >>> letter = DeadLetter(b"x" * 100_000, None, "text_too_large", "too long", "posts", 0, 7, None)
    >>> key, value = letter.to_record(at=0.0)
    >>> fields = json.loads(value)
    >>> key, fields["truncated"], fields["value_bytes"], len(value) < 100_000
    (b'posts/0/7', True, 100000, True)
    """

    raw: bytes
    key: bytes | None
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None

    @staticmethod
    def from_record(record: Any, reason: str, detail: str) -> DeadLetter:
        """The dead letter of a consumed record (a kafka-python ``ConsumerRecord``)."""
        return DeadLetter(
            raw=value_of(record),
            key=record.key,
            reason=reason,
            detail=detail,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp,
        )

    def to_record(self, at: float) -> KeyValue:
        value: dict[str, Any] = {
            "reason": self.reason,
            "detail": shorten(self.detail, MAX_DETAIL_CHARS),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "value_base64": base64.b64encode(self.raw[:MAX_VALUE_BYTES]).decode("ascii"),
            "value_bytes": len(self.raw),
            "value_sha256": hashlib.sha256(self.raw).hexdigest(),
            "truncated": len(self.raw) > MAX_VALUE_BYTES,
            "key_base64": None
            if self.key is None
            else base64.b64encode(self.key[:MAX_KEY_BYTES]).decode("ascii"),
            "key_truncated": self.key is not None and len(self.key) > MAX_KEY_BYTES,
            "at": at,
        }
        key = self.key
        if key is None or len(key) > MAX_KEY_BYTES:
            key = f"{self.topic}/{self.partition}/{self.offset}".encode()
        return key, json.dumps(value).encode()


def shorten(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters (ending in an ellipsis) when longer."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def original_bytes(dead_letter_value: dict[str, Any]) -> bytes:
    """The input record's bytes, from a dead-letter record's decoded JSON value.

    Raises ValueError for a letter that carries only the start of a large record (``truncated``)."""
    if dead_letter_value.get("truncated"):
        raise ValueError(
            f"this dead letter carries only the first {MAX_VALUE_BYTES} of the record's "
            f"{dead_letter_value.get('value_bytes')} bytes; read the whole record at "
            f"{dead_letter_value.get('topic')}/{dead_letter_value.get('partition')}/"
            f"{dead_letter_value.get('offset')} (its SHA-256 is value_sha256)"
        )
    return base64.b64decode(dead_letter_value["value_base64"])
