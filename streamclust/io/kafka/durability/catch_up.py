"""Catch-up after a restore: the posts between a checkpoint's offsets and the group's committed offsets were
labelled (their labels are committed) but the restored model has not learned them. Read them again and run
them through the engine, producing nothing, so the model is the one the worker had when it last committed.

With the journal of the crashed worker (``journal.py``) the posts go in exactly as they went then: the same
batches, in the same order, with the same ``now``; with deterministic settings the model comes out equal to
the one before the crash. Without one (or one that does not belong to the checkpoint) they go in batches of
``kafka.batch_size`` in partition order, and the model learns the same posts in a slightly different grouping.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streamclust.config import Settings
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import reader_config
from streamclust.io.kafka.durability.journal import Journal, JournalEntry
from streamclust.io.kafka.isolation import decode_record, process_guarded
from streamclust.schema import Post

log = logging.getLogger("streamclust.kafka")

STALL_SECONDS = 60.0  # give up when the broker hands out nothing new for this long


@dataclass(frozen=True)
class CatchUpReport:
    posts: int  # posts the engine learned
    skipped: int  # records that are not posts (dead-lettered when they were first read)
    batches: int
    seconds: float
    exact: bool  # replayed from the journal: the same batches as before the restart


def journal_fits(journal: Journal | None, topic: str, start: dict[TopicPartition, int]) -> bool:
    """Whether ``journal`` continues the checkpoint whose offsets are ``start``."""
    if journal is None or journal.topic != topic:
        return False
    return journal.base == {tp.partition: offset for tp, offset in start.items() if tp.topic == topic}


def plan_batches(
    journal: Journal | None, start: dict[TopicPartition, int], end: dict[TopicPartition, int], batch_size: int
) -> tuple[list[JournalEntry], bool]:
    """The engine calls to replay, and whether they are the journal's (exact) or a plain split.

    A journal is used when it fits the checkpoint and its last batches reach the committed offsets.
    """
    topics = {tp.topic for tp in start}
    if len(topics) == 1:
        topic = next(iter(topics))
        if journal_fits(journal, topic, start):
            assert journal is not None
            reached = dict(start)
            for entry in journal.entries:
                for partition, _, next_offset in entry.ranges:
                    tp = TopicPartition(topic, partition)
                    reached[tp] = max(reached.get(tp, 0), next_offset)
            if all(reached.get(tp, 0) >= offset for tp, offset in end.items()):
                return list(journal.entries), True
    entries: list[JournalEntry] = []
    now = time.time()
    for tp, first in sorted(start.items()):
        last = end.get(tp, first)
        for low in range(first, last, batch_size):
            entries.append(JournalEntry(now, ((tp.partition, low, min(low + batch_size, last)),)))
    return entries, False


def read_range(
    kafka: Any, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> Iterator[list[Any]]:
    """The committed records of ``[start, end)`` per partition, in polled batches (records past ``end`` are
    dropped). Raises KafkaSetupError when the broker stops handing records out."""
    wanted = {tp: (first, end[tp]) for tp, first in start.items() if end.get(tp, first) > first}
    if not wanted:
        return
    consumer = KafkaConsumer(**reader_config(kafka))
    try:
        consumer.assign(list(wanted))
        for tp, (first, _) in wanted.items():
            consumer.seek(tp, first)
        last_progress = time.monotonic()
        while any(consumer.position(tp) < last for tp, (_, last) in wanted.items()):
            polled = consumer.poll(timeout_ms=500)
            batch = [
                record
                for tp, records in polled.items()
                for record in records
                if wanted[tp][0] <= record.offset < wanted[tp][1]
            ]
            if polled:
                last_progress = time.monotonic()
            elif time.monotonic() - last_progress > STALL_SECONDS:
                raise KafkaSetupError(
                    f"catching up stalled: no records from {sorted(map(str, wanted))} for {STALL_SECONDS:.0f}s; "
                    "check the broker and that the input topic still holds the posts after the checkpoint"
                )
            if batch:
                yield batch
    finally:
        consumer.close()


def catch_up(
    engine: Any,
    settings: Settings,
    start: dict[TopicPartition, int],
    end: dict[TopicPartition, int],
    journal: Journal | None,
) -> tuple[CatchUpReport, Journal]:
    """Run the posts of ``[start, end)`` through ``engine`` (nothing is produced).

    Returns the report and the journal of what the engine now holds beyond the checkpoint, so a worker that
    crashes again before its next checkpoint can be caught up again in the same way.
    """
    started = time.monotonic()
    entries, exact = plan_batches(journal, start, end, settings.kafka.batch_size)
    topic = next(iter(start)).topic if start else settings.kafka.input_topic
    uses = Counter(key for entry in entries for key in offsets_in(entry))  # an aborted batch is in twice
    total = sum(entry.posts_spanned() for entry in entries)
    held: dict[tuple[int, int], Any] = {}  # (partition, offset) -> record, until its last batch has gone in
    records = read_range(settings.kafka, start, end)
    replayed = Journal(topic=topic, base={tp.partition: offset for tp, offset in start.items()})
    posts_in = skipped = spanned = 0
    reached: dict[int, int] = {}  # partition -> one past the highest offset read
    exhausted = False
    last_log = time.monotonic()
    for entry in entries:
        needed = offsets_in(entry)
        while not exhausted and any(reached.get(p, -1) < last for p, _, last in entry.ranges):
            batch = next(records, None)
            if batch is None:
                exhausted = (
                    True  # read to the end (offsets missing from the log are gaps: markers, retention)
                )
                break
            for record in batch:
                held[(record.partition, record.offset)] = record
                reached[record.partition] = max(reached.get(record.partition, -1), record.offset + 1)
        posts, bad = decode_posts([held[key] for key in needed if key in held], settings)
        skipped += bad
        if posts:
            process_guarded(
                engine, posts, entry.at
            )  # leaves out what the worker dead-lettered as engine_error
            replayed.entries.append(entry)
            posts_in += len(posts)
        for key in needed:
            uses[key] -= 1
            if uses[key] <= 0:
                held.pop(key, None)
        spanned += entry.posts_spanned()
        if time.monotonic() - last_log > 10.0:
            last_log = time.monotonic()
            log.info("catching up", extra={"done": spanned, "of": total})
    report = CatchUpReport(posts_in, skipped, len(replayed.entries), time.monotonic() - started, exact)
    return report, replayed


def offsets_in(entry: JournalEntry) -> list[tuple[int, int]]:
    return [(partition, offset) for partition, first, last in entry.ranges for offset in range(first, last)]


def decode_posts(records: list[Any], settings: Settings) -> tuple[list[Post], int]:
    """The posts among ``records`` (decoded as the worker decodes them) and how many were not posts."""
    posts: list[Post] = []
    for record in records:
        outcome = decode_record(record.value if record.value is not None else b"", settings.input)
        if isinstance(outcome, Post):
            posts.append(outcome)
    return posts, len(records) - len(posts)
