"""Engine <-> ModelState: ``capture(engine)`` packs the engine's snapshot into one checkpoint, ``restore(state,
settings)`` builds an engine that continues exactly where the captured one was.

The engine's ``snapshot()`` is one ``EngineSnapshot``: its position, the featurizer's statistics, the encoder,
and the snapshot of each stage (clusters, births, lifecycle, retraining). Each part is a tree of JSON values,
NumPy arrays and tensors; packing moves the arrays and tensors out under the part's name (``clusters/table/ids``,
``encoder/weights/...``) and keeps the rest in ``meta``. What each part holds is its stage's business (see
docs/checkpoints.md); nothing here reads an engine's internals.

A retrain still running when the state is captured is not kept: the restored engine starts it again at its
first batch. Only a warm engine can be captured.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.errors import CheckpointError, CorruptCheckpointError
from streamclust.featurize import Featurizer
from streamclust.result import SnapshotEngine
from streamclust.stages import PARTS, EngineSnapshot
from streamclust.state.model_state import FORMAT_VERSION, ModelState
from streamclust.state.portable import join_arrays, split_arrays
from streamclust.state.shape import check_fits, describe_shape, fingerprint


def capture(engine: SnapshotEngine) -> ModelState:
    """A copy of the engine's whole model state (safe between batches while a retrain runs)."""
    snapshot = engine.snapshot()
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, torch.Tensor] = {}
    shape = describe_shape(engine)
    meta: dict[str, Any] = {"shape": shape, "engine": {"position": snapshot.position}}
    for part in PARTS:
        meta[part] = split_arrays(getattr(snapshot, part), part, arrays, tensors)
    return ModelState(
        format_version=FORMAT_VERSION,
        model_version=snapshot.model_version,
        position=snapshot.position,
        config_fingerprint=fingerprint(shape),
        meta=meta,
        arrays=arrays,
        tensors=tensors,
    )


def restore(state: ModelState, settings: Settings, *, featurizer: Featurizer | None = None) -> Engine:
    """An engine built from ``settings`` that continues from ``state``; CheckpointError if it does not fit.

    ``featurizer``: the featurizer of an engine this one replaces (for example when following newer
    checkpoints), so a static model is not loaded again; its statistics are overwritten by the checkpoint's.
    """
    engine = Engine.from_settings(settings, featurizer)
    load_state(engine, state)
    return engine


def load_state(engine: Engine, state: ModelState) -> None:
    """Load ``state`` into a fresh engine (one that has not processed any post)."""
    if state.format_version != FORMAT_VERSION:
        raise CheckpointError(
            f"the checkpoint has format version {state.format_version}; this streamclust reads version "
            f"{FORMAT_VERSION}. Start the model afresh, or run the streamclust version that wrote it"
        )
    shape = state.meta.get("shape", {})
    if not isinstance(shape, dict):
        raise CorruptCheckpointError("the checkpoint's shape description is not a mapping; it is corrupt")
    check_fits(shape, engine)
    try:
        engine.restore(unpack(state))
    except CheckpointError:
        raise
    except Exception as error:  # whatever wrong content raises: the checkpoint is corrupt, not the program
        raise CorruptCheckpointError(
            f"the checkpoint is incomplete or inconsistent ({type(error).__name__}: {str(error)[:200]}); "
            "restore an older checkpoint or start the model afresh"
        ) from error


def unpack(state: ModelState) -> EngineSnapshot:
    """The engine snapshot a checkpoint holds."""
    meta = state.meta
    parts = {part: join_arrays(meta[part], state.arrays, state.tensors) for part in PARTS}
    return EngineSnapshot(position=int(meta["engine"]["position"]), **parts)


def cluster_ids(state: ModelState) -> list[int]:
    """The ids of the clusters a checkpoint holds, in table order."""
    return [int(cluster_id) for cluster_id in state.arrays["clusters/table/ids"].tolist()]
