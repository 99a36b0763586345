"""What a checkpoint must agree on with the engine it is loaded into: the settings that shape its arrays."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from streamclust.errors import CheckpointError
from streamclust.result import SnapshotEngine

FEATURIZER_KINDS = {
    "HashingFeaturizer": "hashing",
    "StaticFeaturizer": "static",
    "HybridFeaturizer": "hybrid",
}

# Each shape key and the setting that decides it, for messages a user can act on.
SETTING_OF = {
    "featurizer": "featurize.kind",
    "sparse_columns": "featurize.n_features",
    "term_columns": "featurize.n_features",
    "dense_columns": "featurize.static_dims",
    "ngram_max": "featurize.ngram_max",
    "hash_salt": "seed",
    "lexical_scale": "featurize.hybrid_lexical_weight",
    "hidden_dim": "encoder.hidden_dim",
    "latent_dim": "encoder.latent_dim",
}


def describe_shape(engine: SnapshotEngine) -> dict[str, Any]:
    """The engine's featurizer and autoencoder shape: a checkpoint fits only an engine with the same."""
    featurizer = engine.featurizer
    lexical = getattr(featurizer, "lexical", featurizer)
    return {
        "featurizer": FEATURIZER_KINDS.get(type(featurizer).__name__, type(featurizer).__name__),
        "sparse_columns": int(featurizer.sparse_columns),
        "term_columns": int(getattr(lexical, "sparse_columns", 0)),
        "dense_columns": int(featurizer.dense_columns),
        "ngram_max": int(getattr(lexical, "ngram_max", 0)),
        "hash_salt": int(getattr(lexical, "salt", 0)),
        "lexical_scale": round(float(getattr(featurizer, "lexical_scale", 1.0)), 6),
        "hidden_dim": int(engine.shape.hidden_dim),
        "latent_dim": int(engine.shape.latent_dim),
    }


def fingerprint(shape: dict[str, Any]) -> str:
    """A short hash of a shape description."""
    canonical = json.dumps(shape, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hashlib.sha256(canonical).hexdigest()[:16]


def check_fits(saved: dict[str, Any], engine: SnapshotEngine) -> None:
    """Raise CheckpointError naming every setting in which the checkpoint and the engine differ."""
    current = describe_shape(engine)
    differences = {  # one per setting: of two keys a setting decides, the later says it best (term_columns)
        SETTING_OF.get(
            key, key
        ): f"{SETTING_OF.get(key, key)}: checkpoint {saved.get(key)!r}, settings {value!r}"
        for key, value in current.items()
        if saved.get(key) != value
    }
    if differences:
        raise CheckpointError(
            "the checkpoint does not fit these settings ("
            + "; ".join(differences.values())
            + "). Run with the settings the checkpoint was written with, or start a fresh model "
            "(an empty state_dir, or another kafka.state_topic)"
        )
