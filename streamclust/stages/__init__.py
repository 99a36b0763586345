"""The engine's stateful stages, each with its own state and a ``snapshot()``/``restore()`` pair.

- ``clusters.py``: the cluster table, the centroid index, keywords and lexical profiles; which cluster a post
  is most similar to, and joining it.
- ``births.py``: provisional clusters and their members; new clusters from the dense groups of a batch's
  newcomers, confirmed once they have ``min_cluster_size`` members.
- ``lifecycle.py``: merges, retirement and the cluster cap, the catalog of ended clusters, the sizes last
  reported in events.
- ``retraining.py``: the reservoir, the drift detector, the retrain schedule and the job in flight; it hands a
  finished model back to the engine, which swaps it in.

A snapshot is a plain tree: mappings and lists of JSON values, NumPy arrays and torch tensors, nothing a stage
still holds a reference to. ``state/capture.py`` packs the snapshots of every stage into one checkpoint;
``restore`` loads a snapshot into a fresh stage built from the same settings, which then behaves exactly as
the captured one did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Snapshot = dict[str, Any]


class Stage(Protocol):
    def snapshot(self) -> Snapshot: ...

    def restore(self, snapshot: Snapshot) -> None: ...


@dataclass(frozen=True)
class EngineSnapshot:
    """The whole model state of a warm engine: its own parts (position, featurizer statistics, encoder) and
    each stage's snapshot. ``Engine.restore`` loads it into a fresh engine built from the same settings."""

    position: int  # posts the model has learned from
    featurizer: Snapshot
    encoder: Snapshot
    clusters: Snapshot
    births: Snapshot
    lifecycle: Snapshot
    retraining: Snapshot

    @property
    def model_version(self) -> int:
        return int(self.encoder["version"])


PARTS = ("featurizer", "encoder", "clusters", "births", "lifecycle", "retraining")
