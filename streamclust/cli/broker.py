"""``streamclust broker start|stop|status``: the local Apache Kafka broker (``deploy/kafka/local-broker``)."""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "local-broker"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("start", "stop", "status", "fetch"))
    parser.add_argument("--port", type=int, default=9092)
    parser.add_argument("--controller-port", type=int, help="default: port + 1")


def run(args: argparse.Namespace) -> int:
    from streamclust.errors import KafkaSetupError

    if not SCRIPT.exists():
        raise KafkaSetupError(
            f"{SCRIPT} is missing: the broker script ships with the source tree, not the wheel"
        )
    command = [str(SCRIPT), args.action, "--port", str(args.port)]
    if args.controller_port is not None:
        command += ["--controller-port", str(args.controller_port)]
    return subprocess.call(command)
