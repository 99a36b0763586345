"""``streamclust run --bootstrap HOST:PORT`` points the worker at a broker, like every command that connects,
without a copy of the preset; the rest of the settings still come from --config and the environment."""

from __future__ import annotations

import io
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

import streamclust.io.kafka
from streamclust.cli import main
from streamclust.obs.logs import JsonFormatter, PlainFormatter
from streamclust.obs.progress_log import ProgressLog

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")


class RecordingWorker:
    """Stands in for the Kafka worker: keeps the settings it was built with and returns at once."""

    built: ClassVar[list[Any]] = []
    instances: ClassVar[list[RecordingWorker]] = []

    def __init__(self, settings: Any, engine: Any, **options: Any) -> None:
        self.built.append(settings)
        self.instances.append(self)
        self.engine = engine
        self.observers = list(options.get("observers", []))

    def stop(self) -> None:
        pass

    def run(self, max_seconds: float | None = None) -> None:
        pass


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> type[RecordingWorker]:
    RecordingWorker.built = []
    RecordingWorker.instances = []
    monkeypatch.setattr(streamclust.io.kafka, "KafkaWorker", RecordingWorker)
    monkeypatch.setattr(signal, "signal", lambda signum, handler: None)  # keep pytest's own Ctrl-C handler
    monkeypatch.setenv("STREAMCLUST_HTTP__ENABLED", "false")
    return RecordingWorker


def test_bootstrap_overrides_the_preset_and_keeps_the_rest(
    worker: type[RecordingWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMCLUST_KAFKA__INPUT_TOPIC", "tickets")

    code = main(["run", "--config", PRESET, "--bootstrap", "broker-1:9093", "--engine", "first-word"])

    assert code == 0
    (settings,) = worker.built
    assert settings.kafka.bootstrap_servers == "broker-1:9093"
    assert settings.kafka.input_topic == "tickets"
    assert settings.kafka.group_id == "streamclust"


def test_without_bootstrap_the_preset_decides(worker: type[RecordingWorker]) -> None:
    assert main(["run", "--config", PRESET, "--engine", "first-word"]) == 0
    assert worker.built[0].kafka.bootstrap_servers == "127.0.0.1:9092"


def streamclust_formatter() -> logging.Formatter | None:
    return logging.getLogger("streamclust").handlers[0].formatter


def test_logs_are_json_when_stderr_is_not_a_terminal_and_plain_when_asked(
    worker: type[RecordingWorker], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # no terminal, also under `pytest -s`
    assert main(["run", "--config", PRESET, "--engine", "first-word"]) == 0
    assert isinstance(streamclust_formatter(), JsonFormatter)

    assert main(["run", "--config", PRESET, "--engine", "first-word", "--log-format", "plain"]) == 0
    assert isinstance(streamclust_formatter(), PlainFormatter)


def test_a_worker_run_says_what_it_does_in_its_log(worker: type[RecordingWorker]) -> None:
    assert main(["run", "--config", PRESET, "--engine", "first-word"]) == 0

    assert worker.built[0].logging.level == "INFO"
    assert any(isinstance(observer, ProgressLog) for observer in worker.instances[-1].observers)


def test_timeline_records_the_run_for_streamclust_report(
    worker: type[RecordingWorker], tmp_path: Path
) -> None:
    timeline = tmp_path / "run" / "timeline.jsonl"

    assert main(["run", "--config", PRESET, "--engine", "first-word", "--timeline", str(timeline)]) == 0

    run_line, catalog_line = (json.loads(line) for line in timeline.read_text().splitlines())
    assert run_line["type"] == "run" and run_line["command"] == "run"
    assert run_line["input_topic"] == "posts"
    assert "instance_id" not in run_line  # none given: the report would show "instance_id: None"
    assert catalog_line["type"] == "catalog"


@pytest.mark.parametrize("command", ["run", "produce", "tail", "inspect", "replay", "demo"])
def test_every_command_that_connects_to_kafka_takes_bootstrap(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])

    assert "--bootstrap" in capsys.readouterr().out
