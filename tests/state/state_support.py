"""A small, fast, deterministic engine and a Banking77 stream for the checkpoint tests."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.schema import Post

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
NOW = 1_700_000_000.0


@cache
def banking_texts() -> tuple[str, ...]:
    with gzip.open(DATA / "banking77.jsonl.gz", "rt", encoding="utf-8") as lines:
        return tuple(json.loads(line)["text"] for line in lines)


def banking_posts(count: int, start: int = 0) -> list[Post]:
    texts = banking_texts()
    return [Post(id=f"p{n}", text=texts[n % len(texts)]) for n in range(start, start + count)]


def small_settings(**encoder: Any) -> Settings:
    """Hashed features, a tiny autoencoder, warm-up after 200 posts; retrains every 300 posts, swapped in
    exactly 100 posts later without a background thread (so runs are reproducible), drift watched by ADWIN."""
    encoder_settings: dict[str, Any] = {
        "warmup_posts": 200,
        "hidden_dim": 32,
        "latent_dim": 16,
        "epochs": 3,
        "retrain_epochs": 1,
        "batch_size": 64,
        "reservoir_size": 400,
        "retrain_every_posts": 300,
        "swap_after_posts": 100,
        "swap": "at_position",
        "background": False,
        "drift_detector": "adwin",
    } | encoder
    return Settings(
        seed=3,
        featurize={"kind": "hashing", "n_features": 4096, "ngram_max": 2},  # type: ignore[arg-type]
        encoder=encoder_settings,  # type: ignore[arg-type]
    )


def run(engine: Engine, posts: list[Post], batch_size: int = 50) -> dict[str, int]:
    """Process ``posts`` in batches; the cluster id given to each post."""
    labels: dict[str, int] = {}
    for start in range(0, len(posts), batch_size):
        result = engine.process(posts[start : start + batch_size], now=NOW + start)
        labels.update(zip(result.labels.post_ids, result.labels.cluster_ids.tolist(), strict=True))
    return labels


def assigned(engine: Engine, posts: list[Post]) -> list[int]:
    return engine.assign(posts, now=NOW).labels.cluster_ids.tolist()


def same_state(left: Any, right: Any) -> bool:
    """Two captured states hold the same numbers."""
    if left.meta != right.meta or left.arrays.keys() != right.arrays.keys():
        return False
    if left.tensors.keys() != right.tensors.keys():
        return False
    arrays = all(np.array_equal(left.arrays[k], right.arrays[k]) for k in left.arrays)
    return arrays and all(bool((left.tensors[k] == right.tensors[k]).all()) for k in left.tensors)
