"""``streamclust broker start|status|stop`` runs the local Apache Kafka broker on the port given."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600, func_only=True)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def broker(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "streamclust", "broker", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=540)


def test_broker_starts_answers_and_stops() -> None:
    port, controller_port = str(free_port()), str(free_port())
    try:
        started = broker("start", "--port", port, "--controller-port", controller_port)
        assert started.returncode == 0, started.stderr
        status = broker("status", "--port", port)
        assert status.returncode == 0 and f"127.0.0.1:{port}" in status.stdout
    finally:
        stopped = broker("stop", "--port", port)
    assert stopped.returncode == 0 and "stopped" in stopped.stderr
    assert broker("status", "--port", port).returncode != 0
