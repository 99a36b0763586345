"""Fixtures for the Kafka tests: a fresh stream (topics, group, config) per test, and worker processes
that are killed at the end whatever happens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka_support import Stream, WorkerProcess


@pytest.fixture
def stream(kafka_broker: Any, tmp_path: Path) -> Stream:
    return Stream(kafka_broker.bootstrap, tmp_path)


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    """Worker processes started by a test; any still running at the end are killed."""
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.alive():
            worker.process.kill()
            worker.process.wait(timeout=10)
