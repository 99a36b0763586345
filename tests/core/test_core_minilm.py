"""The teacher's MiniLM, run with torch alone, gives the vectors sentence-transformers gives the same checkpoint."""

from __future__ import annotations

import os

import numpy as np
import pytest

from streamclust.encode.minilm import MAX_TOKENS, MiniLM
from streamclust.featurize.static import packaged_minilm_folder

TEXTS = [
    "my card was declined at the shop",
    "why is the exchange rate on my transfer wrong?",
    "how to iterate over a dict in python",
    "",
    "Ünïcödé ✓ 😀 and a tab\there",
    "word " * (2 * MAX_TOKENS),  # longer than the model reads: both truncate it
]


@pytest.fixture(scope="module")
def minilm() -> MiniLM:
    return MiniLM(packaged_minilm_folder())


@pytest.mark.slow
def test_the_vectors_are_sentence_transformers_vectors(minilm: MiniLM) -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"  # the folder is local; never ask the model hub
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(packaged_minilm_folder()), device="cpu")
    expected = reference.encode(TEXTS, convert_to_numpy=True)
    ours = minilm.embed(TEXTS)
    assert ours.shape == expected.shape == (len(TEXTS), 384)
    assert np.abs(ours - expected).max() < 1e-4


def test_vectors_do_not_depend_on_the_batch_they_are_in(minilm: MiniLM) -> None:
    together = minilm.embed(TEXTS)
    alone = np.vstack([minilm.embed([text]) for text in TEXTS])
    assert np.abs(together - alone).max() < 1e-5
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_no_texts_no_vectors(minilm: MiniLM) -> None:
    assert minilm.embed([]).shape == (0, 384)
