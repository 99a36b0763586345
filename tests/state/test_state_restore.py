"""An engine restored from a checkpoint is the same engine: same labels on a probe set, and a stream that
continues after a restore gets exactly the labels an uninterrupted run gives."""

from __future__ import annotations

import numpy as np
import pytest
from state_support import NOW, assigned, banking_posts, run, same_state, small_settings

from streamclust.config import ClusterSettings
from streamclust.engine import Engine
from streamclust.errors import CheckpointError, ModelError
from streamclust.state.capture import capture, restore
from streamclust.state.codec import decode_state, encode_state

STREAM = banking_posts(1200)
PROBE = banking_posts(200, start=6000)


def test_restored_engine_labels_a_probe_set_like_the_original() -> None:
    settings = small_settings()
    original = Engine.from_settings(settings)
    run(original, STREAM[:800])
    restored = restore(decode_state(encode_state(capture(original))), settings)
    assert restored.model_version == original.model_version and restored.position == 800
    assert assigned(restored, PROBE) == assigned(original, PROBE)
    assert len(set(assigned(original, PROBE))) > 3  # the probe spans several clusters
    assert [entry.cluster_id for entry in restored.catalog()] == [
        entry.cluster_id for entry in original.catalog()
    ]


@pytest.mark.parametrize(
    ("stop", "index"),
    [(450, "flat"), (650, "flat"), (650, "hnsw")],
    ids=["between-retrains", "retrain-waiting-for-its-swap-point", "approximate-index"],
)
def test_a_restored_engine_continues_exactly_like_an_uninterrupted_one(stop: int, index: str) -> None:
    settings = small_settings().model_copy(update={"cluster": ClusterSettings(index=index)})  # type: ignore[arg-type]
    uninterrupted = Engine.from_settings(settings)
    expected = run(uninterrupted, STREAM)

    first = Engine.from_settings(settings)
    run(first, STREAM[:stop])
    checkpoint = decode_state(encode_state(capture(first)))
    resumed = restore(checkpoint, settings)
    # the index proposes the same candidates: it was built from the same centroids, as long ago
    assert np.array_equal(resumed.clusters.index.built_from, first.clusters.index.built_from)
    assert resumed.clusters.index.updates_since_build == first.clusters.index.updates_since_build
    continued = run(resumed, STREAM[stop:])

    assert continued == {post.id: expected[post.id] for post in STREAM[stop:]}
    assert resumed.model_version == uninterrupted.model_version > checkpoint.model_version
    assert resumed.clusters.table.next_id == uninterrupted.clusters.table.next_id


def test_a_retrain_still_running_at_capture_starts_again_after_restore() -> None:
    settings = small_settings()
    engine = Engine.from_settings(settings)
    run(engine, STREAM[:650])
    assert engine.retraining.job is not None
    engine.retraining.job.thread = _AliveThread()  # as if it were still training in the background
    state = capture(engine)
    assert not any(name.startswith("retraining/pending/") for name in state.tensors)
    resumed = restore(state, settings)
    assert resumed.retraining.job is None
    result = resumed.process(STREAM[650:700], now=NOW)
    assert (
        result.stats.retrain_started
        and resumed.retraining.job is not None
        and resumed.retraining.job.reason == "posts"
    )


class _AliveThread:
    def is_alive(self) -> bool:
        return True

    def join(self) -> None:
        return None


def test_a_warming_engine_cannot_be_captured() -> None:
    engine = Engine.from_settings(small_settings())
    engine.process(STREAM[:100], now=NOW)
    with pytest.raises(CheckpointError, match="warming up"):
        capture(engine)


def test_a_checkpoint_from_other_settings_is_refused_with_the_settings_that_differ() -> None:
    engine = Engine.from_settings(small_settings())
    run(engine, STREAM[:300])
    state = capture(engine)
    with pytest.raises(CheckpointError) as refused:
        restore(state, small_settings(latent_dim=24))
    message = str(refused.value)
    assert "encoder.latent_dim: checkpoint 16, settings 24" in message
    assert "start a fresh model" in message


def test_assign_labels_without_changing_anything() -> None:
    engine = Engine.from_settings(small_settings())
    run(engine, STREAM[:800])
    before = capture(engine)
    labels = engine.assign(PROBE, now=NOW).labels
    assert same_state(before, capture(engine))
    assert engine.position == 800 and len(labels) == len(PROBE)
    assert labels.model_version == engine.model_version
    # every post gets its most similar cluster; one that cluster would not take is marked an outlier
    accepted = ~labels.is_outlier
    assert accepted.any() and (labels.cluster_ids >= 0).all()


def test_assign_before_warm_up_says_what_to_do() -> None:
    engine = Engine.from_settings(small_settings())
    with pytest.raises(ModelError, match="is_warm"):
        engine.assign(PROBE[:5])


def test_a_follower_can_restore_newer_checkpoints_reusing_its_featurizer() -> None:
    settings = small_settings()
    trainer = Engine.from_settings(settings)
    run(trainer, STREAM[:400])
    follower = restore(capture(trainer), settings)
    run(trainer, STREAM[400:900])
    newer = capture(trainer)
    followed = restore(newer, settings, featurizer=follower.featurizer)
    assert followed.featurizer is follower.featurizer
    assert followed.model_version == trainer.model_version == newer.model_version
    assert assigned(followed, PROBE) == assigned(trainer, PROBE)
