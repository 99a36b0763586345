"""``streamclust inspect --state-dir``: the clusters a file-mode run's checkpoints hold, and one cluster's recent
posts from the run's labels and posts files."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from streamclust.cli import main

BANKING77 = Path(__file__).resolve().parents[2] / "examples" / "data" / "banking77.jsonl.gz"
CONFIG = """
seed: 3
featurize: {kind: hashing, n_features: 4096}
encoder: {warmup_posts: 200, hidden_dim: 32, latent_dim: 16, epochs: 3, retrain_every_posts: 0, background: false}
state: {checkpoint_every_posts: 400, keep: 3}
"""


@pytest.mark.timeout(300, func_only=True)
def test_inspect_reads_the_clusters_of_a_state_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, posts, labels, state = (
        tmp_path / name for name in ("c.yaml", "posts.jsonl", "labels.jsonl", "state")
    )
    config.write_text(CONFIG)
    with gzip.open(BANKING77, "rt", encoding="utf-8") as lines:
        posts.write_text("".join(itertools.islice(lines, 0, None, 10)))
    run = ["cluster", str(posts), "--config", str(config), "--labels", str(labels), "--state-dir", str(state)]
    assert main([*run, "--quiet"]) == 0
    capsys.readouterr()

    assert (
        main(["inspect", "--state-dir", str(state), "--config", str(config), "--all", "--top", "1000"]) == 0
    )

    listing = capsys.readouterr().out
    listed = {int(number) for number in re.findall(r"│\s*(\d+)\s*│", listing)}
    given = Counter(json.loads(line)["cluster_id"] for line in labels.read_text().splitlines())
    assert set(given) - {-1} <= listed

    largest = max(set(given) - {-1}, key=given.__getitem__)
    command = ["inspect", "--state-dir", str(state), "--config", str(config), "--cluster", str(largest)]
    assert main([*command, "--labels", str(labels), "--posts", str(posts), "--examples", "3"]) == 0

    detail = capsys.readouterr().out
    assert f"cluster {largest}" in detail and "size history" in detail
    rows = [json.loads(line) for line in labels.read_text().splitlines()]
    last_three = [row["post_id"] for row in rows if row["cluster_id"] == largest][-3:]
    texts = {json.loads(line)["id"]: json.loads(line)["text"] for line in posts.read_text().splitlines()}
    for post_id in last_three:
        assert post_id in detail and texts[post_id].split()[0] in detail


def test_inspect_says_what_to_pass_when_the_directory_has_no_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--state-dir", str(tmp_path)]) == 2
    assert "no checkpoint in" in capsys.readouterr().err
