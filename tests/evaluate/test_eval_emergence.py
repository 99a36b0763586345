"""Detection delay, detected share and spurious clusters on a tiny hand-made stream."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.evaluate.emergence import CreatedCluster, matched_class, measure_emergence

#                 0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
STREAM = np.array([0, 0, 0, 1, 0, 1, 1, 2, 1, 2, 2, 0, 2, 2, 1, 2])


def created(cluster_id: int, posts_fed: int, members: list[int]) -> CreatedCluster:
    return CreatedCluster(cluster_id, posts_fed, np.array(members, dtype=np.int64))


def test_delay_counts_the_posts_of_a_class_given_before_its_cluster_was_born() -> None:
    clusters = [
        created(10, posts_fed=4, members=[0, 1, 2]),  # class 0; 3 of its posts were in the first 4
        created(11, posts_fed=8, members=[3, 5, 6, 7]),  # class 1 (3 of 4); 3 of its posts in the first 8
        created(12, posts_fed=12, members=[7, 9, 10, 11]),  # class 2 holds 3 of 4; 3 of its posts in first 12
    ]

    emergence = measure_emergence(STREAM, clusters)

    assert emergence.delays == {0: 3, 1: 3, 2: 3}
    assert emergence.detected_share == 1.0
    assert emergence.median_delay == 3.0
    assert emergence.spurious_share == 0.0


def test_mixed_clusters_are_spurious_repeats_are_duplicates_and_missed_classes_count() -> None:
    clusters = [
        created(20, posts_fed=16, members=[12, 13, 15]),  # class 2, found only at the end: delay 6
        created(21, posts_fed=10, members=[0, 3, 7, 4]),  # 0 holds exactly half: class 0, 4 posts in first 10
        created(22, posts_fed=12, members=[0, 3, 7]),  # a third each: matches no class
        created(23, posts_fed=14, members=[1, 2]),  # class 0 again: a duplicate
    ]

    emergence = measure_emergence(STREAM, clusters)

    assert emergence.delays == {0: 4, 2: 6}
    assert emergence.detected_share == pytest.approx(2 / 3)  # class 1 never got a cluster
    assert emergence.median_delay == pytest.approx(5.0)
    assert emergence.spurious_share == pytest.approx(1 / 4)
    assert emergence.duplicate_share == pytest.approx(1 / 4)
    assert emergence.n_created == 4


def test_a_created_event_without_members_is_judged_on_its_posts_over_the_stream() -> None:
    final_labels = np.where(STREAM == 1, 30, -1)

    emergence = measure_emergence(STREAM, [created(30, posts_fed=9, members=[])], final_labels)

    assert emergence.delays == {1: 4}


def test_nothing_created_detects_nothing() -> None:
    emergence = measure_emergence(STREAM, [])

    assert emergence.detected_share == 0.0
    assert emergence.median_delay is None
    assert emergence.spurious_share == 0.0


def test_matched_class_needs_at_least_half_of_the_members() -> None:
    assert matched_class(STREAM, np.array([3, 5, 0])) == 1
    assert matched_class(STREAM, np.array([3, 0, 7])) is None
    assert matched_class(STREAM, np.array([], dtype=np.int64)) is None


def test_classes_first_seen_after_warm_up_are_also_reported_on_their_own() -> None:
    clusters = [
        created(10, posts_fed=4, members=[0, 1, 2]),  # class 0, first seen at position 0
        created(12, posts_fed=16, members=[12, 13, 15]),  # class 2, first seen at position 7: delay 6
    ]

    emergence = measure_emergence(STREAM, clusters, warmup_posts=5)

    assert emergence.late_classes == 1  # class 0 starts at 0 and class 1 at 3, both within warm-up
    assert emergence.late_detected_share == 1.0
    assert emergence.late_median_delay == 6.0
    assert emergence.detected_share == pytest.approx(2 / 3)
