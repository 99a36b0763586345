"""The worker may learn the next batch before the transaction carrying a checkpoint is through (it overlaps
commits); that batch must be in the journal that starts at the checkpoint, or a restart would skip it."""

from __future__ import annotations

from dataclasses import dataclass

from kafka import TopicPartition
from state_support import NOW, banking_posts, small_settings

from streamclust.engine import Engine
from streamclust.io.kafka.durability.checkpointing import Checkpointing

TOPIC = "posts"
PARTITION = TopicPartition(TOPIC, 0)


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int


class OnePartition:
    """The consumer calls the keeper makes: one assigned partition, read up to ``position``."""

    def __init__(self) -> None:
        self.position_now = 0

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION}

    def position(self, tp: TopicPartition) -> int:
        return self.position_now


def test_a_batch_learned_while_the_checkpoint_commits_is_in_the_next_journal() -> None:
    settings = small_settings()
    settings = settings.model_copy(update={"kafka": settings.kafka.model_copy(update={"input_topic": TOPIC})})
    keeper = Checkpointing(settings)
    engine = Engine.from_settings(settings)
    consumer = OnePartition()

    def learn(first: int, count: int) -> None:
        records = [Record(0, offset) for offset in range(first, first + count)]
        engine.process(banking_posts(count, start=first), now=NOW + first)
        keeper.learned(records, count, NOW + first)  # type: ignore[arg-type]
        consumer.position_now = first + count

    learn(0, 300)  # warm: the first checkpoint is due at once
    write = keeper.transaction_records(engine, consumer, {PARTITION: 300})  # type: ignore[arg-type]
    assert write.checkpoint is not None and write.offsets == {PARTITION: 300}
    learn(300, 50)  # the next batch, while that transaction is in flight
    keeper.committed(write)

    journal = keeper.journal
    assert journal is not None and journal.base == {0: 300}
    assert [entry.ranges for entry in journal.entries] == [((0, 300, 350),)]
    assert keeper.unsaved_posts == 50
