"""Engine <-> ModelState: ``capture(engine)`` copies the whole model state out, ``restore(state, settings)``
builds an engine that continues exactly where the captured one was.

What is kept: the encoder (weights, centring vector, version), featurizer statistics (document frequencies, the
term dictionary), the cluster table (ids, next id, centroids, counts, members, radii, times, confirmed), the
lexical profiles and their document frequencies, the members of provisional clusters, keyword counts, the
reservoir (rows, counters, random generator), the drift detector (as the values fed since its last reset, fed
again on restore), the retrain schedule, a finished retrain waiting for its swap point, and the engine's
positions, reported sizes and ended clusters. An approximate (HNSW, IVF) centroid index is rebuilt from the
centroids it was last built from; a flat one from the current centroids.

A retrain still running when the state is captured is not kept: the restored engine starts it again at its
first batch. Only a warm engine can be captured.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from streamclust.cluster.keywords import ClusterKeywords
from streamclust.cluster.lexical import LexicalProfiles
from streamclust.cluster.table import ARRAY_FIELDS
from streamclust.config import Settings
from streamclust.encode.autoencoder import Encoder, TextAutoencoder
from streamclust.encode.retrain import RetrainJob
from streamclust.engine import Engine
from streamclust.errors import CheckpointError, CorruptCheckpointError
from streamclust.featurize import Featurizer
from streamclust.schema import CatalogEntry
from streamclust.state.model_state import FORMAT_VERSION, ModelState
from streamclust.state.portable import join_arrays, split_arrays
from streamclust.state.shape import check_fits, describe_shape, fingerprint


def capture(engine: Engine) -> ModelState:
    """A copy of the engine's whole model state (safe between batches while a retrain runs)."""
    if engine.encoder is None or engine.keywords is None or engine.lexical is None:
        raise CheckpointError(
            "the engine is still warming up and has no model to checkpoint yet; "
            "checkpoint once engine.is_warm is true"
        )
    arrays: dict[str, np.ndarray] = {}
    tensors = {f"encoder/{name}": value for name, value in weights(engine.encoder.model).items()}
    arrays["encoder/center"] = engine.encoder.center.copy()
    shape = describe_shape(engine)
    meta: dict[str, Any] = {
        "shape": shape,
        "engine": {
            "position": engine.position,
            "last_lifecycle": engine.last_lifecycle,
            "join_similarity": engine.join_similarity,
        },
        "encoder": {"version": engine.encoder.version},
        "featurizer": split_arrays(engine.featurizer.snapshot(), "featurizer", arrays),
        "table": capture_table(engine, arrays),
        "lexical": capture_lexical(engine, arrays),
        "provisional_members": [[cluster_id, ids] for cluster_id, ids in engine.provisional_members.items()],
        "keywords": capture_keywords(engine.keywords, arrays),
        "reservoir": capture_reservoir(engine, arrays),
        "drift": {"kind": engine.drift.kind, "history": list(engine.drift.history)},
        "schedule": {
            "last_started_position": engine.schedule.last_started_position,
            "last_started_time": engine.schedule.last_started_time,
            "restart_reason": engine.schedule.restart_reason,
        },
        "pending_retrain": None,
        "ended": [entry.model_dump(mode="json") for entry in engine.ended.values()],
    }
    arrays["reported/cluster_ids"] = np.array(list(engine.reported_size), dtype=np.int64)
    arrays["reported/sizes"] = np.array(list(engine.reported_size.values()), dtype=np.float64)
    job = engine.job
    if job is not None and job.running:
        meta["schedule"]["restart_reason"] = job.reason
    elif job is not None and job.model is not None:
        meta["pending_retrain"] = {"started_at": job.started_at, "reason": job.reason, "seconds": job.seconds}
        tensors |= {f"pending/{name}": value for name, value in weights(job.model).items()}
    return ModelState(
        format_version=FORMAT_VERSION,
        model_version=engine.encoder.version,
        position=engine.position,
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
            f"{FORMAT_VERSION}. Upgrade streamclust or start the model afresh"
        )
    if engine.position or engine.held:
        raise CheckpointError(
            "a checkpoint can only be loaded into a fresh engine (one that has seen no post)"
        )
    shape = state.meta.get("shape", {})
    if not isinstance(shape, dict):
        raise CorruptCheckpointError("the checkpoint's shape description is not a mapping; it is corrupt")
    check_fits(shape, engine)
    try:
        load_parts(engine, state)
    except CheckpointError:
        raise
    except Exception as error:  # whatever wrong content raises: the checkpoint is corrupt, not the program
        raise CorruptCheckpointError(
            f"the checkpoint is incomplete or inconsistent ({type(error).__name__}: {str(error)[:200]}); "
            "restore an older checkpoint or start the model afresh"
        ) from error


