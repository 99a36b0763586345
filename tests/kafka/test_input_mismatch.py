"""A topic whose records name the text `body` while the settings say `text`: after the first hundred records the
worker warns once with the fields it found and the setting to change, `/metrics` shows the mismatch, and the
worker goes on, every record in the dead-letter topic. Once records decode as posts again, the metric is 0."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest
import yaml
from kafka_support import CommittedReader, Stream, WorkerProcess

from streamclust.io.missing_field import SAMPLE_LINES

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(180, func_only=True)]

TICKETS = 150
MISMATCH = 'streamclust_input_mismatch{setting="input.text_field"}'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tickets(count: int) -> list[tuple[bytes | None, bytes]]:
    """Support tickets whose text is under ``body``."""
    return [
        (None, json.dumps({"id": f"t{n}", "body": "my card was declined", "queue": "cards"}).encode())
        for n in range(count)
    ]


def metric(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return None


def wait_for_metric(port: int, name: str, expected: float, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = metric(port, name)
        except OSError:
            seen = None  # the HTTP server is not up yet
        if seen == expected:
            break
        time.sleep(0.2)
    return seen


def test_records_without_the_text_field_warn_once_and_set_the_metric_and_the_worker_goes_on(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    stream = Stream(stream.bootstrap, stream.workdir, partitions=1)
    port = free_port()
    settings = stream.settings_mapping() | {"http": {"host": "127.0.0.1", "port": port}}
    stream.config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    stream.create_topics()
    stream.produce(tickets(TICKETS))

    worker = WorkerProcess(stream.config, "solo", "--engine", "first-word")
    workers.append(worker)

    assert worker.wait_for_log("the input does not match the settings", timeout=90), worker.log_tail()
    assert wait_for_metric(port, MISMATCH, 1.0, timeout=30) == 1.0, worker.log_tail()
    assert metric(port, 'streamclust_input_mismatch{setting="input.id_field"}') == 0.0
    dead = CommittedReader(stream.bootstrap, stream.topic("deadletter"))
    dead.read_until(TICKETS, timeout=30)
    assert len(dead.records) == TICKETS, "every record is a dead letter: none is lost"
    assert {json.loads(record.value)["reason"] for record in dead.records} == {"missing_text"}
    dead.close()
    assert worker.alive(), "the worker does not stop"

    log = worker.log_path.read_text(errors="replace")
    assert log.count("the input does not match the settings") == 1, "one warning, not one per record"
    assert f"the first {SAMPLE_LINES} records were rejected as missing_text" in log
    assert "The records have the fields: id, body, queue." in log
    assert "STREAMCLUST_INPUT__TEXT_FIELD=body" in log and "input: {text_field: body}" in log
    assert f"sending such records to the dead-letter topic {stream.topic('deadletter')!r}" in log

    stream.produce([(None, json.dumps({"id": "p1", "text": "my card was declined"}).encode())])

    assert wait_for_metric(port, MISMATCH, 0.0, timeout=30) == 0.0, worker.log_tail()
    assert worker.wait_for_log("records decode as posts again", timeout=10)
    assert worker.terminate() == 0
