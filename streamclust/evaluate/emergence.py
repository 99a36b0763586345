"""How quickly new topics are found: detection delay per true class, detected share, spurious clusters.

A created cluster *matches* a class when that class holds at least half of the cluster's members. Members are
the posts listed in the ``created`` event (the outliers it was born from); when an event lists none, the posts
labelled with that cluster over the whole stream (after events) stand in.

- A class is *detected* once a cluster matching it is created; its *detection delay* is the number of its
  posts the engine had been given by then (counted at the end of the batch that returned the event).
- A created cluster matching no class is *spurious*. A cluster matching a class that an earlier cluster
  already matched is a *duplicate*: not spurious, but reported.

The same figures are also given for the classes whose first post came after the engine's warm-up, the ones it
had to discover as new topics (classes seen during warm-up are found when the first model is built).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MATCH_SHARE = 0.5


@dataclass(frozen=True)
class CreatedCluster:
    """A ``created`` event seen by the harness: which cluster, after how many posts, born from which rows."""

    cluster_id: int
    posts_fed: int  # posts given to the engine when the event was returned
    member_rows: np.ndarray  # stream rows of its member posts


@dataclass(frozen=True)
class Emergence:
    n_classes: int
    n_created: int
    detected_share: float
    median_delay: float | None  # over detected classes
    mean_delay: float | None
    spurious_share: float  # of created clusters; 0 when none was created
    duplicate_share: float
    delays: dict[int, int] = field(default_factory=dict)  # class -> posts of it seen before detection
    late_classes: int = 0  # classes whose first post came after warm-up
    late_detected_share: float = 0.0
    late_median_delay: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "n_classes": self.n_classes,
            "n_created": self.n_created,
            "detected_share": self.detected_share,
            "median_delay": self.median_delay,
            "mean_delay": self.mean_delay,
            "spurious_share": self.spurious_share,
            "duplicate_share": self.duplicate_share,
            "late_classes": self.late_classes,
            "late_detected_share": self.late_detected_share,
            "late_median_delay": self.late_median_delay,
            "delays": {str(label): delay for label, delay in self.delays.items()},
        }


def matched_class(true: np.ndarray, member_rows: np.ndarray) -> int | None:
    """The class holding at least MATCH_SHARE of the members, if any."""
    if len(member_rows) == 0:
        return None
    classes, counts = np.unique(true[member_rows], return_counts=True)
    best = int(np.argmax(counts))
    return int(classes[best]) if counts[best] >= MATCH_SHARE * len(member_rows) else None


def measure_emergence(
    true: np.ndarray,
    created: Sequence[CreatedCluster],
    final_labels: np.ndarray | None = None,
    warmup_posts: int = 0,
) -> Emergence:
    """Detection delays and spurious clusters for a stream whose true classes are ``true`` (stream order);
    classes first seen at or after position ``warmup_posts`` are also reported on their own."""
    delays: dict[int, int] = {}
    spurious = duplicates = 0
    for cluster in sorted(created, key=lambda cluster: cluster.posts_fed):
        members = cluster.member_rows
        if len(members) == 0 and final_labels is not None:
            members = np.flatnonzero(final_labels == cluster.cluster_id)
        label = matched_class(true, members)
        if label is None:
            spurious += 1
        elif label in delays:
            duplicates += 1
        else:
            delays[label] = int(np.count_nonzero(true[: cluster.posts_fed] == label))
    classes, first_seen = np.unique(true, return_index=True)
    late = classes[first_seen >= warmup_posts].tolist()
    late_delays = np.array([delays[label] for label in late if label in delays], dtype=np.float64)
    n_classes = len(classes)
    n_created = len(created)
    values = np.array(list(delays.values()), dtype=np.float64)
    return Emergence(
        n_classes=n_classes,
        n_created=n_created,
        detected_share=len(delays) / n_classes if n_classes else 0.0,
        median_delay=float(np.median(values)) if len(values) else None,
        mean_delay=float(values.mean()) if len(values) else None,
        spurious_share=spurious / n_created if n_created else 0.0,
        duplicate_share=duplicates / n_created if n_created else 0.0,
        delays=dict(sorted(delays.items())),
        late_classes=len(late),
        late_detected_share=len(late_delays) / len(late) if late else 0.0,
        late_median_delay=float(np.median(late_delays)) if len(late_delays) else None,
    )
