"""``streamclust run --bootstrap HOST:PORT`` points the worker at a broker, like produce, tail, inspect and demo,
without a copy of the preset; the rest of the settings still come from --config and the environment."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import streamclust.io.kafka
from streamclust.cli import main

PRESET = str(Path(__file__).resolve().parents[1] / "configs" / "default.yaml")


class RecordingWorker:
    """Stands in for the Kafka worker: keeps the settings it was built with and returns at once."""

    built: ClassVar[list[Any]] = []

    def __init__(self, settings: Any, engine: Any, **options: Any) -> None:
        self.built.append(settings)

    def stop(self) -> None:
        pass

    def run(self, max_seconds: float | None = None) -> None:
        pass


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> type[RecordingWorker]:
    RecordingWorker.built = []
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
