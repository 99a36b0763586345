"""The contract every stage of the engine keeps: its snapshot is the whole of its state.

For each stage (clusters, births, lifecycle, retraining): a fresh stage restored from a snapshot has the same
snapshot, and dropped into an engine it behaves on the next batch exactly as the original does. Two engines
with the same seed and input end in the same state, stage by stage. A new stage is added to ``STAGES`` and
is held to the same contract.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from core_streams import make_stream

from streamclust.config import ClusterSettings, EncoderSettings
from streamclust.engine import Engine
from streamclust.featurize import HashingFeaturizer
from streamclust.featurize.base import Featurizer
from streamclust.result import BatchResult
from streamclust.schema import EventKind, Post

STAGES = ["clusters", "births", "lifecycle", "retraining"]
NOW = 1_700_000_000.0
KNOWN = ["cards", "travel", "baking", "python"]
# 950 posts of known topics, the last two of them the first of a new one (a provisional cluster), then a
# batch that crosses the lifecycle run at 1,000 posts, reaches a retrain's swap point and confirms the topic
PREFIX = make_stream(KNOWN, 948, seed=11) + make_stream(["music"], 2, seed=12, start=948)
NEXT = make_stream([*KNOWN, "music"], 100, seed=13, start=950)


def build(seed: int = 0, featurizer: Featurizer | None = None) -> Engine:
    """A small engine that retrains every 300 posts and swaps each retrain in 100 posts later, in line; posts
    join a cluster from a similarity of 0.75 (the synthetic topics are far apart at that level)."""
    encoder = EncoderSettings(
        warmup_posts=200,
        hidden_dim=32,
        latent_dim=16,
        epochs=5,
        retrain_epochs=2,
        batch_size=32,
        reservoir_size=300,
        retrain_every_posts=300,
        swap_after_posts=100,
        swap="at_position",
        background=False,
        drift_detector="adwin",
    )
    featurizer = featurizer or HashingFeaturizer(n_features=4096, ngram_max=1, seed=seed)
    cluster = ClusterSettings(join_similarity=0.75)
    return Engine(featurizer, encoder=encoder, cluster=cluster, seed=seed, clock=lambda: NOW)


def learned(seed: int = 0) -> Engine:
    engine = build(seed)
    for start in range(0, len(PREFIX), 50):
        engine.process(PREFIX[start : start + 50], now=NOW + start)
    return engine


def same(left: Any, right: Any) -> bool:
    """Two snapshots hold the same values (arrays and tensors compared exactly, dtypes included)."""
    if isinstance(left, dict):
        return (
            isinstance(right, dict)
            and left.keys() == right.keys()
            and all(same(left[k], right[k]) for k in left)
        )
    if isinstance(left, list | tuple):
        return isinstance(right, list | tuple) and len(left) == len(right) and all(map(same, left, right))
    if isinstance(left, np.ndarray):
        return isinstance(right, np.ndarray) and left.dtype == right.dtype and np.array_equal(left, right)
    if isinstance(left, torch.Tensor):
        return isinstance(right, torch.Tensor) and left.dtype == right.dtype and torch.equal(left, right)
    return type(left) is type(right) and bool(left == right)


def outcome(result: BatchResult) -> tuple[list[str], list[int], list[float], list[bool], list[str]]:
    labels = result.labels
    return (
        labels.post_ids,
        labels.cluster_ids.tolist(),
        labels.similarities.tolist(),
        labels.is_outlier.tolist(),
        [event.model_dump_json() for event in result.events],
    )


@pytest.mark.parametrize("name", STAGES)
def test_a_fresh_stage_restored_from_a_snapshot_has_the_same_snapshot(name: str) -> None:
    original = getattr(learned(), name)
    fresh = getattr(build(), name)
    assert not same(fresh.snapshot(), original.snapshot()), "the stage should have learned something"

    fresh.restore(original.snapshot())

    assert same(fresh.snapshot(), original.snapshot())


@pytest.mark.parametrize("name", STAGES)
def test_a_restored_stage_behaves_like_the_original_on_the_next_batch(name: str) -> None:
    original = learned()
    copy = build()
    copy.restore(original.snapshot())
    # this stage alone comes from its own snapshot, restored into a fresh stage of a fresh engine
    stage = getattr(build(featurizer=copy.featurizer), name)
    stage.restore(getattr(original, name).snapshot())
    setattr(copy, name, stage)

    expected = original.process(NEXT, now=NOW + 950)
    continued = copy.process(NEXT, now=NOW + 950)

    assert outcome(continued) == outcome(expected)
    assert same(stage.snapshot(), getattr(original, name).snapshot())
    original.close()
    copy.close()


def test_the_next_batch_exercises_every_stage() -> None:
    """What makes the test above meaningful: each stage has work to do in that batch."""
    engine = learned()
    assert engine.births.provisional_members, "a provisional cluster waits for members"
    assert engine.retraining.job is not None and engine.retraining.job.model is not None

    result = engine.process(NEXT, now=NOW + 950)

    assert result.stats.retrained and result.stats.model_version == engine.model_version > 1
    assert engine.lifecycle.last_run == 1_050
    created = [event for event in result.events if event.kind == EventKind.CREATED]
    assert any(post_id.startswith("music-") for event in created for post_id in event.member_post_ids)


def test_two_engines_with_the_same_seed_and_input_end_in_the_same_state() -> None:
    first, second = learned(seed=5), learned(seed=5)
    stream: list[Post] = NEXT

    assert outcome(first.process(stream, now=NOW)) == outcome(second.process(stream, now=NOW))
    for name in STAGES:
        assert same(getattr(first, name).snapshot(), getattr(second, name).snapshot()), name
