"""The pure parts of checkpointing on Kafka: when a checkpoint is due, the journal's wire form, and which batches
a restarted worker learns again."""

from __future__ import annotations

from types import SimpleNamespace

from kafka import TopicPartition

from streamclust.io.kafka.durability.catch_up import plan_batches
from streamclust.io.kafka.durability.checkpoints import offsets_extra
from streamclust.io.kafka.durability.journal import Journal, ranges_of
from streamclust.state.schedule import CheckpointSchedule

P0, P1 = TopicPartition("posts", 0), TopicPartition("posts", 1)


def test_the_first_checkpoint_is_due_at_once_then_by_posts_or_seconds() -> None:
    schedule = CheckpointSchedule(every_posts=1_000, every_seconds=60.0)
    assert schedule.due(now=0.0)
    schedule.done(now=0.0)
    schedule.count(999)
    assert not schedule.due(now=59.0)
    schedule.count(1)
    assert schedule.due(now=1.0)
    schedule.done(now=1.0)
    assert not schedule.due(now=60.0) and schedule.due(now=61.0)


def test_offsets_are_kept_per_topic_and_partition_as_json() -> None:
    assert offsets_extra({P1: 7, P0: 12}) == {"offsets": {"posts": {"0": 12, "1": 7}}}


def test_polled_records_become_ranges_in_the_order_they_came() -> None:
    records = [SimpleNamespace(partition=p, offset=o) for p, o in [(1, 40), (1, 41), (0, 7), (0, 8), (0, 9)]]
    assert ranges_of(records) == [(1, 40, 42), (0, 7, 10)]


def test_a_fitting_journal_is_replayed_as_it_was_written() -> None:
    journal = Journal(topic="posts", base={0: 100, 1: 50})
    journal.add(at=1.5, ranges=[(0, 100, 130), (1, 50, 60)])
    journal.add(at=2.5, ranges=[(1, 60, 75)])
    journal = Journal.from_bytes(journal.to_bytes())
    entries, exact = plan_batches(journal, {P0: 100, P1: 50}, {P0: 130, P1: 75}, batch_size=500)
    assert exact and entries == journal.entries


def test_without_a_fitting_journal_the_range_is_cut_into_batches() -> None:
    other_checkpoint = Journal(topic="posts", base={0: 90, 1: 50})
    for journal in (None, other_checkpoint):
        entries, exact = plan_batches(journal, {P0: 100, P1: 50}, {P0: 130, P1: 75}, batch_size=20)
        assert not exact
        assert [entry.ranges for entry in entries] == [
            ((0, 100, 120),),
            ((0, 120, 130),),
            ((1, 50, 70),),
            ((1, 70, 75),),
        ]


def test_a_journal_that_stops_short_of_the_committed_offsets_is_not_used() -> None:
    journal = Journal(topic="posts", base={0: 100})
    journal.add(at=1.0, ranges=[(0, 100, 120)])
    _, exact = plan_batches(journal, {P0: 100}, {P0: 150}, batch_size=500)
    assert not exact
