"""``streamclust produce`` replays JSONL and CSV files into the input topic; ``streamclust tail`` prints
committed records."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pytest
from kafka_support import CommittedReader, Stream

from streamclust.cli import main

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120, func_only=True)]


def test_produce_sends_jsonl_and_csv_keyed_by_post_id(stream: Stream, tmp_path: Path) -> None:
    stream.create_topics()
    jsonl = tmp_path / "posts.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as out:
        out.write('{"id": "j1", "text": "my card was declined"}\n')
        out.write("not json at all\n")
        out.write('{"id": 7, "text": "how do I top up"}\n')
    csv_file = tmp_path / "posts.csv"
    csv_file.write_text('id,text\nc1,"exchange rate, please"\n', encoding="utf-8")

    assert main(["produce", str(jsonl), "--config", str(stream.config), "--rate", "100"]) == 0
    assert main(["produce", str(csv_file), "--config", str(stream.config)]) == 0

    reader = CommittedReader(stream.bootstrap, stream.topic("input"))
    records = reader.read_until(4, timeout=20)
    reader.close()
    by_value = {record.value: record.key for record in records}
    assert by_value == {
        b'{"id": "j1", "text": "my card was declined"}': b"j1",
        b"not json at all": None,
        b'{"id": 7, "text": "how do I top up"}': b"7",
        json.dumps({"id": "c1", "text": "exchange rate, please"}).encode(): b"c1",
    }


def test_produce_before_the_first_run_says_the_input_topic_is_missing_and_that_run_creates_it(
    stream: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "j1", "text": "my card was declined"}\n', encoding="utf-8")

    started = time.monotonic()
    code = main(["produce", str(posts), "--config", str(stream.config)])

    assert code == 2 and time.monotonic() - started < 30, "at once, not after a minute's wait for metadata"
    message = capsys.readouterr().err
    assert f"the input topic {stream.topic('input')!r} does not exist on {stream.bootstrap}" in message
    assert "`streamclust run` with the same settings creates it" in message
    assert f"--create --topic {stream.topic('input')} --partitions 3" in message


def test_tail_prints_records_and_stops(stream: Stream, capsys: pytest.CaptureFixture[str]) -> None:
    stream.create_topics()
    stream.produce([(b"a", b'{"id": "a", "text": "lost card"}'), (b"b", b'{"id": "b", "text": "fees"}')])
    code = main(["tail", "--config", str(stream.config), "--topic", "input", "--max", "5", "--timeout", "3"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert all(stream.topic("input") in line for line in lines)
    assert '"lost card"' in "\n".join(lines)
