"""``streamclust bench checkpoint`` prints what a checkpoint costs and writes the numbers to its JSON file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from streamclust.cli import main

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(300, func_only=True)]


def test_bench_checkpoint_writes_sizes_and_times_against_a_batch(
    kafka_broker: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench-checkpoint.json"
    arguments = ["bench", "checkpoint", "--bootstrap", kafka_broker.bootstrap, "--featurizer", "hashing"]
    assert main([*arguments, "--posts", "2500", "--runs", "2", "--out", str(out)]) == 0

    assert "a checkpoint costs" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["featurizer"] == "hashing" and len(result["runs"]) == 2
    for run in result["runs"]:
        assert run["bytes"] > 100_000 and run["records"] >= 1
        parts = run["capture_seconds"] + run["encode_seconds"] + run["send_seconds"]
        assert run["total_seconds"] == pytest.approx(parts)
    assert result["median_batch_seconds"] > 0
    assert result["checkpoint_in_batches"] == pytest.approx(
        result["median"]["total_seconds"] / result["median_batch_seconds"]
    )
