"""The shape of a cluster: one broad topic, or several tight ones side by side.

Split a cluster's members (unit latents) in two, with spherical 2-means started from the halves on either side
of their principal axis, and take each member's cosine to its own half minus its cosine to the other half. The
mean of that gap is the split's margin: large when the members form two groups, small when they form one broad
mode. Divided by the members' spread (one minus their mean cosine to their mean) it compares clusters of any
breadth: the *split ratio*.

On the shared streams the ratio tells two kinds of stream apart already at warm-up: the clusters of
StackOverflow (twenty broad tags, each with facets that cut across the others) have a median ratio of
0.25-0.28 in every order; those of Banking77 (tight intents side by side) 0.74-0.91, and of the news streams
0.56-0.67. It is biased upwards on few members (2-means fits noise), so a cluster is measured on at least 40.

>>> rng = np.random.default_rng(0)
>>> def unit_rows(rows): return rows / np.linalg.norm(rows, axis=1, keepdims=True)
>>> one_broad_topic = unit_rows(np.eye(64)[0] + 0.2 * rng.standard_normal((128, 64)))
>>> two_tight_topics = unit_rows(np.eye(64)[[1, 2]].repeat(64, axis=0) + 0.15 * rng.standard_normal((128, 64)))
>>> bool(split_ratio(one_broad_topic) < 0.35 < split_ratio(two_tight_topics))
True
"""

from __future__ import annotations

import numpy as np

POWER_STEPS = (
    10  # rounds of the power method that find the members' principal axis (roughly: 2-means refines)
)
ROUNDS = 3  # rounds of 2-means from the halves on either side of it


def split_ratio(latents: np.ndarray) -> float:
    """The split ratio of the members with these unit ``latents`` (NaN for fewer than two). Deterministic."""
    points = np.asarray(latents, dtype=np.float64)
    if len(points) < 2:
        return float("nan")
    mean = points.mean(axis=0)
    tightness = float(np.mean(points @ unit(mean)))
    centred = points - mean
    axis = centred[np.argmax(np.einsum("nd,nd->n", centred, centred))]
    for _ in range(POWER_STEPS):
        axis = unit(centred.T @ (centred @ axis))
    in_second = centred @ axis > 0
    near = np.zeros((len(points), 2))
    for _ in range(ROUNDS + 1):
        halves = np.stack([~in_second, in_second]).astype(np.float64)
        if halves.sum(axis=1).min() == 0:
            return 0.0
        centres = halves @ points
        near = points @ (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T
        in_second = near[:, 1] > near[:, 0]
    margin = float(np.mean(np.abs(near[:, 0] - near[:, 1])))
    return margin / max(1.0 - tightness, 1e-9)


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)
