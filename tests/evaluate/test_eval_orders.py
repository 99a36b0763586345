"""Stream orders: each post exactly once; shuffled and emerging are seeded; emerging adds classes in turn."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.evaluate.orders import emerging_order, shuffled_order, stream_order

LABELS = np.repeat(np.arange(10), np.arange(10, 110, 10))  # 10 classes of 10..100 posts


def first_seen(stream_labels: np.ndarray) -> dict[int, int]:
    """Class -> position of its first post in the stream."""
    classes, positions = np.unique(stream_labels, return_index=True)
    return dict(zip(classes.tolist(), positions.tolist(), strict=True))


@pytest.mark.parametrize("order", ["as-is", "shuffled", "emerging"])
def test_every_post_appears_exactly_once(order: str) -> None:
    rows = stream_order(order, LABELS, seed=3)

    assert sorted(rows.tolist()) == list(range(len(LABELS)))


def test_as_is_keeps_the_file_order() -> None:
    assert stream_order("as-is", LABELS, seed=3).tolist() == list(range(len(LABELS)))


def test_shuffled_is_seeded() -> None:
    assert np.array_equal(shuffled_order(500, seed=1), shuffled_order(500, seed=1))
    assert not np.array_equal(shuffled_order(500, seed=1), shuffled_order(500, seed=2))


def test_emerging_is_seeded() -> None:
    assert np.array_equal(emerging_order(LABELS, seed=1), emerging_order(LABELS, seed=1))
    assert not np.array_equal(emerging_order(LABELS, seed=1), emerging_order(LABELS, seed=2))


def test_emerging_introduces_classes_one_at_a_time_at_evenly_spaced_positions() -> None:
    labels = np.repeat(np.arange(10), 50)  # 10 classes of 50 posts: one background class, 9 introduced later
    stream = labels[emerging_order(labels, seed=5, last_start=0.75)]
    spacing = 0.75 * len(stream) / 9

    starts = sorted(first_seen(stream).values())

    assert starts == [0] + [int(step * spacing) for step in range(1, 10)]
    # Only the background class flows before the first introduction.
    assert len(set(stream[: int(spacing)].tolist())) == 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_emerging_keeps_older_classes_flowing(seed: int) -> None:
    labels = np.repeat(np.arange(10), 50)
    stream = labels[emerging_order(labels, seed=seed)]
    n = len(stream)
    starts = first_seen(stream)
    early = [label for label, start in starts.items() if start < n // 2]

    assert np.isin(stream[3 * n // 4 :], early).mean() > 0.02  # classes of the first half still post late
    assert len(set(stream[int(0.9 * n) :].tolist())) >= 5  # half of the classes are in the last tenth


def test_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError, match="as-is, shuffled, emerging"):
        stream_order("backwards", LABELS, seed=0)
