"""What the worker writes to Kafka, as (key, value) bytes: labels, events, catalog entries, dead letters."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from streamclust.result import LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent

KeyValue = tuple[bytes, bytes]


def label_records(labels: LabelBatch) -> Iterator[KeyValue]:
    """One record per post: key = post id, value = the LabelRecord as JSON."""
    for record in labels.records():
        yield record.post_id.encode(), record.model_dump_json().encode()


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
