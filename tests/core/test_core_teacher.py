"""The teacher: the first model learns the cosines a sentence encoder gives the warm-up posts, and a retrain keeps
the cosines of the model it starts from."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.encode.autoencoder import (
    AutoencoderShape,
    Encoder,
    TrainingPlan,
    normalize,
    train_autoencoder,
)
from streamclust.encode.teacher import build_teacher, taught_rows
from streamclust.errors import ModelError
from streamclust.featurize.base import FeatureBatch, SparseRows

DIMS = 16
POSTS = 400


def dense_batch(dense: np.ndarray) -> FeatureBatch:
    rows = len(dense)
    no_terms = SparseRows(np.zeros(rows + 1, np.int64), np.empty(0, np.int64), np.empty(0, np.float32), 1)
    return FeatureBatch(terms=no_terms, dense=dense.astype(np.float32))


def cosines(vectors: np.ndarray) -> np.ndarray:
    unit = normalize(vectors - vectors.mean(axis=0))
    upper = np.triu_indices(len(vectors), k=1)
    return (unit @ unit.T)[upper]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(cosines(a), cosines(b))[0, 1])


@pytest.fixture(scope="module")
def posts() -> tuple[FeatureBatch, np.ndarray]:
    """Dense features, and teacher vectors that see a structure the features do not: the teacher's geometry is
    a fixed non-linear function of the features, as a contextual encoder's is of a bag of word vectors."""
    rng = np.random.default_rng(3)
    features = rng.normal(size=(POSTS, DIMS))
    teacher = np.tanh(2.0 * features @ rng.normal(size=(DIMS, 24)))
    return dense_batch(features), teacher


PLAN = TrainingPlan(epochs=40, batch_size=64, learning_rate=0.01, seed=0, structure_weight=10.0)
SHAPE = AutoencoderShape(0, DIMS, hidden_dim=64, latent_dim=DIMS)


def latents(model, features: FeatureBatch) -> np.ndarray:  # type: ignore[no-untyped-def]
    return Encoder.fitted(model, 1, features).encode(features)


def test_teacher_targets_pull_the_latent_cosines_towards_the_teachers(posts) -> None:  # type: ignore[no-untyped-def]
    features, teacher = posts
    plain = latents(train_autoencoder(features, SHAPE, PLAN), features)
    taught = latents(train_autoencoder(features, SHAPE, PLAN, targets=teacher), features)
    assert correlation(taught, teacher) > correlation(plain, teacher) + 0.1
    assert correlation(taught, teacher) > 0.8


def test_a_teacher_for_some_posts_teaches_the_geometry_to_all(posts) -> None:  # type: ignore[no-untyped-def]
    features, teacher = posts
    taught = taught_rows(POSTS, POSTS // 4)
    model = train_autoencoder(features, SHAPE, PLAN, targets=teacher[taught], target_rows=taught)
    untaught = np.setdiff1d(np.arange(POSTS), taught)
    plain = latents(train_autoencoder(features, SHAPE, PLAN), features)
    learned = latents(model, features)
    assert (
        correlation(learned[untaught], teacher[untaught])
        > correlation(plain[untaught], teacher[untaught]) + 0.1
    )


def test_the_taught_posts_are_spread_over_the_warm_up() -> None:
    rows = taught_rows(2000, 500)
    assert len(rows) == len(set(rows.tolist())) == 500
    assert rows[0] == 0 and rows[-1] == 1999
    assert np.all(np.diff(rows) >= 3)
    assert taught_rows(300, 500).tolist() == list(range(300))


def test_a_retrain_keeps_the_cosines_of_the_model_it_starts_from(posts) -> None:  # type: ignore[no-untyped-def]
    features, teacher = posts
    taught = train_autoencoder(features, SHAPE, PLAN, targets=teacher)
    retrain = TrainingPlan(epochs=10, batch_size=64, learning_rate=0.01, seed=1, structure_weight=10.0)
    kept = train_autoencoder(features, SHAPE, retrain, start_from=taught, targets=None)
    keeping = TrainingPlan(**{**retrain.__dict__, "keep_start_cosines": True})
    carried = train_autoencoder(features, SHAPE, keeping, start_from=taught)
    before = latents(taught, features)
    assert correlation(latents(carried, features), before) > correlation(latents(kept, features), before)
    assert correlation(latents(carried, features), teacher) > 0.8


def test_no_teacher_and_an_unknown_one() -> None:
    assert build_teacher("none") is None
    with pytest.raises(ModelError, match="use 'minilm' or 'none'"):
        build_teacher("bert-large")


def test_the_minilm_teacher_puts_paraphrases_closer_than_other_topics() -> None:
    teacher = build_teacher("minilm")
    assert teacher is not None
    vectors = normalize(
        teacher.embed(["my card was declined", "the shop refused my card", "how do I bake sourdough bread"])
    )
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
