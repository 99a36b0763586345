"""What the worker writes to Kafka, as (key, value) bytes: labels, events, catalog entries, dead letters."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from streamclust.result import LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent

KeyValue = tuple[bytes, bytes]


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


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An input record that could not become a post, with where it came from and why."""

    raw: bytes
    key: bytes | None
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None

    def to_record(self, at: float) -> KeyValue:
        value: dict[str, Any] = {
            "reason": self.reason,
            "detail": self.detail,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "timestamp_ms": self.timestamp_ms,
            "value_base64": base64.b64encode(self.raw).decode("ascii"),
            "key_base64": None if self.key is None else base64.b64encode(self.key).decode("ascii"),
            "at": at,
        }
        key = self.key if self.key is not None else f"{self.topic}/{self.partition}/{self.offset}".encode()
        return key, json.dumps(value).encode()


def original_bytes(dead_letter_value: dict[str, Any]) -> bytes:
    """The input record's bytes, from a dead-letter record's decoded JSON value."""
    return base64.b64decode(dead_letter_value["value_base64"])
