"""The orders a labelled dataset is streamed in: as given, shuffled, and "emerging" (classes one by one).

Each function returns a permutation of row numbers: every post appears exactly once.
"""

from __future__ import annotations

import numpy as np

ORDERS = ("as-is", "shuffled", "emerging")


def as_is_order(n_posts: int) -> np.ndarray:
    return np.arange(n_posts)


def shuffled_order(n_posts: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).permutation(n_posts)


def emerging_order(
    labels: np.ndarray, seed: int, last_start: float = 0.75, background_share: float = 0.1
) -> np.ndarray:
    """Classes introduced one after another while the classes already introduced keep flowing.

    The classes are put in a seeded random order. The first ``background_share`` of them (at least one) are
    there from the start (their first posts open the stream); the others are introduced one at a time at
    evenly spaced positions, the last one at ``last_start`` of the stream. A class's first post is placed at
    its introduction; every other position takes a random remaining post of an introduced class, the class
    drawn with probability proportional to its remaining posts. So a new class comes in as a burst that fades
    while older classes keep flowing. (Introducing the classes one at a time from the very first post would
    use up the first class before the second arrives: hence the small background.)
    """
    rng = np.random.default_rng(seed)
    _, class_of_post = np.unique(labels, return_inverse=True)
    n_posts, n_classes = len(labels), int(class_of_post.max()) + 1 if len(labels) else 0
    n_background = min(n_classes, max(1, int(np.ceil(background_share * n_classes))))
    introduced = rng.permutation(n_classes)
    n_later = n_classes - n_background
    steps = np.arange(1, n_later + 1) * last_start * n_posts / max(n_later, 1)
    introduce_at = np.concatenate([np.zeros(n_background, dtype=np.int64), steps.astype(np.int64)])
    unused = [list(rng.permutation(np.flatnonzero(class_of_post == label))) for label in range(n_classes)]
    remaining = np.zeros(n_classes)
    stream = np.empty(n_posts, dtype=np.int64)
    next_class = 0
    for position in range(n_posts):  # at most one class is introduced per position, its first post there
        if next_class < n_classes and (introduce_at[next_class] <= position or remaining.sum() == 0):
            label = introduced[next_class]
            remaining[label] = len(unused[label])
            next_class += 1
        else:
            label = rng.choice(n_classes, p=remaining / remaining.sum())
        stream[position] = unused[label].pop()
        remaining[label] -= 1
    return stream


def stream_order(order: str, labels: np.ndarray, seed: int) -> np.ndarray:
    """The permutation for ``order`` (one of ORDERS)."""
    if order == "as-is":
        return as_is_order(len(labels))
    if order == "shuffled":
        return shuffled_order(len(labels), seed)
    if order == "emerging":
        return emerging_order(labels, seed)
    raise ValueError(f"unknown order {order!r}; use one of {', '.join(ORDERS)}")
