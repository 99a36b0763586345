"""The checkpoint round trip holds for every featurizer: a restored engine captures to the very same state, labels
a probe set the same, and goes on exactly like the original. The static and hybrid featurizers run on a small
model2vec model made here from the stream's own words (no distillation needed)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from model2vec import StaticModel
from state_support import assigned, banking_posts, banking_texts, run, same_state, small_settings
from tokenizers import Tokenizer, normalizers
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import Whitespace

from streamclust.engine import Engine
from streamclust.state.capture import capture, restore
from streamclust.state.codec import decode_state, encode_state

STREAM = banking_posts(900)
PROBE = banking_posts(200, start=7000)


@pytest.fixture(scope="module")
def word_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model2vec model with a random 16-d vector for each of the 3,000 commonest words of Banking77."""
    words = Counter(word for text in banking_texts() for word in re.findall(r"\w+", text.lower()))
    vocabulary = ["[UNK]", "[PAD]", *(word for word, _ in words.most_common(3_000))]
    tokenizer = Tokenizer(WordLevel({word: i for i, word in enumerate(vocabulary)}, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = Whitespace()
    vectors = np.random.default_rng(11).normal(size=(len(vocabulary), 16)).astype(np.float32)
    folder = tmp_path_factory.mktemp("word-model")
    StaticModel(vectors, tokenizer).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("kind", ["hashing", "static", "hybrid"])
def test_every_featurizer_round_trips_through_a_checkpoint(kind: str, word_model: Path) -> None:
    featurize = {"kind": kind, "n_features": 4096, "static_model": str(word_model), "static_dims": 16}
    settings = small_settings().model_copy(
        update={"featurize": small_settings().featurize.model_validate(featurize)}
    )
    original = Engine.from_settings(settings)
    run(original, STREAM[:600])
    state = decode_state(encode_state(capture(original)))

    restored = restore(state, settings)

    assert same_state(capture(restored), state)
    assert assigned(restored, PROBE) == assigned(original, PROBE)
    assert run(restored, STREAM[600:]) == run(original, STREAM[600:])
