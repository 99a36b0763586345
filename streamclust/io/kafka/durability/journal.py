"""The batches a solo worker's model has learned since its last checkpoint, so a restart can learn them again
in exactly the same way.

The engine's state depends on where one ``process`` call ends and the next begins (novelty searches and
lifecycle passes run at the end of a call) and on the ``now`` each call was given. The journal records both:
one entry per call, with the input ranges it took (in the order the posts were given) and its ``now``. Every
batch transaction writes the whole journal as one small record to the compacted state topic; the checkpoint
transaction starts a new, empty one. After a crash, the checkpoint plus its journal give back the model the
worker had when it last committed.

>>> journal = Journal(topic="posts", base={0: 100})
>>> journal.add(at=12.5, ranges=[(0, 100, 150)])
>>> Journal.from_bytes(journal.to_bytes()) == journal
True
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streamclust.config import KafkaSettings
from streamclust.io.kafka.clients import reader_config

log = logging.getLogger("streamclust.kafka")

JOURNAL_VERSION = 1
Range = tuple[int, int, int]  # partition, first offset, next offset


@dataclass(frozen=True)
class JournalEntry:
    """One ``engine.process`` call: the input ranges of its posts, in order, and the ``now`` it was given."""

    at: float
    ranges: tuple[Range, ...]

    def posts_spanned(self) -> int:
        return sum(end - start for _, start, end in self.ranges)


@dataclass
class Journal:
    """Engine calls since the checkpoint whose input offsets are ``base`` (partition -> next offset)."""

    topic: str
    base: dict[int, int]
    entries: list[JournalEntry] = field(default_factory=list)

    def add(self, at: float, ranges: list[Range]) -> None:
        self.entries.append(JournalEntry(at, tuple(ranges)))

    def to_bytes(self) -> bytes:
        value: dict[str, Any] = {
            "journal_version": JOURNAL_VERSION,
            "topic": self.topic,
            "base": {str(partition): offset for partition, offset in self.base.items()},
            "entries": [
                {"at": entry.at, "ranges": [list(r) for r in entry.ranges]} for entry in self.entries
            ],
        }
        return json.dumps(value, separators=(",", ":")).encode()

    @staticmethod
    def from_bytes(raw: bytes) -> Journal:
        """Raises ValueError (or KeyError/TypeError) when ``raw`` is not a journal this version writes."""
        value = json.loads(raw)
        if value.get("journal_version") != JOURNAL_VERSION:
            raise ValueError(f"journal version {value.get('journal_version')!r}")
        return Journal(
            topic=str(value["topic"]),
            base={int(partition): int(offset) for partition, offset in value["base"].items()},
            entries=[
                JournalEntry(
                    float(entry["at"]), tuple((int(p), int(a), int(b)) for p, a, b in entry["ranges"])
                )
                for entry in value["entries"]
            ],
        )


def journal_key(namespace: str) -> bytes:
    """The journal's key on the state topic: one live journal per namespace (the consumer group)."""
    return f"journal/{namespace}".encode()


def ranges_of(records: list[Any]) -> list[Range]:
    """The (partition, first, next) ranges of polled records, in the order the records come."""
    ranges: dict[int, list[int]] = {}
    for record in records:
        bounds = ranges.setdefault(record.partition, [record.offset, record.offset + 1])
        bounds[1] = record.offset + 1
    return [(partition, first, end) for partition, (first, end) in ranges.items()]


def read_journal(kafka: KafkaSettings, namespace: str, timeout_s: float = 30.0) -> Journal | None:
    """The newest committed journal of ``namespace``, or None.

    The journal is written in every batch transaction, so it sits near the end of the state topic: read
    backwards in growing windows instead of the whole topic (which holds the checkpoints themselves).
    """
    key = journal_key(namespace)
    consumer = KafkaConsumer(**reader_config(kafka))
    try:
        partition = TopicPartition(kafka.state_topic, 0)
        consumer.assign([partition])
        timeout_ms = int(timeout_s * 1000)
        first = consumer.beginning_offsets([partition], timeout_ms)[partition]
        end = consumer.end_offsets([partition], timeout_ms)[partition]
        window = 16
        while end > first:
            start = max(first, end - window)
            found = _last_value(consumer, partition, start, end, key, timeout_s)
            if found is not None:
                try:
                    return Journal.from_bytes(found)
                except (ValueError, KeyError, TypeError) as error:
                    log.warning(
                        "unreadable journal on the state topic; ignored", extra={"error": repr(error)}
                    )
                    return None
            if start == first:
                break
            window *= 8
        return None
    finally:
        consumer.close()


def _last_value(
    consumer: KafkaConsumer, partition: TopicPartition, start: int, end: int, key: bytes, timeout_s: float
) -> bytes | None:
    import time

    consumer.seek(partition, start)
    found: bytes | None = None
    deadline = time.monotonic() + timeout_s
    while consumer.position(partition) < end and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                if record.offset < end and record.key == key and record.value is not None:
                    found = record.value
    return found
