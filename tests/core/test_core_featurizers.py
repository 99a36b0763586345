"""A contract every featurizer keeps, then what the hashing featurizer adds (online IDF, readable terms).

The static and hybrid featurizers run here on a fake embedder (a fixed random vector per word), so the checks
need no model download; the real embedder has its own tests.
"""

from __future__ import annotations

import copy
import doctest
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import pytest

import streamclust.featurize.hashing
from streamclust.featurize import Featurizer, HashingFeaturizer
from streamclust.featurize.base import FeatureBatch
from streamclust.featurize.semantic import HybridFeaturizer, StaticFeaturizer
from streamclust.featurize.words import WordSplit

POSTS = [
    "my card was declined at the terminal",
    "card declined again, please help",
    "flight delayed at the airport gate",
    "lost my luggage after the flight",
    "Straße café #travel @someone 42",
]
LATER = ["refund for the delayed flight", "new card pin blocked", "card card card"]


class WordVectors:
    """A fake static embedder: the mean of a fixed random vector per word, unit length."""

    dims = 24

    def embed_later(self, texts: Sequence[str], split: WordSplit | None = None) -> Callable[[], np.ndarray]:
        vectors = self.embed(texts)
        return lambda: vectors

    def embed(self, texts: Sequence[str], split: WordSplit | None = None) -> np.ndarray:
        rows = []
        for text in texts:
            words = text.lower().split() or [""]
            vectors = [
                np.random.default_rng(zlib.crc32(word.encode())).normal(size=self.dims) for word in words
            ]
            mean = np.mean(vectors, axis=0)
            rows.append(mean / np.linalg.norm(mean))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dims)


FEATURIZERS: dict[str, Callable[[], Featurizer]] = {
    "hashing": lambda: HashingFeaturizer(n_features=4096),
    "static": lambda: StaticFeaturizer(WordVectors(), HashingFeaturizer(n_features=4096)),
    "hybrid": lambda: HybridFeaturizer(WordVectors(), HashingFeaturizer(n_features=4096), lexical_weight=0.3),
}


@pytest.fixture(params=sorted(FEATURIZERS))
def make_featurizer(request: pytest.FixtureRequest) -> Callable[[], Featurizer]:
    return FEATURIZERS[request.param]


def rows(batch: FeatureBatch) -> np.ndarray:
    return batch.to_dense()


def test_one_row_per_post_with_the_declared_widths(make_featurizer: Callable[[], Featurizer]) -> None:
    featurizer = make_featurizer()
    batch = featurizer.transform(POSTS)

    assert len(batch) == len(POSTS) == batch.terms.n_rows
    assert rows(batch).shape == (len(POSTS), featurizer.sparse_columns + featurizer.dense_columns)
    assert len(featurizer.transform([])) == 0


def test_every_post_with_a_word_has_a_unit_length_row(make_featurizer: Callable[[], Featurizer]) -> None:
    norms = np.linalg.norm(rows(make_featurizer().transform(POSTS)), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_two_featurizers_fed_the_same_posts_give_the_same_features(
    make_featurizer: Callable[[], Featurizer],
) -> None:
    first, second = make_featurizer(), make_featurizer()
    for featurizer in (first, second):
        featurizer.transform(POSTS)
    np.testing.assert_array_equal(rows(first.transform(LATER)), rows(second.transform(LATER)))


def test_a_snapshot_restored_elsewhere_gives_identical_features(
    make_featurizer: Callable[[], Featurizer],
) -> None:
    original = make_featurizer()
    original.transform(POSTS)
    # a checkpoint is written and read back: the restored featurizer shares nothing with the original
    state = copy.deepcopy(original.snapshot())
    restored = make_featurizer()
    restored.restore(state)

    np.testing.assert_array_equal(rows(restored.transform(LATER)), rows(original.transform(LATER)))
    np.testing.assert_array_equal(rows(restored.transform(POSTS)), rows(original.transform(POSTS)))
    assert restored.term(int(restored.transform(["declined"]).terms.indices[0])) == "declined"


def test_learn_false_leaves_the_statistics_alone(make_featurizer: Callable[[], Featurizer]) -> None:
    featurizer = make_featurizer()
    featurizer.transform(POSTS)
    before = rows(featurizer.transform(LATER, learn=False))
    featurizer.transform(LATER * 3, learn=False)
    np.testing.assert_array_equal(rows(featurizer.transform(LATER, learn=False)), before)


def test_learn_false_changes_nothing_a_checkpoint_would_hold(
    make_featurizer: Callable[[], Featurizer],
) -> None:
    featurizer = make_featurizer()
    featurizer.transform(POSTS)
    before = copy.deepcopy(featurizer.snapshot())
    featurizer.transform(["words never seen before", *LATER], learn=False)
    assert same_snapshot(featurizer.snapshot(), before)
    featurizer.transform(["words never seen before"])
    assert not same_snapshot(featurizer.snapshot(), before)


def same_snapshot(left: object, right: object) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same_snapshot(left[k], right[k]) for k in left)
    if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
        return bool(np.array_equal(left, right))  # type: ignore[arg-type]
    return left == right


