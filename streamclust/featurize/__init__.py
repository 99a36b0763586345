"""Text to vectors: the autoencoder's input. ``hashing`` (lexical), ``static`` (model2vec), ``hybrid`` (both)."""

from __future__ import annotations

from streamclust.config import FeaturizeSettings
from streamclust.featurize.base import FeatureBatch, Featurizer, SparseRows
from streamclust.featurize.hashing import HashingFeaturizer

__all__ = ["FeatureBatch", "Featurizer", "HashingFeaturizer", "SparseRows", "build_featurizer"]


def build_featurizer(settings: FeaturizeSettings, seed: int = 0) -> Featurizer:
    """The featurizer the settings ask for (the static model is distilled and cached on first use)."""
    lexical = HashingFeaturizer(
        n_features=settings.n_features,
        ngram_max=settings.ngram_max,
        idf_half_life_posts=settings.idf_half_life_posts,
        seed=seed,
    )
    if settings.kind == "hashing":
        return lexical
    from streamclust.featurize.semantic import HybridFeaturizer, StaticFeaturizer
    from streamclust.featurize.static import load_static_embedder

    embedder = load_static_embedder(settings.static_model, settings.static_dims, settings.cache_dir)
    if settings.kind == "static":
        return StaticFeaturizer(embedder, lexical)
    return HybridFeaturizer(embedder, lexical, settings.hybrid_lexical_weight)
