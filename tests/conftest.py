"""Session-wide fixtures. ``kafka_broker`` is a real Apache Kafka broker (``deploy/kafka/local-broker``),
started once per test session on free 127.0.0.1 ports; the first run fetches its jars from Maven Central."""

from __future__ import annotations

import logging
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BROKER_SCRIPT = REPO / "deploy" / "kafka" / "local-broker"


@dataclass(frozen=True)
class LocalBroker:
    port: int
    controller_port: int
    run_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self, action: str) -> list[str]:
        return [str(BROKER_SCRIPT), action, "--port", str(self.port), "--run-dir", str(self.run_dir)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A running single-node Kafka 4 broker; ``.bootstrap`` is its ``host:port``."""
    broker = LocalBroker(free_port(), free_port(), tmp_path_factory.mktemp("kafka-broker"))
    start = [*broker.command("start"), "--controller-port", str(broker.controller_port)]
    # The first start fetches about 45 MB of jars with Maven; later starts take a few seconds.
    outcome = subprocess.run(start, capture_output=True, text=True, timeout=900)
    if outcome.returncode != 0:
        subprocess.run(broker.command("stop"), capture_output=True, timeout=60)
        pytest.fail(f"the local Kafka broker did not start:\n{outcome.stderr}", pytrace=False)
    try:
        yield broker
    finally:
        subprocess.run(broker.command("stop"), capture_output=True, timeout=60)


@pytest.fixture(autouse=True)
def streamclust_logger_restored() -> Iterator[None]:
    """The commands set up the ``streamclust`` logger (a handler on the standard error of the moment, its level,
    no propagation); put it back after each test, so a later test does not log to a capture stream since closed."""
    logger = logging.getLogger("streamclust")
    handlers, level, propagate = logger.handlers[:], logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate
