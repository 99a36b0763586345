"""Scores on hand-made labellings, and labels after cluster events."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.evaluate.scores import apply_events, purity, score_labels
from streamclust.schema import ClusterEvent, EventKind

TRUE = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2])


def test_a_perfect_labelling_scores_one_everywhere() -> None:
    scores = score_labels(TRUE, TRUE + 10)

    assert scores.nmi == pytest.approx(1.0)
    assert scores.ari == pytest.approx(1.0)
    assert scores.homogeneity == pytest.approx(1.0) and scores.completeness == pytest.approx(1.0)
    assert scores.purity == 1.0
    assert scores.n_clusters == 3
    assert scores.outlier_share == 0.0


def test_renaming_the_clusters_changes_nothing() -> None:
    predicted = np.array([5, 5, 7, 7, 7, 9, 9, 9, 9, 5])
    renamed = np.array([1, 1, 0, 0, 0, 4, 4, 4, 4, 1])

    assert score_labels(TRUE, predicted) == score_labels(TRUE, renamed)


def test_all_outliers_are_one_cluster_that_explains_nothing() -> None:
    scores = score_labels(TRUE, np.full(len(TRUE), -1))

    assert scores.nmi == pytest.approx(0.0)
    assert scores.ari == pytest.approx(0.0)
    assert scores.n_clusters == 0
    assert scores.outlier_share == 1.0
    assert scores.purity == pytest.approx(4 / 10)  # the biggest class, 2, in the one "cluster"


def test_outliers_count_as_a_cluster_of_their_own() -> None:
    predicted = np.array([0, 0, -1, 1, 1, -1, 2, 2, 2, 2])

    scores = score_labels(TRUE, predicted)

    assert scores.n_clusters == 3
    assert scores.outlier_share == pytest.approx(0.2)
    assert scores.purity == pytest.approx(9 / 10)  # the two outliers are of different classes
    assert scores.nmi < 1.0


def test_purity_of_one_cluster_mixing_two_classes() -> None:
    assert purity(np.array([0, 0, 1, 1]), np.array([3, 3, 3, 4])) == pytest.approx(3 / 4)


def event(
    kind: EventKind, cluster_id: int, members: list[str] | None = None, into: int | None = None
) -> ClusterEvent:
    return ClusterEvent(
        kind=kind, cluster_id=cluster_id, size=1.0, member_post_ids=members or [], merged_into=into, at=0.0
    )


def test_created_events_label_their_members_and_merges_follow_chains() -> None:
    post_ids = ["a", "b", "c", "d", "e"]
    online = np.array([-1, -1, 3, 4, -1])
    events = [
        event(EventKind.CREATED, 5, ["a", "b", "not-in-this-stream"]),
        event(EventKind.MERGED, 4, into=3),
        event(EventKind.MERGED, 3, into=6),
        event(EventKind.UPDATED, 5),
    ]

    after = apply_events(post_ids, online, events)

    assert after.tolist() == [5, 5, 6, 6, -1]
    assert online.tolist() == [-1, -1, 3, 4, -1]  # the online labels are left as they were


def test_a_later_created_event_wins_for_a_post_listed_twice() -> None:
    events = [event(EventKind.CREATED, 1, ["a"]), event(EventKind.CREATED, 2, ["a", "b"])]

    assert apply_events(["a", "b"], np.array([-1, -1]), events).tolist() == [2, 2]