def test_keyword_terms_are_raw_unigram_counts(make_featurizer: Callable[[], Featurizer]) -> None:
    featurizer = make_featurizer()
    terms = featurizer.transform(["card card declined"]).terms
    pairs = zip(terms.indices.tolist(), terms.values.tolist(), strict=True)
    counted = {featurizer.term(column): value for column, value in pairs}
    assert counted == {"card": 2.0, "declined": 1.0}


# -- the hashing featurizer -----------------------------------------------------------------------------------


def test_the_hashing_example_runs() -> None:
    assert doctest.testmod(streamclust.featurize.hashing).failed == 0


def weight_of(featurizer: HashingFeaturizer, batch: FeatureBatch, row: int, token: str) -> float:
    assert batch.sparse is not None
    column = featurizer.hash_term(token) % featurizer.sparse_columns
    start, end = batch.sparse.indptr[row], batch.sparse.indptr[row + 1]
    values = dict(
        zip(batch.sparse.indices[start:end].tolist(), batch.sparse.values[start:end].tolist(), strict=True)
    )
    return values[column]


def test_idf_downweights_a_term_that_is_in_every_post() -> None:
    featurizer = HashingFeaturizer(n_features=4096, ngram_max=1)
    featurizer.transform([f"hello topic{i}" for i in range(200)])

    batch = featurizer.transform(["hello unusual"], learn=False)

    assert weight_of(featurizer, batch, 0, "hello") < 0.5 * weight_of(featurizer, batch, 0, "unusual")
    fresh = HashingFeaturizer(n_features=4096, ngram_max=1)
    first_sight = fresh.transform(["hello unusual"], learn=False)
    assert weight_of(fresh, first_sight, 0, "hello") == pytest.approx(
        weight_of(fresh, first_sight, 0, "unusual")
    )


def test_document_frequencies_fade_with_their_half_life() -> None:
    featurizer = HashingFeaturizer(n_features=4096, ngram_max=1, idf_half_life_posts=100)
    featurizer.transform(["hello world"] * 100)
    column = featurizer.hash_term("hello") % 4096
    seen = featurizer.document_frequency[column]

    featurizer.transform(["something else"] * 100)

    assert featurizer.document_frequency[column] == pytest.approx(seen / 2, rel=1e-9)


def test_repeating_a_word_counts_sublinearly() -> None:
    featurizer = HashingFeaturizer(n_features=4096, ngram_max=1)
    batch = featurizer.transform(["card card card card pin"], learn=False)
    ratio = weight_of(featurizer, batch, 0, "card") / weight_of(featurizer, batch, 0, "pin")
    assert ratio == pytest.approx(1.0 + np.log(4.0), rel=1e-5)


def test_bigrams_tell_word_order_apart_and_stay_within_a_post() -> None:
    featurizer = HashingFeaturizer(n_features=2**16, ngram_max=2)
    batch = featurizer.transform(["dog bites man", "man bites dog", "dog", "bites"], learn=False)
    assert batch.sparse is not None
    dense = batch.sparse.to_dense()
    assert np.count_nonzero(dense[0]) == 5 and np.count_nonzero(dense[1]) == 5
    assert not np.allclose(dense[0], dense[1])
    assert np.count_nonzero(dense[2]) == 1 and np.count_nonzero(dense[3]) == 1, "no bigram across posts"


def test_a_post_without_words_is_a_zero_row() -> None:
    featurizer = HashingFeaturizer(n_features=1024)
    batch = featurizer.transform(["?!", "card declined"])
    assert batch.sparse is not None
    assert batch.sparse.indptr[1] == 0
    assert np.linalg.norm(batch.sparse.to_dense()[1]) == pytest.approx(1.0)


def test_the_seed_changes_the_hashing() -> None:
    texts = ["card declined at the terminal"]
    first = HashingFeaturizer(n_features=4096, seed=1).transform(texts).sparse
    second = HashingFeaturizer(n_features=4096, seed=2).transform(texts).sparse
    assert first is not None and second is not None
    assert set(first.indices.tolist()) != set(second.indices.tolist())
