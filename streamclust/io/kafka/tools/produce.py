"""Replay a file of posts into the input topic.

JSONL lines are sent as they are (bad lines too, so the dead-letter path can be demonstrated), CSV rows become
JSON objects. The key is the post's id when it has one. An input topic that does not exist yet stops the
replay at once with what to do (the worker creates it), instead of a minute's wait for its metadata.
"""

from __future__ import annotations

import csv
import difflib
import gzip
import io
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, cast

from streamclust.config import KafkaSettings
from streamclust.errors import InputError, KafkaSetupError
from streamclust.io.kafka.clients import connect_admin, connect_producer, connection_config
from streamclust.io.kafka.topics import worker_topics


def open_text(path: Path) -> IO[bytes]:
    if str(path) == "-":
        return sys.stdin.buffer
    try:
        raw = path.open("rb")
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    if path.name.endswith(".gz"):
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw))
    return raw


def read_records(path: Path, id_field: str = "id") -> Iterator[tuple[bytes | None, bytes]]:
    """(key, value) per post: JSONL lines as they are, CSV rows (with a header) as JSON objects."""
    is_csv = path.name.removesuffix(".gz").endswith(".csv")
    with open_text(path) as stream:
        if is_csv:
            for row in csv.DictReader(io.TextIOWrapper(stream, encoding="utf-8", newline="")):
                value = json.dumps(row).encode()
                key = row.get(id_field)
                yield (key.encode() if key else None), value
            return
        for line in stream:
            value = line.rstrip(b"\r\n")
            if value:
                yield key_of(value, id_field), value


def key_of(value: bytes, id_field: str) -> bytes | None:
    try:
        record = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return None
    post_id = record.get(id_field) if isinstance(record, dict) else None
    return str(post_id).encode() if isinstance(post_id, str | int) and post_id != "" else None


def produce_file(path: Path, kafka: KafkaSettings, rate: float = 0.0, limit: int | None = None) -> int:
    """Send the file's posts to ``kafka.input_topic`` at ``rate`` posts/s (0: flat out); returns how many."""
    return produce_records(read_records(path), kafka, rate=rate, limit=limit)


def produce_records(
    records: Iterable[tuple[bytes | None, bytes]],
    kafka: KafkaSettings,
    rate: float = 0.0,
    limit: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Send (key, value) records to ``kafka.input_topic`` at ``rate`` records/s (0: flat out) until
    ``limit`` or ``should_stop()``; returns how many were sent."""
    require_input_topic(kafka)
    producer = connect_producer(connection_config(kafka) | {"linger_ms": 5, "acks": "all"}, give_up_after=60)
    started = time.monotonic()
    sent = 0
    try:
        for key, value in records:
            if (limit is not None and sent >= limit) or should_stop():
                break
            if rate > 0:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            producer.send(kafka.input_topic, key=key, value=value)
            sent += 1
        producer.flush()
    finally:
        producer.close()
    return sent


def require_input_topic(kafka: KafkaSettings) -> None:
    """Raise KafkaSetupError, saying what to do, when ``kafka.input_topic`` does not exist on the broker."""
    admin = connect_admin(kafka, give_up_after=60)
    try:
        existing = sorted(admin.list_topics())
    finally:
        admin.close()
    topic = kafka.input_topic
    if topic in existing:
        return
    close = difflib.get_close_matches(topic, [name for name in existing if not name.startswith("__")], n=1)
    meant = f" Did you mean {close[0]!r}?" if close else ""
    create = worker_topics(kafka)[0].create_command(kafka.bootstrap_servers)
    raise KafkaSetupError(
        f"the input topic {topic!r} does not exist on {kafka.bootstrap_servers}.{meant} `streamclust run` with "
        "the same settings creates it (and its other topics) when it starts: start the worker first, then "
        f"produce. Or create it yourself: {create}"
    )
