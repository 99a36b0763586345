"""``streamclust bench core`` runs end to end on a small stream and writes its figures (the numbers themselves are
measured on a quiet machine, see docs/performance.md; this only checks the command works)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamclust.cli import main

BANKING77 = Path(__file__).resolve().parents[1] / "examples" / "data" / "banking77.jsonl.gz"


@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_bench_core_writes_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "bench-core.json"
    args = ["bench", "core", "--data", str(BANKING77), "--posts", "1000", "--runs", "1"]
    args += ["--baseline-posts", "300", "--json", str(out)]

    assert main(args) == 0

    figures = json.loads(out.read_text())
    assert figures["runs"] == 1 and figures["posts_per_run"] == 1000
    assert figures["median_posts_per_second"] > 0 and figures["peak_rss_bytes"] > 0
    stages = {row["stage"]: row for row in figures["stages"]}
    assert (
        "featurize: tokenise + hash terms" in stages and "assign: nearest clusters (FAISS + blend)" in stages
    )
    assert "worker: label records to JSON" in stages
    assert all(row["calls"] > 0 and row["wall_seconds"] >= 0 for row in stages.values())
    assert sum(row["share"] for row in stages.values()) == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
@pytest.mark.timeout(600, func_only=True)
def test_bench_core_runs_a_preset_with_its_own_settings(tmp_path: Path) -> None:
    preset = tmp_path / "small.yaml"
    preset.write_text(
        "featurize:\n  kind: hashing\n  n_features: 4096\nencoder:\n  warmup_posts: 300\n  epochs: 2\n"
    )
    out = tmp_path / "bench-core.json"
    args = ["bench", "core", "--config", str(preset), "--data", str(BANKING77), "--posts", "1000"]
    args += [
        "--runs",
        "1",
        "--batch-size",
        "500",
        "--baseline-posts",
        "50",
        "--no-retrain",
        "--json",
        str(out),
    ]

    assert main(args) == 0

    figures = json.loads(out.read_text())
    assert figures["config"] == str(preset) and figures["featurizer"] == "hashing"
    assert figures["batch_size"] == 500 and figures["retraining"] is False
    assert figures["cpu_seconds"][0] > 0
