"""Records a hostile producer would send, mixed among good posts on one partition, through `streamclust run` with a
SIGKILL in the middle and a restart: every input offset gets exactly one label or one dead letter, and the
consumer group's committed offset reaches the end of the partition (lag zero)."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer, TopicPartition
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(420, func_only=True)]

GOOD = 3_000
HOSTILE_EVERY = 60  # one hostile record after every 60 good posts
BIG_TEXT_BYTES = 900_000


def hostile_records(number: int) -> list[tuple[bytes | None, bytes | None, bool]]:
    """Hostile records whose ids start with ``h<number>-``, as (key, value, must it be a dead letter)."""
    prefix = f"h{number}-"
    return [
        (None, b'{"id": "' + prefix.encode() + b'\\ud800", "text": "my card was declined"}', False),
        (None, b'{"id": "' + prefix.encode() + b'u", "text": "card \\udfff declined \\ud83d"}', False),
        (None, b'{"id": "x", "text": "card", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", True),
        (None, b'{"id": ' + b"9" * 4_995 + str(10_000 + number).encode() + b', "text": "card lost"}', False),
        (None, b"\x00\x00\x00\x00", True),
        (None, b'{"id": "' + prefix.encode() + b'nul", "text": "card\\u0000declined"}', False),
        (None, b'{"id": "' + prefix.encode() + b'utf", "text": "caf\xe9 \xff"}', True),
        (None, json.dumps({"id": f"{prefix}big", "text": "card " * (BIG_TEXT_BYTES // 5)}).encode(), True),
        (None, json.dumps({"id": f"{prefix}empty", "text": ""}).encode(), True),
        (None, json.dumps({"id": {"nested": 1}, "text": ["not", "text"]}).encode(), True),
        (None, json.dumps({"id": True, "text": 5}).encode(), True),
        (b"tombstone", None, True),
        (None, json.dumps({"id": f"{prefix}{'x' * 20_000}", "text": "card declined"}).encode(), True),
    ]


def build_corpus() -> tuple[
    list[tuple[bytes | None, bytes | None]], dict[str, int], set[int], dict[int, int]
]:
    """The records in input order, the offset of every predictable post id, the offsets that must be dead
    letters, and the offset of each hostile record by its ``h<number>-`` id prefix."""
    records: list[tuple[bytes | None, bytes | None]] = []
    offset_of: dict[str, int] = {}
    must_be_dead: set[int] = set()
    hostile_at: dict[int, int] = {}
    hostile = 0
    for number, (key, value) in enumerate(post_values(GOOD, prefix="g")):
        offset_of[key.decode()] = len(records)
        records.append((key, value))
        if number % HOSTILE_EVERY == HOSTILE_EVERY - 1:
            kinds = hostile_records(hostile)
            key, value, dead = kinds[hostile % len(kinds)]
            hostile_at[hostile] = len(records)
            if value is not None and value.startswith(b'{"id": 9'):
                offset_of[value[7 : value.index(b",")].decode()] = len(records)  # the 5,000-digit id
            if dead:
                must_be_dead.add(len(records))
            records.append((key, value))
            hostile += 1
    return records, offset_of, must_be_dead, hostile_at


def committed_offset(stream: Stream, partition: TopicPartition) -> int | None:
    consumer = KafkaConsumer(bootstrap_servers=stream.bootstrap, group_id=stream.kafka["group_id"])
    try:
        return consumer.committed(partition)
    finally:
        consumer.close()


def end_offset(stream: Stream, partition: TopicPartition) -> int:
    consumer = KafkaConsumer(bootstrap_servers=stream.bootstrap)
    try:
        return int(consumer.end_offsets([partition])[partition])
    finally:
        consumer.close()


def test_hostile_records_each_get_one_dead_letter_across_a_sigkill_and_the_partition_drains(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=1, batch_size=100)
    mapping = stream.settings_mapping()
    # A checkpoint after the warm-up and none again before the kill: the restart learns hostile ranges again.
    mapping["state"] = {"checkpoint_every_posts": 700, "checkpoint_every_seconds": 3_600.0}
    stream.config.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    records, offset_of, must_be_dead, hostile_at = build_corpus()
    assert len(hostile_at) >= 3 * len(hostile_records(0))  # every kind, several times
    stream.create_topics()
    first = len(records) * 2 // 3  # the rest is sent after the kill, so the kill lands mid-stream
    producer = threading.Thread(target=stream.produce, args=(records[:first],), kwargs={"rate": 400.0})
    producer.start()

    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    dead = CommittedReader(stream.bootstrap, stream.topic("deadletter"))
    crashy = WorkerProcess(stream.config, "hostile")
    workers.append(crashy)
    assert crashy.wait_for_log("partitions assigned", timeout=90), crashy.log_tail()
    labels.read_until(800, timeout=120)
    assert crashy.alive(), crashy.log_tail()
    crashy.kill()
    labelled_at_kill = len(labels.records)
    producer.join(timeout=120)
    stream.produce(records[first:])

    final = WorkerProcess(stream.config, "hostile")
    workers.append(final)
    partition = TopicPartition(stream.topic("input"), 0)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and committed_offset(stream, partition) != len(records):
        assert final.alive(), final.log_tail()
        time.sleep(1.0)
    labels.read_for(3.0)  # a duplicate committed late would show up here
    dead.read_for(3.0)
    assert final.terminate() == 0, final.log_tail()

    assert 0 < labelled_at_kill < GOOD
    assert committed_offset(stream, partition) == end_offset(stream, partition) == len(records)  # lag zero
    outcomes: dict[int, list[str]] = {}
    for record in labels.records:
        outcomes.setdefault(label_offset(record.key.decode(), offset_of, hostile_at), []).append("label")
    letters: dict[int, dict[str, Any]] = {}
    for record in dead.records:
        letter = json.loads(record.value)
        assert (letter["topic"], letter["partition"]) == (stream.topic("input"), 0)
        outcomes.setdefault(letter["offset"], []).append(f"dead:{letter['reason']}")
        letters[letter["offset"]] = letter
        assert len(record.value) < 100_000
    doubled = {offset: seen for offset, seen in outcomes.items() if len(seen) != 1}
    assert not doubled, f"offsets with more than one outcome: {list(doubled.items())[:5]}"
    assert set(outcomes) == set(range(len(records))), (
        f"no outcome for {sorted(set(range(len(records))) - set(outcomes))[:10]}"
    )
    assert all(outcomes[offset][0].startswith("dead:") for offset in must_be_dead)
    for offset in must_be_dead:
        raw = records[offset][1] or b""
        letter = letters[offset]
        assert letter["value_bytes"] == len(raw) and letter["value_sha256"] == hashlib.sha256(raw).hexdigest()
        assert letter["truncated"] == (len(raw) > 65_536)
    big = [letters[offset] for offset in must_be_dead if letters[offset]["value_bytes"] > BIG_TEXT_BYTES]
    assert big and all(letter["reason"] == "text_too_large" for letter in big)
    good_labels = sum(1 for offset in offset_of.values() if outcomes[offset] == ["label"])
    assert good_labels >= GOOD
    labels.close()
    dead.close()


def label_offset(post_id: str, offset_of: dict[str, int], hostile_at: dict[int, int]) -> int:
    """The input offset a label belongs to: a good post's id, or a hostile record's ``h<number>-`` prefix (its
    id may have been cleaned of what made it hostile)."""
    if post_id in offset_of:
        return offset_of[post_id]
    match = re.match(r"h(\d+)-", post_id)
    assert match, f"a label for a post id the test never sent: {post_id[:80]!r}"
    return hostile_at[int(match.group(1))]
