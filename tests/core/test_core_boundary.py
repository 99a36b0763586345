"""The core imports no adapter: no Kafka client, no Prometheus, no HTTP server."""

from __future__ import annotations

import json
import subprocess
import sys

ADAPTER_MODULES = ["kafka", "prometheus_client", "http.server"]


def test_importing_the_engine_imports_no_kafka_prometheus_or_http() -> None:
    script = (
        "import json, sys\n"
        "import streamclust.engine, streamclust.featurize.hashing, streamclust.io.decode\n"
        f"print(json.dumps([name for name in {ADAPTER_MODULES!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(completed.stdout.strip().splitlines()[-1]) == []
