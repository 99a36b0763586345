"""`streamclust bench state` prints the checkpoint's size and timings and writes them to a JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from state_support import banking_texts, small_settings

from streamclust.cli import main


def test_bench_state_measures_a_checkpoint_and_checks_it_restores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(small_settings().model_dump(mode="json", exclude_none=True)))
    data = tmp_path / "posts.jsonl"
    data.write_text("".join(json.dumps({"text": text}) + "\n" for text in banking_texts()[:1500]))
    out = tmp_path / "bench.json"

    code = main(
        ["bench", "state", "--config", str(config), "--data", str(data), "--runs", "2", "--json", str(out)]
    )

    assert code == 0
    summary = json.loads(out.read_text())
    assert summary["posts"] == 1500 and summary["probe_labels_equal_after_restore"] is True
    assert summary["checkpoint_bytes"] > sum(summary["bytes_by_part"].values()) * 0.9
    assert set(summary["median_seconds"]) >= {"capture", "encode", "decode", "restore_with_engine_build"}
    assert all(len(values) == 2 for values in summary["seconds"].values())
    assert "MiB" in capsys.readouterr().out
