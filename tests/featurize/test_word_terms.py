"""Lexical terms hashed word by word from a cache are those of tokenising each text whole, learnt in the same order."""

from __future__ import annotations

import zlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from streamclust.featurize.hashing import HashingFeaturizer
from streamclust.featurize.tokenize import tokenize
from streamclust.featurize.words import WordSplit, in_text_order

PIECES = ["card", "Lost", " ", "  ", "\t", "\n", "@ann", "#top", "up", "3,50", "12:30", "https://x.co/a b"]
PIECES += ["www.bank.com", "don't", "'", "-", "_", "a1", "#5", "café", "\x0b", "!", ".", "x@y"]
TEXTS = st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map("".join), max_size=8)


def whole_text_hashes(featurizer: HashingFeaturizer, text: str) -> list[int]:
    return [zlib.crc32(token.encode("utf-8"), featurizer.salt) for token in tokenize(text)]


@settings(max_examples=200, deadline=None)
@given(TEXTS, TEXTS)
def test_every_batch_gets_the_hashes_of_its_texts_tokenised_whole(
    first: list[str], second: list[str]
) -> None:
    featurizer = HashingFeaturizer(n_features=1024, seed=7)
    for texts in (first, second, first):  # the second time, every word comes from the cache
        hashes, lengths = featurizer.hash_texts(texts)
        ends = np.cumsum(lengths)
        each = [hashes[end - length : end].tolist() for end, length in zip(ends, lengths, strict=True)]
        assert each == [whole_text_hashes(featurizer, text) for text in texts]


def test_the_term_dictionary_learns_tokens_in_the_order_they_first_appear() -> None:
    featurizer = HashingFeaturizer(n_features=1024)
    featurizer.hash_texts(["top up my card", "card top-up failed", "my refund"])
    assert list(featurizer.term_hashes) == ["top", "up", "my", "card", "failed", "refund"]


def test_words_first_seen_without_learning_are_learnt_when_seen_again_with_it() -> None:
    featurizer = HashingFeaturizer(n_features=1024)
    featurizer.hash_texts(["exchange rate"], learn=False)
    assert featurizer.term_hashes == {}
    featurizer.hash_texts(["exchange rate today"])
    assert list(featurizer.term_hashes) == ["exchange", "rate", "today"]


def test_a_restored_dictionary_learns_the_words_it_does_not_hold_again() -> None:
    featurizer = HashingFeaturizer(n_features=1024)
    featurizer.hash_texts(["card"])
    before = featurizer.snapshot()
    featurizer.hash_texts(["refund"])
    featurizer.restore(before)
    featurizer.hash_texts(["refund"])
    assert list(featurizer.term_hashes) == ["card", "refund"]


def test_texts_with_other_characters_are_tokenised_whole_and_kept_in_their_place() -> None:
    split = WordSplit.of(["my card", "café ok", "lost\x0bit", "it"])
    assert split.plain.tolist() == [True, False, False, True]
    words = [np.array([value], dtype=np.int64).tobytes() for value in (1, 2, 3)]  # my, card, it
    whole = [np.array([7, 8], dtype=np.int64).tobytes(), np.array([9], dtype=np.int64).tobytes()]
    flat, lengths = in_text_order(split.plain, words, split.counts, whole, max_values=None)
    assert flat.tolist() == [1, 2, 7, 8, 9, 3] and lengths.tolist() == [2, 2, 1, 1]
    cut, cut_lengths = in_text_order(split.plain, words, split.counts, whole, max_values=1)
    assert cut.tolist() == [1, 7, 9, 3] and cut_lengths.tolist() == [1, 1, 1, 1]


def test_a_word_of_more_tokens_than_a_text_keeps_gives_its_text_the_first_ones() -> None:
    featurizer = HashingFeaturizer(n_features=1024)
    long_word = ".".join(f"w{n}x" for n in range(150))
    texts = [long_word, f"card lost {long_word}", f"{long_word} card"]
    for _ in range(2):  # tokenised, then from the cache
        hashes, lengths = featurizer.hash_texts(texts)
        assert lengths.tolist() == [96, 96, 96]
        ends = np.cumsum(lengths)
        each = [hashes[end - 96 : end].tolist() for end in ends]
        assert each == [whole_text_hashes(featurizer, text) for text in texts]
