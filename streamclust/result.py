"""What one call of ``Engine.process`` returns: labels (columnar), cluster events, and batch statistics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from streamclust.schema import CatalogEntry, ClusterEvent, LabelRecord, Post

if TYPE_CHECKING:
    from streamclust.encode.autoencoder import AutoencoderShape
    from streamclust.featurize.base import Featurizer
    from streamclust.stages import EngineSnapshot


@dataclass(frozen=True)
class LabelBatch:
    """One label per post, as parallel arrays (cheap to build on the hot path)."""

    post_ids: list[str]
    cluster_ids: np.ndarray  # int64, -1 = in no cluster
    similarities: np.ndarray  # float32 cosine similarity to the nearest centroid
    is_outlier: np.ndarray  # bool
    model_version: int
    processed_at: float
    model_position: int | None = None  # shared mode: the published model's position (see LabelRecord)

    def __len__(self) -> int:
        return len(self.post_ids)

    def records(self) -> Iterator[LabelRecord]:
        for post_id, cluster_id, similarity, outlier in zip(
            self.post_ids,
            self.cluster_ids.tolist(),
            self.similarities.tolist(),
            self.is_outlier.tolist(),
            strict=True,
        ):
            yield LabelRecord.model_construct(
                post_id=post_id,
                cluster_id=cluster_id,
                similarity=round(similarity, 6),
                is_outlier=outlier,
                model_version=self.model_version,
                processed_at=self.processed_at,
                model_position=self.model_position,
            )

    @staticmethod
    def empty(model_version: int, processed_at: float) -> LabelBatch:
        return LabelBatch(
            post_ids=[],
            cluster_ids=np.empty(0, dtype=np.int64),
            similarities=np.empty(0, dtype=np.float32),
            is_outlier=np.empty(0, dtype=bool),
            model_version=model_version,
            processed_at=processed_at,
        )


@dataclass(frozen=True)
class BatchStats:
    """Numbers about one batch, for metrics and logs."""

    posts_in: int = 0
    labelled: int = 0
    pending: int = 0  # posts held back (warm-up) and not labelled yet
    outliers: int = 0
    reconstruction_error: float | None = None  # mean over the batch
    drift_detected: bool = False
    retrain_started: bool = False
    retrained: bool = False  # a new encoder was swapped in during this batch
    retrain_seconds: float | None = None
    retrain_error: str | None = None  # why a retrain that ended produced no model (the old one stays)
    label_agreement: float | None = None  # share of reservoir posts whose label survived the swap
    centroid_shift: float = 0.0  # mean (1 - cosine) movement of the centroids updated in this batch
    active_clusters: int = 0
    model_version: int = 0


@dataclass(frozen=True)
class BatchResult:
    labels: LabelBatch
    events: list[ClusterEvent] = field(default_factory=list)
    stats: BatchStats = field(default_factory=BatchStats)


class ClusterEngine(Protocol):
    """What the adapters (file mode, the Kafka worker) need from an engine."""

    @property
    def model_version(self) -> int: ...

    @property
    def pending_post_ids(self) -> list[str]: ...

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult: ...

    def flush(self, now: float | None = None) -> BatchResult: ...

    def catalog(self) -> list[CatalogEntry]: ...

    def close(self) -> None: ...


@runtime_checkable
class SnapshotEngine(ClusterEngine, Protocol):
    """An engine whose model state can be checkpointed (the real one; test doubles need not be).

    ``snapshot()`` is the whole model state, stage by stage; ``is_settled`` says whether a snapshot taken now
    restores to exactly this model (warm, holding no posts, no retrain running). ``featurizer`` and ``shape``
    say which engines a snapshot fits (``state/shape.py``).
    """

    @property
    def featurizer(self) -> Featurizer: ...

    @property
    def shape(self) -> AutoencoderShape: ...

    @property
    def is_settled(self) -> bool: ...

    def snapshot(self) -> EngineSnapshot: ...
