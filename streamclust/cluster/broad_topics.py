"""Which clusters are one broad topic: the latest posts' latents and clusters in a ring, and the split ratio
(``cluster/shape.py``) of each big cluster, measured now and then on its latest members.

A cluster is measured once it has ``MIN_RECENT_MEMBERS`` posts in the ring, on its last ``MEMBERS_MEASURED``
of them; every ``MEASURE_EVERY`` posts, each cluster that qualifies for the first time is measured, and the
``REMEASURED_PER_PASS`` longest-measured ones again. A swap of the encoder empties the ring (its latents belong
to the old model); the ratios stay until the clusters are measured again.

Broad topics count only in a stream of broad topics: while the broad ones hold at least
``BROAD_STREAM_SHARE`` of the ring's posts in measured clusters. Among tight topics (Banking77's intents), a big
cluster that splits poorly in two is more likely a bin of many small topics, none of which 2-means can split
off, than one broad topic; preferring it would feed the bin (on shuffled Banking77, seed 2, it took one such
cluster to 1,600 posts of purity 0.08 and the stream's ARI from 0.29 to 0.20).

>>> broad = BroadTopics(dim=2, broad_ratio=0.35)
>>> broad.remember(np.tile([[1.0, 0.0]], (50, 1)), np.full(50, 7))
>>> broad.measure_if_due(position=50, live_ids=np.array([7]))
>>> broad.ratio_of(7), broad.is_broad(np.array([7, 8])).tolist()
(0.0, [True, False])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from streamclust.cluster.shape import split_ratio

RECENT_POSTS = 4_000  # posts kept in the ring (4 MB of float32 latents at 256 dimensions)
MEASURE_EVERY = 512  # posts between two passes (every 2,048: StackOverflow emerging NMI 0.686 -> 0.668)
MIN_RECENT_MEMBERS = 40  # a cluster is measured once it has this many posts in the ring
MEMBERS_MEASURED = 128  # ... on its latest this many
BROAD_STREAM_SHARE = 0.5  # broad topics count while they hold this share of the measured clusters' posts
REMEASURED_PER_PASS = 2  # measured clusters measured again in each pass, the longest-measured first


class BroadTopics:
    """The ring of recent posts and the split ratio of every measured cluster, by id."""

    def __init__(self, dim: int, broad_ratio: float, capacity: int = RECENT_POSTS) -> None:
        self.broad_ratio = broad_ratio
        self.latents = np.zeros(
            (capacity, dim), dtype=np.float32
        )  # float16 would cost more to write than all else
        self.cluster_ids = np.full(capacity, -1, dtype=np.int64)
        self.written = 0  # posts ever written to the ring
        self.last_pass = 0  # stream position of the last measuring pass
        self.ratios: dict[int, float] = {}
        self.measured_at: dict[int, int] = {}
        self.broad_share = 0.0  # of the ring's posts in measured clusters, the share in broad ones
        self.broad_ids = np.zeros(0, dtype=np.int64)  # measured clusters whose ratio is below broad_ratio

    def remember(self, latents: np.ndarray, cluster_ids: np.ndarray) -> None:
        """Write a batch's posts to the ring, oldest first."""
        capacity = len(self.cluster_ids)
        latents, cluster_ids = latents[-capacity:], cluster_ids[-capacity:]
        start = self.written % capacity
        first = min(len(cluster_ids), capacity - start)  # up to the end of the ring, then from its start
        self.latents[start : start + first] = latents[:first]
        self.cluster_ids[start : start + first] = cluster_ids[:first]
        self.latents[: len(cluster_ids) - first] = latents[first:]
        self.cluster_ids[: len(cluster_ids) - first] = cluster_ids[first:]
        self.written += len(cluster_ids)

    def forget_latents(self) -> None:
        """After a swap of the encoder: the ring's latents are of the old model."""
        self.cluster_ids[:] = -1

    def measure_if_due(self, position: int, live_ids: np.ndarray) -> None:
        """Measure the clusters due, when ``MEASURE_EVERY`` posts went by since the last pass; the ratios of
        clusters no longer live are dropped."""
        if position - self.last_pass < MEASURE_EVERY and self.last_pass:
            return
        self.last_pass = position
        live = set(live_ids.tolist())
        for gone in [cluster_id for cluster_id in self.ratios if cluster_id not in live]:
            del self.ratios[gone], self.measured_at[gone]
        ids, counts = np.unique(self.cluster_ids[self.cluster_ids >= 0], return_counts=True)
        qualified = [int(i) for i in ids[counts >= MIN_RECENT_MEMBERS] if int(i) in live]
        new = [cluster_id for cluster_id in qualified if cluster_id not in self.ratios]
        again = sorted(
            (cluster_id for cluster_id in qualified if cluster_id in self.ratios),
            key=lambda cluster_id: (self.measured_at[cluster_id], cluster_id),
        )[:REMEASURED_PER_PASS]
        if not new and not again:
            return
        newest_first = (self.written - 1 - np.arange(min(self.written, len(self.cluster_ids)))) % len(
            self.cluster_ids
        )
        newest_ids = self.cluster_ids[newest_first]
        for cluster_id in new + again:
            slots = newest_first[newest_ids == cluster_id][:MEMBERS_MEASURED]
            self.ratios[cluster_id] = split_ratio(self.latents[slots].astype(np.float64))
            self.measured_at[cluster_id] = position
        self.broad_ids = self._broad_among_measured()
        measured = np.isin(ids, np.array(list(self.ratios), dtype=np.int64))
        in_broad = counts[np.isin(ids, self.broad_ids)].sum()
        self.broad_share = float(in_broad / counts[measured].sum()) if measured.any() else 0.0

    def _broad_among_measured(self) -> np.ndarray:
        return np.array(
            sorted(cluster_id for cluster_id, ratio in self.ratios.items() if ratio < self.broad_ratio),
            dtype=np.int64,
        )

    def ratio_of(self, cluster_id: int) -> float | None:
        return self.ratios.get(cluster_id)

    def is_broad(self, cluster_ids: np.ndarray) -> np.ndarray:
        """Whether each cluster was measured as one broad topic, in a stream of broad topics: among the
        measured clusters, the broad ones hold at least ``BROAD_STREAM_SHARE`` of the ring's posts. In a stream
        of tight topics, a big cluster that looks broad is more likely a bin of several small topics."""
        if self.broad_share < BROAD_STREAM_SHARE:
            return np.zeros(len(cluster_ids), dtype=bool)
        return np.isin(cluster_ids, self.broad_ids)

    def snapshot(self) -> dict[str, Any]:
        measured = np.array(sorted(self.ratios), dtype=np.int64)
        return {
            "latents": self.latents.copy(),
            "cluster_ids": self.cluster_ids.copy(),
            "written": self.written,
            "last_pass": self.last_pass,
            "measured_ids": measured,
            "ratios": np.array([self.ratios[i] for i in measured.tolist()], dtype=np.float64),
            "measured_at": np.array([self.measured_at[i] for i in measured.tolist()], dtype=np.int64),
            "broad_share": self.broad_share,  # as the last pass left it: the ring has moved on since
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        self.latents = np.asarray(snapshot["latents"], dtype=np.float32).copy()
        self.cluster_ids = np.asarray(snapshot["cluster_ids"], dtype=np.int64).copy()
        self.written = int(snapshot["written"])
        self.last_pass = int(snapshot["last_pass"])
        measured = np.asarray(snapshot["measured_ids"], dtype=np.int64).tolist()
        self.ratios = dict(zip(measured, np.asarray(snapshot["ratios"]).tolist(), strict=True))
        self.measured_at = dict(zip(measured, np.asarray(snapshot["measured_at"]).tolist(), strict=True))
        self.broad_ids = self._broad_among_measured()
        self.broad_share = float(snapshot["broad_share"])
