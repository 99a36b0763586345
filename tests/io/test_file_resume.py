"""`streamclust cluster --state-dir`: a run picks up the model where the last one left it, so a file clustered
in two halves gets the labels of one uninterrupted run."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streamclust.cli import main
from streamclust.config import load_settings
from streamclust.state.capture import restore
from streamclust.state.codec import decode_state
from streamclust.state.directory import StateDirectory

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
# Reproducible: retrains swap in at a fixed stream position and train in the foreground.
CONFIG = """
seed: 5
featurize: {kind: hashing, n_features: 4096}
encoder: {warmup_posts: 200, hidden_dim: 32, latent_dim: 16, epochs: 3, retrain_epochs: 1, batch_size: 64,
          reservoir_size: 500, retrain_every_posts: 600, swap_after_posts: 200, swap: at_position,
          background: false}
state: {checkpoint_every_posts: 300, keep: 2}
"""
HALF = 1024  # a multiple of the file reader's batch size, so both runs see the same batches


def banking_lines(count: int) -> list[str]:
    with gzip.open(DATA / "banking77.jsonl.gz", "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for _, line in zip(range(count), lines, strict=False)]
    return [json.dumps({"id": f"p{n}", "text": text}) for n, text in enumerate(texts)]


def cluster(source: Path, config: Path, labels: Path, *extra: str) -> int:
    return main(["cluster", str(source), "--config", str(config), "--labels", str(labels), "--quiet", *extra])


def label_rows(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return [{key: value for key, value in row.items() if key != "processed_at"} for row in rows]


def test_a_file_clustered_in_two_halves_gets_the_labels_of_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    lines = banking_lines(2 * HALF)
    whole, first, second = tmp_path / "whole.jsonl", tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    whole.write_text("\n".join(lines) + "\n")
    first.write_text("\n".join(lines[:HALF]) + "\n")
    second.write_text("\n".join(lines[HALF:]) + "\n")
    state_dir = tmp_path / "state"

    assert cluster(whole, config, tmp_path / "whole-labels.jsonl") == 0
    assert cluster(first, config, tmp_path / "first-labels.jsonl", "--state-dir", str(state_dir)) == 0
    assert "starting a new model" in capsys.readouterr().err
    assert len(list(state_dir.glob("checkpoint-*"))) == 2  # periodic ones and the final one, newest two kept
    assert cluster(second, config, tmp_path / "second-labels.jsonl", "--state-dir", str(state_dir)) == 0

    resumed = capsys.readouterr().err
    assert f"{HALF} posts learned from" in resumed and "model version" in resumed
    expected = label_rows(tmp_path / "whole-labels.jsonl")[HALF:]
    got = label_rows(tmp_path / "second-labels.jsonl")
    assert got == expected
    assert len({row["cluster_id"] for row in got}) > 5
    # the retrain that started just before the checkpoint was swapped in after the restart, as in one run
    assert "model version 1," in resumed and {row["model_version"] for row in got} == {2}


def test_a_checkpoint_written_with_other_settings_is_refused_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "posts.jsonl"
    source.write_text("\n".join(banking_lines(300)) + "\n")
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    state_dir = tmp_path / "state"
    assert cluster(source, config, tmp_path / "labels.jsonl", "--state-dir", str(state_dir)) == 0
    config.write_text(CONFIG.replace("latent_dim: 16", "latent_dim: 8"))
    capsys.readouterr()

    assert cluster(source, config, tmp_path / "labels.jsonl", "--state-dir", str(state_dir)) == 2
    message = capsys.readouterr().err
    assert "encoder.latent_dim: checkpoint 16, settings 8" in message and "fresh model" in message


def test_a_run_killed_while_checkpointing_leaves_only_whole_checkpoints(tmp_path: Path) -> None:
    """kill -9 lands while checkpoints are being written every few batches: every checkpoint file left behind
    reads back and restores, and a new run resumes from the newest one."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("checkpoint_every_posts: 300", "checkpoint_every_posts: 1"))
    source = tmp_path / "posts.jsonl"
    source.write_text("\n".join(banking_lines(13_000)) + "\n")
    state_dir = tmp_path / "state"
    command = [sys.executable, "-m", "streamclust", "cluster", str(source), "--config", str(config)]
    command += ["--state-dir", str(state_dir), "--quiet"]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while len(list(state_dir.glob("checkpoint-*"))) < 2 and time.monotonic() < deadline:
            assert worker.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        time.sleep(0.3)  # and somewhere in the middle of the next checkpoint's write
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    directory = StateDirectory(state_dir)
    checkpoints = directory.checkpoints()
    assert len(checkpoints) >= 2
    settings = load_settings(config)
    for path in checkpoints:
        restored = restore(decode_state(path.read_bytes()), settings)
        assert restored.is_warm and restored.position > 0
    latest = directory.load_latest()
    assert latest is not None and latest.position == max(
        decode_state(p.read_bytes()).position for p in checkpoints
    )
