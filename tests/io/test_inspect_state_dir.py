"""``streamclust inspect --state-dir``: the clusters a file-mode run's checkpoints hold, and one cluster's recent
posts from the run's labels and posts files."""

from __future__ import annotations

import gzip
import itertools
import json
import re
from collections import Counter
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FileRun:
    config: Path
    posts: Path
    labels: Path
    state: Path


@pytest.fixture(scope="module")
def file_run(tmp_path_factory: pytest.TempPathFactory) -> FileRun:
    """A file-mode run of a tenth of Banking77 with a state directory (three checkpoints kept)."""
    folder = tmp_path_factory.mktemp("inspect")
    run = FileRun(*(folder / name for name in ("c.yaml", "posts.jsonl", "labels.jsonl", "state")))
    run.config.write_text(CONFIG)
    with gzip.open(BANKING77, "rt", encoding="utf-8") as lines:
        run.posts.write_text("".join(itertools.islice(lines, 0, None, 10)))
    command = ["cluster", str(run.posts), "--config", str(run.config), "--labels", str(run.labels)]
    assert main([*command, "--state-dir", str(run.state), "--quiet"]) == 0
    return run


@pytest.mark.timeout(300, func_only=True)
def test_inspect_reads_the_clusters_of_a_state_directory(
    file_run: FileRun, capsys: pytest.CaptureFixture[str]
) -> None:
    config, posts, labels, state = file_run.config, file_run.posts, file_run.labels, file_run.state
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


@pytest.mark.timeout(300, func_only=True)
def test_inspect_without_the_runs_config_names_the_settings_that_differ(
    file_run: FileRun, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    assert main(["inspect", "--state-dir", str(file_run.state)]) == 2

    message = capsys.readouterr().err
    assert "can be read with these settings; pass the --config of the run that wrote them" in message
    assert message.count("featurize.kind: checkpoint 'hashing', settings 'static'") == 3, "each checkpoint"
    assert message.count("featurize.n_features:") == 3, "one line per setting"
    assert "unreadable" not in message


def test_inspect_says_what_to_pass_when_the_directory_has_no_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", "--state-dir", str(tmp_path)]) == 2
    assert "no checkpoint in" in capsys.readouterr().err
