"""Everything read and produced since the last commit: the worker commits an uncommitted batch in one Kafka
transaction (its labels, events, dead letters and the offsets after its records).

Normally it is what one poll read. During the engine's warm-up it grows over several polls: the engine holds the
posts back, so nothing is produced and no offsets are committed until the poll that completes the warm-up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from kafka import TopicPartition

from streamclust.io.kafka.records import DeadLetter
from streamclust.result import BatchResult, LabelBatch
from streamclust.schema import ClusterEvent


@dataclass
class UncommittedBatch:
    first_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # where to rewind to
    next_offsets: dict[TopicPartition, int] = field(default_factory=dict)  # what to commit
    sent_at: dict[str, float] = field(default_factory=dict)  # post id -> unix seconds it entered the stream
    labels: list[LabelBatch] = field(default_factory=list)
    events: list[ClusterEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    consumed: int = 0
    reported: int = 0  # of ``consumed``, the records already reported to observers (while held)
    last_result: BatchResult | None = None
    started_at: float | None = None  # monotonic time the first record was in hand
    first_model: bool = False  # the warm-up ended in this span: its labels are the first model's

    def __bool__(self) -> bool:
        return self.consumed > 0

    def add_offset(self, partition: TopicPartition, offset: int) -> None:
        self.first_offsets.setdefault(partition, offset)
        self.next_offsets[partition] = offset + 1
        self.consumed += 1

    def add_result(self, result: BatchResult) -> None:
        if len(result.labels):
            self.labels.append(result.labels)
        self.events.extend(result.events)
        self.last_result = result

    def take_unreported(self) -> int:
        """The records read since the last report, now counted as reported."""
        unreported, self.reported = self.consumed - self.reported, self.consumed
        return unreported

    def labelled(self) -> int:
        return sum(len(batch) for batch in self.labels)

    def dead_letter_counts(self) -> dict[str, int]:
        return dict(Counter(letter.reason for letter in self.dead_letters))

    def touched_cluster_ids(self) -> set[int]:
        touched = {event.cluster_id for event in self.events}
        touched.update(event.merged_into for event in self.events if event.merged_into is not None)
        return touched
