"""``streamclust inspect`` lists the clusters of the catalog topic and shows one cluster's recent posts."""

from __future__ import annotations

import json
import re

import pytest
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

from streamclust.cli import main
from streamclust.testing import FirstWordEngine

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180, func_only=True)]


def test_inspect_lists_the_catalog_and_one_cluster_with_its_recent_posts(
    stream: Stream, workers: list[WorkerProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    stream.create_topics()
    posts = post_values(400, prefix="i")
    stream.produce(posts)
    worker = WorkerProcess(stream.config, "inspect", "--engine", "first-word", "--idle-flush-seconds", "1")
    workers.append(worker)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    assert len(labels.read_until(len(posts), timeout=90)) == len(posts), worker.log_tail()
    labels.close()
    assert worker.terminate() == 0  # a clean stop sends the last catalog update

    assert main(["inspect", "--config", str(stream.config)]) == 0
    listing = capsys.readouterr().out
    assert "5 active clusters of 5" in listing
    listed = {int(number) for number in re.findall(r"│\s*(\d+)\s*│\s*active", listing)}
    assert listed == {0, 1, 2, 3, 4}, listing

    assert main(["inspect", "--config", str(stream.config), "--cluster", "3", "--examples", "4"]) == 0
    detail = capsys.readouterr().out
    assert "cluster 3" in detail and "recent posts (4)" in detail
    texts = {json.loads(value)["id"]: json.loads(value)["text"] for _, value in posts}
    shown_ids = [post_id for post_id in texts if f" {post_id} " in detail]
    assert len(shown_ids) == 4, detail
    first_word = FirstWordEngine(n_clusters=5)  # the worker's test double: cluster = first word's hash
    assert all(first_word.cluster_of(texts[post_id]) == 3 for post_id in shown_ids), detail
    assert all(texts[post_id].split()[0] in detail for post_id in shown_ids), detail

    assert main(["inspect", "--config", str(stream.config), "--cluster", "99"]) == 1
    assert "cluster 99 is not in" in capsys.readouterr().err
