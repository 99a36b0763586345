"""The tie rule: a post's nearest centroid and similarity are a function of the model and the post alone,
whatever batch the post came in, even when two centroids are (nearly) equally close."""

from __future__ import annotations

import numpy as np
import pytest

from streamclust.cluster.index import CentroidIndex

DIM = 64
BATCH_SIZES = (1, 7, 256, 1000)


def unit(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def posts_with_near_ties(rng: np.random.Generator, centroids: np.ndarray, count: int) -> np.ndarray:
    """Half the posts lie exactly between two centroids (plus noise far below float32 precision, or
    none), the other half anywhere."""
    first = rng.integers(len(centroids), size=count // 2)
    second = (first + 1 + rng.integers(len(centroids) - 1, size=count // 2)) % len(centroids)
    between = centroids[first] + centroids[second]
    between += rng.normal(size=between.shape) * rng.choice([0.0, 1e-9, 1e-7], size=(len(between), 1))
    anywhere = rng.normal(size=(count - count // 2, DIM))
    mixed = np.concatenate([unit(between), unit(anywhere)])
    return mixed[rng.permutation(count)]


class BatchDependentRounding:
    """A flat FAISS index as another machine's BLAS would run it: every batch size rounds its scores a little
    differently (up to 1e-6 here, more than float32 rounding ever does), so near-ties come back reordered."""

    def __init__(self, centroids: np.ndarray) -> None:
        self.centroids = centroids

    def search(self, latents: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        noise = np.random.default_rng(len(latents)).uniform(
            -1e-6, 1e-6, size=(len(latents), len(self.centroids))
        )
        scores = (latents @ self.centroids.T + noise).astype(np.float32)
        rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, rows, axis=1), rows


def in_batches(index: CentroidIndex, latents: np.ndarray, centroids: np.ndarray, size: int) -> tuple:
    parts = [
        index.nearest(latents[start : start + size], centroids) for start in range(0, len(latents), size)
    ]
    return np.concatenate([rows for rows, _ in parts]), np.concatenate([sims for _, sims in parts])


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_the_same_posts_get_the_same_rows_and_similarities_in_any_batch_size(kind: str) -> None:
    rng = np.random.default_rng(13)
    centroids = unit(rng.normal(size=(300, DIM)))
    latents = posts_with_near_ties(rng, centroids, 3000)
    index = CentroidIndex(DIM, kind=kind)
    index.build(centroids)

    results = {size: in_batches(index, latents, centroids, size) for size in BATCH_SIZES}

    rows, similarities = results[1]
    for size in BATCH_SIZES[1:]:
        assert np.array_equal(results[size][0], rows), f"rows differ in batches of {size}"
        assert np.array_equal(results[size][1], similarities), f"similarities differ in batches of {size}"


def test_rounding_that_differs_between_batch_sizes_cannot_flip_a_label() -> None:
    rng = np.random.default_rng(21)
    centroids = unit(rng.normal(size=(200, DIM)))
    latents = posts_with_near_ties(rng, centroids, 2000)
    index = CentroidIndex(DIM, kind="flat")
    index.build(centroids)
    index.index = BatchDependentRounding(centroids)  # type: ignore[assignment]

    results = {size: in_batches(index, latents, centroids, size) for size in BATCH_SIZES}

    rows, similarities = results[1]
    for size in BATCH_SIZES[1:]:
        assert np.array_equal(results[size][0], rows), f"rows differ in batches of {size}"
        assert np.array_equal(results[size][1], similarities), f"similarities differ in batches of {size}"


def test_an_exact_tie_goes_to_the_lowest_row() -> None:
    centroids = unit(np.eye(DIM)[:4] + 0.0)
    latent = unit((centroids[2] + centroids[1])[None, :])
    index = CentroidIndex(DIM, kind="flat")
    index.build(centroids)

    for batch in (latent, np.repeat(latent, 999, axis=0)):
        rows, similarities = index.nearest(batch, centroids)
        assert set(rows.tolist()) == {1}
        assert np.allclose(similarities, np.sqrt(0.5), atol=1e-6)


def test_the_nearest_row_is_still_the_exact_nearest() -> None:
    rng = np.random.default_rng(5)
    centroids = unit(rng.normal(size=(500, DIM)))
    latents = unit(rng.normal(size=(2000, DIM)))
    index = CentroidIndex(DIM, kind="flat")
    index.build(centroids)

    rows, similarities = index.nearest(latents, centroids)

    exact = latents.astype(np.float64) @ centroids.astype(np.float64).T
    assert np.allclose(similarities, exact.max(axis=1), atol=1e-6)
    assert np.all(exact[np.arange(len(latents)), rows] >= exact.max(axis=1) - 2e-6)
