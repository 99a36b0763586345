"""Featurizers built on a static embedding model: ``static`` (semantic only) and ``hybrid`` (lexical + semantic).

Both keep a hashing featurizer alongside for cluster keywords; ``hybrid`` also feeds its sparse part to the
autoencoder, scaled so that ``lexical_weight`` is the lexical share of a dot product between two posts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from streamclust.featurize.base import FeatureBatch, SparseRows
from streamclust.featurize.hashing import HashingFeaturizer
from streamclust.featurize.words import WordSplit


class Embedder(Protocol):
    dims: int

    def embed(self, texts: Sequence[str], split: WordSplit | None = None) -> np.ndarray: ...

    def embed_later(self, texts: Sequence[str], split: WordSplit | None = None) -> Callable[[], np.ndarray]:
        """Start ``embed``; the function returned gives its vectors (it may work while the caller does)."""
        ...


class StaticFeaturizer:
    """Dense semantic features from a static embedding model; lexical terms only for keywords."""

    sparse_columns = 0

    def __init__(self, embedder: Embedder, lexical: HashingFeaturizer) -> None:
        self.embedder = embedder
        self.lexical = lexical
        self.dense_columns = embedder.dims

    def transform(self, texts: Sequence[str], learn: bool = True) -> FeatureBatch:
        split = WordSplit.of(texts)  # both tokenisers start from the same words
        vectors = self.embedder.embed_later(texts, split)
        # keywords need the unigram counts only, not the TF-IDF
        terms = self.lexical.terms(texts, learn=learn, split=split)
        return FeatureBatch(terms=terms, dense=vectors().astype(np.float32))

    def term(self, column: int) -> str | None:
        return self.lexical.term(column)

    def snapshot(self) -> dict[str, Any]:
        return {"lexical": self.lexical.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.lexical.restore(state["lexical"])


class HybridFeaturizer(StaticFeaturizer):
    """Hashed TF-IDF and static embeddings side by side, weighted by ``lexical_weight``."""

    def __init__(self, embedder: Embedder, lexical: HashingFeaturizer, lexical_weight: float = 0.5) -> None:
        super().__init__(embedder, lexical)
        self.sparse_columns = lexical.sparse_columns
        self.lexical_scale = float(np.sqrt(lexical_weight))
        self.semantic_scale = float(np.sqrt(1.0 - lexical_weight))

    def transform(self, texts: Sequence[str], learn: bool = True) -> FeatureBatch:
        split = WordSplit.of(texts)
        vectors = self.embedder.embed_later(texts, split)
        lexical = self.lexical.transform(texts, learn=learn, split=split)
        assert lexical.sparse is not None
        sparse = lexical.sparse
        scaled = SparseRows(
            sparse.indptr, sparse.indices, sparse.values * self.lexical_scale, sparse.n_columns
        )
        dense = vectors().astype(np.float32) * self.semantic_scale
        return FeatureBatch(terms=lexical.terms, sparse=scaled, dense=dense)
