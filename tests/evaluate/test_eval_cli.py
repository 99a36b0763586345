"""``streamclust eval`` end to end on a small JSONL file, with the real engine."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from streamclust.cli import main

TOPICS = [
    "my card was lost or stolen please block it",
    "i want a refund the money never came back",
    "what exchange rate and fee apply to euros",
]
SMALL_ENGINE = """
encoder:
  warmup_posts: 30
  epochs: 2
  background: false
featurize:
  kind: hashing
  n_features: 4096
"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "topics.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for i in range(120):
            label = i % len(TOPICS)
            words = TOPICS[label].split()
            text = " ".join(rng.choice(words, size=6).tolist())
            out.write(json.dumps({"id": f"post-{i}", "text": text, "label": f"topic-{label}"}) + "\n")
    return path


def test_eval_prints_a_table_and_writes_every_figure(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL_ENGINE)
    report = tmp_path / "out" / "eval.json"

    options = ["--order", "emerging", "--limit", "90", "--seed", "3", "--batch-size", "16"]
    options += ["--config", str(config), "--baselines", "kmeans", "--json", str(report)]

    code = main(["eval", str(dataset), *options])

    assert code == 0
    assert "streamclust" in capsys.readouterr().out
    written = json.loads(report.read_text())
    assert written["n_posts"] == 90 and written["n_classes"] == 3
    assert written["order"] == "emerging" and written["seed"] == 3
    assert written["unlabelled_posts"] == 0
    assert [result["name"] for result in written["results"]] == [
        "streamclust",
        "MiniBatchKMeans(k=3) online",
        "KMeans(k=3) offline",
    ]
    engine = written["results"][0]
    assert set(engine["online"]) == {
        "nmi",
        "ari",
        "homogeneity",
        "completeness",
        "purity",
        "n_clusters",
        "outlier_share",
    }
    assert engine["after_events"] is not None and engine["emergence"]["n_classes"] == 3
    assert engine["posts_per_second"] > 0
    assert written["settings"]["encoder"]["warmup_posts"] == 30


def test_eval_refuses_an_unknown_baseline(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(dataset), "--baselines", "hdbscan"]) == 2
    assert "unknown hdbscan" in capsys.readouterr().err


def test_eval_names_the_missing_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "banking77", "--data-dir", str(tmp_path)]) == 2
    assert "no file at" in capsys.readouterr().err
