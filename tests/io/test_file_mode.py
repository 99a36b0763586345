"""`streamclust cluster`: a file in, one label per good line out, bad lines in the rejects file with a reason."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from streamclust.cli import main

TOPICS = {
    "cards": "card declined payment visa mastercard terminal chip pin contactless blocked".split(),
    "travel": "flight airport luggage boarding gate delayed passport airline ticket hotel".split(),
    "garden": "tomato soil seeds compost watering weeds roses pruning shovel greenhouse".split(),
}
CONFIG = """
featurize: {kind: hashing, n_features: 4096, ngram_max: 1}
encoder: {warmup_posts: 120, hidden_dim: 32, latent_dim: 16, epochs: 30, batch_size: 32,
          reservoir_size: 300, retrain_every_posts: 0, drift_detector: "off", background: false}
"""
BAD_LINES = [
    (b"this is not json", "not_json"),
    (b'{"id": "e1", "text": "   "}', "empty_text"),
    (b'{"id": "e2"}', "missing_text"),
    (b'{"id": "e3", "text": 42}', "wrong_type"),
    (b'{"id": "e4", "text": "caf\xe9"}', "not_utf8"),
    (b'{"id": "e5", "text": "' + b"x" * 600 + b'"}', "text_too_large"),
]


def synthetic_posts(count: int) -> list[dict[str, str]]:
    rng = np.random.default_rng(0)
    names = list(TOPICS)
    posts = []
    for i in range(count):
        topic = names[i % len(names)]
        posts.append({"id": f"{topic}-{i}", "text": " ".join(rng.choice(TOPICS[topic], 6, replace=False))})
    return posts


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG + "input: {max_text_chars: 500}\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_gzipped_jsonl_with_bad_lines(tmp_path: Path, config: Path) -> None:
    posts = synthetic_posts(300)
    lines = [json.dumps(post).encode() for post in posts[:150]]
    lines += [raw for raw, _ in BAD_LINES] + [json.dumps(post).encode() for post in posts[150:]]
    source = tmp_path / "posts.jsonl.gz"
    source.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    labels, events, rejects = tmp_path / "labels.jsonl", tmp_path / "events.jsonl", tmp_path / "rejects.jsonl"

    code = main(
        [
            "cluster",
            str(source),
            "--config",
            str(config),
            "--labels",
            str(labels),
            "--events",
            str(events),
            "--rejects",
            str(rejects),
            "--quiet",
        ]
    )

    assert code == 0
    labelled = read_jsonl(labels)
    assert [row["post_id"] for row in labelled] == [post["id"] for post in posts]
    clustered = [row for row in labelled if row["cluster_id"] != -1]
    assert len(clustered) >= 0.8 * len(posts)
    topic_of_cluster: dict[object, set[str]] = {}
    for row in clustered:
        topic_of_cluster.setdefault(row["cluster_id"], set()).add(str(row["post_id"]).split("-")[0])
    assert all(len(topics) == 1 for topics in topic_of_cluster.values()), topic_of_cluster
    assert {event["kind"] for event in read_jsonl(events)} >= {"created"}
    rejected = read_jsonl(rejects)
    assert [row["reason"] for row in rejected] == [reason for _, reason in BAD_LINES]
    assert [row["line"] for row in rejected] == list(range(151, 151 + len(BAD_LINES)))


def test_csv_with_other_field_names(tmp_path: Path, config: Path) -> None:
    config.write_text(CONFIG + "input: {id_field: ticket, text_field: body}\n")
    source = tmp_path / "tickets.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "body", "queue"])
        for post in synthetic_posts(200):
            writer.writerow([post["id"], post["text"], "support"])
        writer.writerow(["no-text", "", "support"])
    labels = tmp_path / "labels.jsonl"

    code = main(["cluster", str(source), "--config", str(config), "--labels", str(labels), "--quiet"])

    assert code == 0
    assert len(read_jsonl(labels)) == 200
    rejected = read_jsonl(tmp_path / "labels.rejects.jsonl")
    assert [row["reason"] for row in rejected] == ["empty_text"]


def test_a_missing_input_file_says_what_to_pass(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["cluster", str(tmp_path / "nope.jsonl"), "--config", str(config), "--quiet"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_csv_piped_through_standard_input(tmp_path: Path, config: Path) -> None:
    rows = "id,text\n" + "".join(f"{post['id']},{post['text']}\n" for post in synthetic_posts(150))
    labels = tmp_path / "labels.jsonl"
    command = [sys.executable, "-m", "streamclust", "cluster", "-", "--format", "csv"]
    command += ["--config", str(config), "--labels", str(labels), "--quiet"]

    outcome = subprocess.run(command, input=rows, capture_output=True, text=True, timeout=300)

    assert outcome.returncode == 0, outcome.stderr
    assert [row["post_id"] for row in read_jsonl(labels)] == [post["id"] for post in synthetic_posts(150)]
