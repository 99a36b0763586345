"""The static embedder's fast path (word ids cached, one pooled product per batch) gives model2vec's own vectors.

The model here is a small BERT-style one built by hand: BERT's normaliser and pre-tokeniser, a WordPiece
vocabulary, float16 vectors and an unknown token that model2vec drops, like the distilled MiniLM.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from model2vec import StaticModel
from tokenizers import Tokenizer
from tokenizers.models import WordPiece
from tokenizers.normalizers import BertNormalizer
from tokenizers.pre_tokenizers import BertPreTokenizer

from streamclust.featurize.static import StaticEmbedder, mean_pool, normalise_rows
from streamclust.featurize.word_pieces import WordPieceCache

WORDS = [
    "card",
    "lost",
    "stolen",
    "refund",
    "money",
    "back",
    "my",
    "was",
    "café",
    "pay",
    "##ing",
    "##s",
    "##ed",
]
VOCABULARY = ["[UNK]", "[PAD]", *WORDS, ".", ",", "!", "?", "'", "-", "#", "@", ":", "/", "t"]

TEXTS = [
    "my card was lost",
    "Refund my money back!!",
    "paying, refunds? stolen-card",
    "",
    "   \t\n ",
    "unknownword and more unknown words",
    "Café card",  # not ASCII: tokenised whole
    "card\x0bstolen",  # a control character BERT's normaliser drops, joining the words
    "card\u00a0lost",  # a non-breaking space
    "card " * 700,  # longer than the model's max_length tokens
    "#card @lost http://card/refund don't",
]


def bert_like_model(max_length: int | None = 512) -> StaticModel:
    tokenizer = Tokenizer(WordPiece({token: i for i, token in enumerate(VOCABULARY)}, unk_token="[UNK]"))
    tokenizer.normalizer = BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = BertPreTokenizer()
    vectors = np.random.default_rng(3).normal(size=(len(VOCABULARY), 12)).astype(np.float16)
    return StaticModel(vectors, tokenizer, normalize=True, max_length=max_length)


def model2vec_vectors(model: StaticModel, texts: list[str]) -> np.ndarray:
    vectors = model.encode(texts, show_progress_bar=False, use_multiprocessing=False)
    return normalise_rows(np.asarray(vectors, dtype=np.float32))


def test_the_fast_path_is_taken_for_a_bert_style_model_and_gives_model2vecs_vectors() -> None:
    model = bert_like_model()
    embedder = StaticEmbedder(model, dims=12)

    fast = embedder.embed(TEXTS)

    assert embedder._words is not None
    np.testing.assert_array_equal(fast, model2vec_vectors(model, TEXTS))
    assert fast[3].sum() == 0 and fast[4].sum() == 0  # no tokens: a zero row
    assert embedder._words.words  # ASCII words were cached


def test_cached_words_give_the_same_ids_as_the_tokenizer_on_later_batches() -> None:
    model = bert_like_model(max_length=None)
    cache = WordPieceCache(model.tokenizer, max_tokens=None, drop_id=None)
    cache.ids(TEXTS)  # fills the cache

    ids, lengths = cache.ids(TEXTS[::-1])

    expected = [
        encoding.ids for encoding in model.tokenizer.encode_batch(TEXTS[::-1], add_special_tokens=False)
    ]
    assert lengths.tolist() == [len(row) for row in expected]
    assert ids.tolist() == [token for row in expected for token in row]


def test_unknown_tokens_are_dropped_after_truncation_as_model2vec_does() -> None:
    model = bert_like_model(max_length=4)
    embedder = StaticEmbedder(model, dims=12)
    texts = ["zzz card yyy lost money back", "card zzz"]

    np.testing.assert_array_equal(embedder.embed(texts), model2vec_vectors(model, texts))


def test_mean_pool_matches_a_loop_over_texts() -> None:
    table = np.random.default_rng(5).normal(size=(30, 6)).astype(np.float32)
    lengths = np.array([3, 0, 1, 5])
    ids = np.random.default_rng(6).integers(0, 30, size=int(lengths.sum()))

    pooled = mean_pool(table, ids, lengths)

    starts = np.cumsum(lengths) - lengths
    for row, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        expected = table[ids[start : start + length]].mean(axis=0) if length else np.zeros(6)
        np.testing.assert_allclose(pooled[row], expected, rtol=1e-6, atol=1e-7)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.lists(
            st.sampled_from([*WORDS, " ", "  ", "\t", "\n", ".", "!", "'", "x", "É", "é", "\x0c", "\x1f"]),
            max_size=30,
        ).map("".join),
        min_size=1,
        max_size=8,
    )
)
def test_any_batch_of_texts_gets_model2vecs_vectors(texts: list[str]) -> None:
    model = bert_like_model(max_length=16)
    embedder = StaticEmbedder(model, dims=12)

    first = embedder.embed(texts)
    again = embedder.embed(texts)  # now from the word cache

    expected = model2vec_vectors(model, texts)
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)
