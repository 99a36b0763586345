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
