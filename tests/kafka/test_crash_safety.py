"""SIGKILL the worker at random moments while posts flow: once it has caught up, every post has exactly one
committed label (the open transaction dies with the process, and its offsets with it)."""

from __future__ import annotations

import random

import pytest
from kafka_support import CommittedReader, Stream, WorkerProcess, post_values

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(600, func_only=True)]

POSTS = 20_000
KILLS = 6


def test_sigkill_at_random_points_loses_and_doubles_nothing(
    stream: Stream, workers: list[WorkerProcess]
) -> None:
    posts = post_values(POSTS, prefix="crash-")
    stream.create_topics()
    # The input arrives in pieces, one before each worker starts, and the last quarter only after the kills:
    # every kill lands before the input is through, however long the restarts take on a busy machine (each
    # restores the model and catches up first; a group join may wait 60 s).
    held_back = POSTS // 4
    pieces = [posts[:-held_back][start::KILLS] for start in range(KILLS)]

    rng = random.Random(20_000)
    labels = CommittedReader(stream.bootstrap, stream.topic("labels"))
    labelled_at_kill = []
    for kill, piece in enumerate(pieces):
        stream.produce(piece, rate=2_000.0)
        worker = WorkerProcess(stream.config, "crashy")
        workers.append(worker)
        # A random lifetime once the worker has its partitions: the kill lands in warm-up, a batch or a
        # commit. Every second worker first commits a label of its own, so some kills surely land after work
        # was committed. (Now and then a group join waits out the 60 s rebalance timeout; that worker is
        # killed too.)
        worker.wait_for_log("partitions assigned", timeout=60)
        if kill % 2:
            before = len(labels.records)
            labels.read_until(before + 1, timeout=180)
            assert len(labels.records) > before, worker.log_tail()
        labels.read_for(rng.uniform(0.5, 8.0))
        assert worker.alive(), worker.log_tail()
        worker.kill()
        labelled_at_kill.append(len(labels.records))
    stream.produce(posts[-held_back:])

    final = WorkerProcess(stream.config, "crashy")
    workers.append(final)
    labels.read_until(POSTS, timeout=240)
    labels.read_for(3.0)  # a duplicate committed late would show up here
    assert final.terminate() == 0, final.log_tail()

    counts = labels.keys()
    wanted = {key.decode() for key, _ in posts}
    missing = wanted - set(counts)
    doubled = {post_id: count for post_id, count in counts.items() if count > 1}
    assert not missing, f"{len(missing)} posts without a label, e.g. {sorted(missing)[:5]}"
    assert not doubled, f"{len(doubled)} posts labelled more than once, e.g. {list(doubled.items())[:5]}"
    assert set(counts) == wanted
    # Kills landed mid-stream, after work had been committed and before the input was through.
    assert len({count for count in labelled_at_kill if 0 < count < POSTS}) >= 2, labelled_at_kill
    labels.close()
