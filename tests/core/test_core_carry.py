"""Carrying clusters into a new encoder's latent space, so that a retrain keeps every cluster's id."""

from __future__ import annotations

import numpy as np
import pytest
from core_streams import make_stream

from streamclust.encode.autoencoder import (
    AutoencoderShape,
    Encoder,
    TrainingPlan,
    normalize,
    train_autoencoder,
)
from streamclust.encode.retrain import MIN_MEMBERS_TO_REENCODE, carry_clusters, sums_per_row, values_per_row
from streamclust.featurize import HashingFeaturizer
from streamclust.featurize.base import FeatureBatch

TOPICS = ["cards", "travel", "baking", "python"]
LATENT = 16


class RotatedEncoder(Encoder):
    """The same encoder followed by a fixed rotation: a new latent space in which every post has moved."""

    def __init__(self, inner: Encoder, rotation: np.ndarray) -> None:
        super().__init__(inner.model, inner.version + 1, inner.center)
        self.rotation = rotation

    def encode(self, batch: FeatureBatch) -> np.ndarray:
        return normalize(super().encode(batch) @ self.rotation)


@pytest.fixture(scope="module")
def trained() -> tuple[Encoder, FeatureBatch, list[str]]:
    posts = make_stream(TOPICS, 200, seed=31)
    featurizer = HashingFeaturizer(n_features=4096, ngram_max=1)
    features = featurizer.transform([post.text for post in posts])
    shape = AutoencoderShape(4096, 0, hidden_dim=32, latent_dim=LATENT)
    model = train_autoencoder(
        features, shape, TrainingPlan(epochs=30, batch_size=32, learning_rate=0.005, seed=1)
    )
    return Encoder.fitted(model, 1, features), features, [post.id.split("-")[0] for post in posts]


def topic_centroids(encoder: Encoder, features: FeatureBatch, topics: list[str]) -> np.ndarray:
    """Each topic's centroid: the normalised mean of its posts' latents."""
    latents = encoder.encode(features)
    labels = np.array(topics)
    return normalize(np.stack([latents[labels == topic].mean(axis=0) for topic in TOPICS]))


def carry(old: Encoder, new: Encoder, centroids: np.ndarray, features: FeatureBatch, threshold: float = 0.3):  # type: ignore[no-untyped-def]
    n = len(centroids)
    return carry_clusters(
        centroids, np.full(n, threshold), np.full(n, 0.8), np.full(n, 0.01), old, new, features
    )


def test_swapping_in_the_same_encoder_changes_nothing(
    trained: tuple[Encoder, FeatureBatch, list[str]],
) -> None:
    encoder, features, topics = trained
    centroids = topic_centroids(encoder, features, topics)

    carried = carry(encoder, encoder, centroids, features)

    assert carried.label_agreement == 1.0
    np.testing.assert_allclose(carried.centroids, centroids, atol=1e-5)
    np.testing.assert_allclose(carried.latent_map, np.eye(LATENT), atol=1e-4)


def test_a_rotated_latent_space_carries_every_cluster_to_its_rotated_place(
    trained: tuple[Encoder, FeatureBatch, list[str]],
) -> None:
    encoder, features, topics = trained
    rotation, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(LATENT, LATENT)))
    rotated = RotatedEncoder(encoder, rotation.astype(np.float32))
    centroids = topic_centroids(encoder, features, topics)

    carried = carry(encoder, rotated, centroids, features)

    assert carried.label_agreement == 1.0
    np.testing.assert_allclose(carried.centroids, normalize(centroids @ rotation), atol=1e-4)
    # each post's nearest cluster, hence its id, is the same in both spaces
    before = (encoder.encode(features) @ centroids.T).argmax(axis=1)
    after = (rotated.encode(features) @ carried.centroids.T).argmax(axis=1)
    np.testing.assert_array_equal(after, before)


def test_a_cluster_with_too_few_members_in_the_sample_is_carried_by_the_linear_map(
    trained: tuple[Encoder, FeatureBatch, list[str]],
) -> None:
    encoder, features, topics = trained
    rotation, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(LATENT, LATENT)))
    rotated = RotatedEncoder(encoder, rotation.astype(np.float32))
    centroids = topic_centroids(encoder, features, topics)
    lonely = normalize(np.random.default_rng(2).normal(size=(1, LATENT)).astype(np.float32))
    with_lonely = np.vstack([centroids, lonely])

    nearest = (encoder.encode(features) @ with_lonely.T).argmax(axis=1)
    assert np.sum(nearest == len(centroids)) < MIN_MEMBERS_TO_REENCODE, "no post in the sample is near it"

    carried = carry(encoder, rotated, with_lonely, features)

    np.testing.assert_allclose(carried.centroids[-1], normalize(lonely @ rotation)[0], atol=1e-3)
    np.testing.assert_allclose(carried.latent_map, rotation, atol=1e-3)


def test_without_clusters_there_is_nothing_to_carry(trained: tuple[Encoder, FeatureBatch, list[str]]) -> None:
    encoder, features, _ = trained
    carried = carry(encoder, encoder, np.zeros((0, LATENT), np.float32), features)
    assert carried.centroids.shape == (0, LATENT) and carried.label_agreement == 1.0


def test_sums_per_row_add_each_vector_in_turn_exactly_as_add_at() -> None:
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 7, size=500)
    vectors = rng.normal(size=(500, 4)).astype(np.float32)
    expected = np.zeros((9, 4))
    np.add.at(expected, rows, vectors)

    sums = sums_per_row(rows, vectors, n_rows=9)

    assert sums.dtype == np.float64 and np.array_equal(sums, expected)


def test_values_per_row_keep_their_order() -> None:
    rows = np.array([2, 0, 2, 1, 2])
    values = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    grouped = {row: found.tolist() for row, found in values_per_row(rows, values, np.array([2, 3, 0]))}
    assert grouped == {2: [10.0, 30.0, 50.0], 3: [], 0: [20.0]}
