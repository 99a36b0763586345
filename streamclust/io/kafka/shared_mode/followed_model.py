"""The model a shared-mode labeler uses: the newest complete model the trainer published, applied read-only.

``FollowedModel`` is the engine the labelling worker runs. ``process`` only assigns (``Engine.assign``): it
learns nothing, so a post's label is a function of the post and the published model alone, whichever worker
labels it. Every label carries the model's version and position (posts learned), which name the published
model exactly. ``refresh()`` swaps in a newer published model between batches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.featurize.base import Featurizer
from streamclust.io.kafka.durability.state_topic import StateFollower
from streamclust.result import BatchResult, LabelBatch
from streamclust.schema import CatalogEntry, Post
from streamclust.state.capture import restore
from streamclust.state.model_state import ModelState

log = logging.getLogger("streamclust.kafka")


class FollowedModel:
    """A ``ClusterEngine`` that labels with the newest model on the state topic (namespace ``kafka.group_id``)."""

    def __init__(self, settings: Settings, follower: StateFollower | None = None) -> None:
        self.settings = settings
        self.follower = follower or StateFollower(settings.kafka, settings.kafka.group_id)
        self.engine: Engine | None = None
        self.state: ModelState | None = None
        self.published_at: float | None = None  # monotonic time the model in use was swapped in

    @property
    def is_ready(self) -> bool:
        return self.engine is not None

    @property
    def position(self) -> int:
        return 0 if self.state is None else self.state.position

    def refresh(self) -> bool:
        """Swap in a newer published model if one is complete on the state topic; returns whether it did."""
        current = (0, -1) if self.state is None else self.state.order
        newer = self.follower.poll_newer(*current, timeout_ms=0)
        if newer is None:
            return False
        started = time.monotonic()
        reused = None if self.engine is None else self.engine.featurizer  # no second load of a static model
        engine = restore(newer, self.settings, featurizer=reused)
        if self.engine is not None:
            self.engine.close()
        self.engine, self.state = engine, newer
        self.published_at = time.monotonic()
        log.info(
            "labelling with a newer model",
            extra={
                "model_version": newer.model_version,
                "position": newer.position,
                "clusters": len(engine.clusters),
                "restore_seconds": round(self.published_at - started, 3),
            },
        )
        return True

    @property
    def featurizer(self) -> Featurizer | None:
        """The followed model's featurizer (None before the first model), for the worker's bad-record guard."""
        return None if self.engine is None else self.engine.featurizer

    # -- ClusterEngine --------------------------------------------------------------------------------------

    @property
    def model_version(self) -> int:
        return 0 if self.state is None else self.state.model_version

    @property
    def pending_post_ids(self) -> list[str]:
        return []

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        if self.engine is None:
            raise RuntimeError("no published model yet; the labeler waits for one before reading posts")
        result = self.engine.assign(posts, now)
        return replace(result, labels=replace(result.labels, model_position=self.position))

    def flush(self, now: float | None = None) -> BatchResult:
        return BatchResult(labels=LabelBatch.empty(self.model_version, time.time() if now is None else now))

    def catalog(self) -> list[CatalogEntry]:
        return [] if self.engine is None else self.engine.catalog()

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
        self.follower.close()
