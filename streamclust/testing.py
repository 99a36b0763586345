"""Test doubles shipped with the package, so adapters (file mode, the Kafka worker) can be tested without the
real engine.

``FirstWordEngine`` implements ``ClusterEngine`` with the warm-up contract of the real engine: the first
``warmup_posts`` posts are held (``pending_post_ids``), the batch that completes warm-up returns labels for
all of them plus its own, and afterwards every post is labelled in the call that brought it.

>>> from streamclust.schema import Post
>>> engine = FirstWordEngine(warmup_posts=2, n_clusters=5)
>>> len(engine.process([Post(id="a", text="card lost")]).labels), engine.pending_post_ids
(0, ['a'])
>>> engine.process([Post(id="b", text="card stolen")]).labels.post_ids
['a', 'b']
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence

import numpy as np

from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent, EventKind, Post


class FirstWordEngine:
    """Cluster id = CRC32 of the first word modulo ``n_clusters``; deterministic and instant."""

    def __init__(self, warmup_posts: int = 200, n_clusters: int = 5) -> None:
        self.warmup_posts = warmup_posts
        self.n_clusters = n_clusters
        self._held: list[Post] = []
        self._warm = warmup_posts <= 0
        self._sizes: dict[int, float] = {}
        self._created: dict[int, float] = {}
        self._last_seen: dict[int, float] = {}
        self.closed = False

    @property
    def model_version(self) -> int:
        return 1 if self._warm else 0

    @property
    def pending_post_ids(self) -> list[str]:
        return [post.id for post in self._held]

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        now = time.time() if now is None else now
        if not self._warm:
            self._held.extend(posts)
            if len(self._held) < self.warmup_posts:
                return BatchResult(LabelBatch.empty(0, now), stats=BatchStats(posts_in=len(posts)))
            self._warm = True
            posts, self._held = self._held, []
        return self._label(posts, now)

    def flush(self, now: float | None = None) -> BatchResult:
        now = time.time() if now is None else now
        held, self._held = self._held, []
        self._warm = self._warm or bool(held)
        return self._label(held, now)

    def catalog(self) -> list[CatalogEntry]:
        return [
            CatalogEntry(
                cluster_id=cluster_id,
                status="active",
                size=size,
                keywords=[],
                created_at=self._created[cluster_id],
                last_seen_at=self._last_seen[cluster_id],
                model_version=self.model_version,
            )
            for cluster_id, size in sorted(self._sizes.items())
        ]

    def close(self) -> None:
        self.closed = True

    def _label(self, posts: Sequence[Post], now: float) -> BatchResult:
        ids = np.array([self.cluster_of(post.text) for post in posts], dtype=np.int64)
        events = []
        for cluster_id in ids.tolist():
            if cluster_id not in self._sizes:
                self._sizes[cluster_id] = 0.0
                self._created[cluster_id] = now
                events.append(ClusterEvent(kind=EventKind.CREATED, cluster_id=cluster_id, size=1.0, at=now))
            self._sizes[cluster_id] += 1.0
            self._last_seen[cluster_id] = now
        labels = LabelBatch(
            post_ids=[post.id for post in posts],
            cluster_ids=ids,
            similarities=np.ones(len(posts), dtype=np.float32),
            is_outlier=np.zeros(len(posts), dtype=bool),
            model_version=self.model_version,
            processed_at=now,
        )
        stats = BatchStats(
            posts_in=len(posts),
            labelled=len(posts),
            active_clusters=len(self._sizes),
            model_version=self.model_version,
        )
        return BatchResult(labels=labels, events=events, stats=stats)

    def cluster_of(self, text: str) -> int:
        words = text.split()
        first = words[0].lower() if words else ""
        return zlib.crc32(first.encode()) % self.n_clusters
