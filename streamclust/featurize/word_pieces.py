"""Token ids of a batch of texts, with the ids of each word cached: the static featurizer's tokeniser.

A model2vec model tokenises every text with its Hugging Face tokenizer. For the tokenizers its models use (a
per-character normaliser such as BERT's, then a pre-tokeniser that splits on whitespace before anything else),
the ids of a text are the ids of its whitespace-separated words one after the other, so each distinct word needs
tokenising once. That holds for plain ASCII text (``featurize/words.py``); any text with other characters (or
control characters, which some normalisers drop) goes through the tokenizer whole. The result is the same ids
either way.
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np

from streamclust.featurize.words import WordSplit, in_text_order

# Normalisers that act on each character alone, and pre-tokenisers whose first step is a split on whitespace.
PER_CHARACTER_NORMALIZERS = {None, "BertNormalizer", "Lowercase"}
WHITESPACE_FIRST_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}
MAX_CACHED_WORDS = 200_000


def splits_on_whitespace_first(tokenizer: Any) -> bool:
    """True when ``tokenizer``'s ids of a plain ASCII text are the concatenated ids of its words."""
    config = json.loads(tokenizer.to_str())
    normalizer = (config.get("normalizer") or {}).get("type")
    pre_tokenizer = (config.get("pre_tokenizer") or {}).get("type")
    return normalizer in PER_CHARACTER_NORMALIZERS and pre_tokenizer in WHITESPACE_FIRST_PRE_TOKENIZERS


class WordPieceCache:
    """``ids(texts)``: flat token ids and the number of ids per text, as ``tokenizer`` gives them without special
    tokens, truncated to ``max_tokens`` and then without ``drop_id`` (model2vec's unknown token).

    Each cached word holds its ids packed as int64 bytes, so a batch's ids are one ``bytes.join`` of its words'.
    """

    def __init__(self, tokenizer: Any, max_tokens: int | None, drop_id: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.drop_id = drop_id
        self.words: dict[str, bytes] = {}

    def ids(self, texts: Sequence[str], split: WordSplit | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``split``: ``WordSplit.of(texts)`` if the caller already has it."""
        split = WordSplit.of(texts) if split is None else split
        self.learn_words(set(split.words))
        word_pieces = list(map(self.words.__getitem__, split.words))
        whole_pieces = self.tokenize([text for text, ok in zip(texts, split.plain, strict=True) if not ok])
        flat, lengths = in_text_order(split.plain, word_pieces, split.counts, whole_pieces, self.max_tokens)
        return self.without_dropped(flat, lengths)

    def without_dropped(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove ``drop_id`` after truncation, as model2vec removes the unknown token."""
        if self.drop_id is None:
            return flat, lengths
        kept = flat != self.drop_id
        rows = np.repeat(np.arange(len(lengths)), lengths)
        return flat[kept], np.bincount(rows[kept], minlength=len(lengths)).astype(np.int64)

    def learn_words(self, words: set[str]) -> None:
        unseen = list(words.difference(self.words))
        if not unseen:
            return
        if len(self.words) + len(unseen) > MAX_CACHED_WORDS:
            self.words = {}  # bounded memory: start over; the next batches refill the common words
        self.words.update(zip(unseen, self.tokenize(unseen), strict=True))

    def tokenize(self, texts: list[str]) -> list[bytes]:
        """Each text's ids, packed as int64 bytes."""
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        return [array("q", encoding.ids).tobytes() for encoding in encodings]  # native int64, as numpy's