def load_parts(engine: Engine, state: ModelState) -> None:
    meta, arrays = state.meta, state.arrays
    positions = meta["engine"]
    engine.position = int(positions["position"])
    engine.last_lifecycle = int(positions["last_lifecycle"])
    engine.join_similarity = float(positions["join_similarity"])
    engine.featurizer.restore(join_arrays(meta["featurizer"], arrays))
    engine.encoder = Encoder(
        model_from(engine, tensors_under(state.tensors, "encoder/")),
        int(meta["encoder"]["version"]),
        arrays["encoder/center"].astype(np.float32),
    )
    restore_table(engine, meta["table"], arrays)
    engine.lexical = restore_lexical(meta["lexical"], arrays)
    engine.provisional_members = {
        int(cluster_id): [str(post_id) for post_id in ids] for cluster_id, ids in meta["provisional_members"]
    }
    engine.keywords = restore_keywords(meta["keywords"], arrays)
    restore_reservoir(engine, meta["reservoir"], arrays)
    engine.drift.replay(float(value) for value in meta["drift"]["history"])
    schedule = meta["schedule"]
    engine.schedule.last_started_position = int(schedule["last_started_position"])
    engine.schedule.last_started_time = float(schedule["last_started_time"])
    engine.schedule.restart_reason = schedule["restart_reason"]
    pending = meta["pending_retrain"]
    if pending is not None:
        engine.job = RetrainJob(
            started_at=int(pending["started_at"]),
            reason=str(pending["reason"]),
            model=model_from(engine, tensors_under(state.tensors, "pending/")),
            seconds=float(pending["seconds"]),
        )
    engine.reported_size = dict(
        zip(
            arrays["reported/cluster_ids"].tolist(),
            arrays["reported/sizes"].astype(float).tolist(),
            strict=True,
        )
    )
    ended = [CatalogEntry.model_validate(entry) for entry in meta["ended"]]
    engine.ended = {entry.cluster_id: entry for entry in ended}


# -- the encoder ----------------------------------------------------------------------------------------------


def weights(model: TextAutoencoder) -> dict[str, torch.Tensor]:
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def tensors_under(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}


def model_from(engine: Engine, weights: dict[str, torch.Tensor]) -> TextAutoencoder:
    """An autoencoder of the engine's shape holding ``weights`` (built without random initialisation)."""
    with torch.device("meta"):
        model = TextAutoencoder(engine.shape)
    model.load_state_dict(weights, strict=True, assign=True)
    model.eval()
    return model


# -- clusters, keywords, outliers -----------------------------------------------------------------------------


