"""Whatever text decoding lets through (every plane, NUL, marks, very long words), the featurizers take it; the
one thing the tokenizers refuse, a lone UTF-16 surrogate, never gets past decoding."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_static import tiny_model

from streamclust.config import InputSettings
from streamclust.featurize import HashingFeaturizer
from streamclust.featurize.static import StaticEmbedder
from streamclust.io.decode import decode_json
from streamclust.schema import Post

text_without_surrogates = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300)
odd_texts = st.lists(
    text_without_surrogates
    | st.sampled_from(["a\x00b", "\U0010ffff" * 50, "\u200f\u202e card", "e\u0301" * 200, "x" * 20_000]),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(texts=odd_texts)
def test_the_featurizers_take_any_text_that_decoding_lets_through(texts: list[str]) -> None:
    embedder = StaticEmbedder(tiny_model(), dims=8)
    hashing = HashingFeaturizer(n_features=1024, ngram_max=2)

    vectors = embedder.embed(texts)
    features = hashing.transform(texts)

    assert vectors.shape == (len(texts), 8) and np.isfinite(vectors).all()
    assert len(features) == len(texts)


def test_a_lone_surrogate_is_what_the_tokenizer_refuses_and_decoding_stops_it() -> None:
    embedder = StaticEmbedder(tiny_model(), dims=8)
    with pytest.raises(TypeError):
        embedder.embed(["card \ud800 lost"])

    outcome = decode_json(json.dumps({"id": "1", "text": "card \ud800 lost"}).encode(), InputSettings())

    assert not isinstance(outcome, Post) and outcome[0] == "bad_unicode"