def capture_table(engine: Engine, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The cluster table, and the centroids the (possibly approximate) index was last built from."""
    for name, values in engine.table.snapshot().items():
        if name in ARRAY_FIELDS:
            arrays[f"table/{name}"] = values
    arrays["index/built_from"] = engine.index.built_from.copy()
    return {"next_id": engine.table.next_id, "index_updates_since_build": engine.index.updates_since_build}


def restore_table(engine: Engine, table: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """The cluster table; an approximate index is rebuilt from the same centroids as before, so it proposes the
    same candidates until its next rebuild."""
    state: dict[str, Any] = {name: arrays[f"table/{name}"] for name in ARRAY_FIELDS}
    engine.table.restore(state | {"next_id": int(table["next_id"])})
    engine.table.centroids = engine.table.centroids.astype(np.float32)
    built_from = arrays["index/built_from"]
    if len(built_from) == len(engine.table) and engine.index.approximate(len(built_from)):
        engine.index.build(built_from)
        engine.index.updates_since_build = int(table["index_updates_since_build"])
    else:
        engine.index.refresh(engine.table.centroids, structure_changed=True)


def capture_keywords(keywords: ClusterKeywords, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Per-cluster term counts flattened in their order: cluster ids, their number of terms, columns, counts."""
    clusters = list(keywords.counts)
    arrays["keywords/clusters"] = np.array(clusters, dtype=np.int64)
    arrays["keywords/lengths"] = np.array([len(keywords.counts[c]) for c in clusters], dtype=np.int64)
    arrays["keywords/columns"] = np.array(
        [column for c in clusters for column in keywords.counts[c]], dtype=np.int64
    )
    arrays["keywords/counts"] = np.array(
        [count for c in clusters for count in keywords.counts[c].values()], dtype=np.float64
    )
    arrays["keywords/term_totals"] = keywords.term_totals.copy()
    return {"n_columns": keywords.n_columns, "max_terms": keywords.max_terms}


def restore_keywords(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> ClusterKeywords:
    keywords = ClusterKeywords(int(meta["n_columns"]), int(meta["max_terms"]))
    ends = np.cumsum(arrays["keywords/lengths"]).tolist()
    starts = [0, *ends[:-1]]
    columns = arrays["keywords/columns"].tolist()
    counts = arrays["keywords/counts"].tolist()
    for cluster_id, start, end in zip(arrays["keywords/clusters"].tolist(), starts, ends, strict=True):
        keywords.counts[int(cluster_id)] = dict(zip(columns[start:end], counts[start:end], strict=True))
    keywords.term_totals = arrays["keywords/term_totals"].astype(np.float64)
    return keywords


def capture_lexical(engine: Engine, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    assert engine.lexical is not None
    state = engine.lexical.snapshot()
    for name in ("document_frequency", "indptr", "indices", "values"):
        arrays[f"lexical/{name}"] = state[name]
    lexical = engine.lexical
    return {
        "documents": state["documents"],
        "n_columns": lexical.n_columns,
        "idf_half_life_posts": lexical.idf_half_life_posts,
        "terms_per_cluster": lexical.terms_per_cluster,
    }


def restore_lexical(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> LexicalProfiles:
    lexical = LexicalProfiles(
        int(meta["n_columns"]), int(meta["idf_half_life_posts"]), int(meta["terms_per_cluster"])
    )
    state = {
        name: arrays[f"lexical/{name}"] for name in ("document_frequency", "indptr", "indices", "values")
    }
    lexical.restore(state | {"documents": float(meta["documents"])})
    return lexical


# -- the reservoir --------------------------------------------------------------------------------------------


def capture_reservoir(engine: Engine, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    reservoir = engine.reservoir
    filled = reservoir.filled
    for name, values in reservoir.store.snapshot().items():
        if values is not None:
            arrays[f"reservoir/{name}"] = values[:filled].copy()
    return {"seen": reservoir.seen, "filled": filled, "rng": reservoir.rng.bit_generator.state}


def restore_reservoir(engine: Engine, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """The saved rows in their slots; when reservoir_size shrank since, the rows past it are dropped."""
    reservoir = engine.reservoir
    store = reservoir.store
    filled = min(int(meta["filled"]), reservoir.capacity)
    for name in ("lengths", "indices", "values", "dense"):
        target = getattr(store, name)
        saved = arrays.get(f"reservoir/{name}")
        if (target is None) != (saved is None):
            raise CheckpointError(f"the checkpoint's reservoir does not match these settings ({name})")
        if target is not None and saved is not None:
            target[:filled] = saved[:filled]
    reservoir.filled = filled
    reservoir.seen = int(meta["seen"])
    reservoir.rng.bit_generator.state = meta["rng"]
