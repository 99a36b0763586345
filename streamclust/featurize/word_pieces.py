"""Token ids of a batch of texts, with the ids of each word cached: the static featurizer's tokeniser.

A model2vec model tokenises every text with its Hugging Face tokenizer. For the tokenizers its models use (a
per-character normaliser such as BERT's, then a pre-tokeniser that splits on whitespace before anything else),
the ids of a text are the ids of its whitespace-separated words one after the other, so each distinct word needs
tokenising once. That holds for plain ASCII text; any text with other characters (or control characters, which
some normalisers drop) goes through the tokenizer whole, as before. The result is the same ids either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

# Normalisers that act on each character alone, and pre-tokenisers whose first step is a split on whitespace.
PER_CHARACTER_NORMALIZERS = {None, "BertNormalizer", "Lowercase"}
WHITESPACE_FIRST_PRE_TOKENIZERS = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_CACHED_WORDS = 200_000


def splits_on_whitespace_first(tokenizer: Any) -> bool:
    """True when ``tokenizer``'s ids of a plain ASCII text are the concatenated ids of its words."""
    config = json.loads(tokenizer.to_str())
    normalizer = (config.get("normalizer") or {}).get("type")
    pre_tokenizer = (config.get("pre_tokenizer") or {}).get("type")
    return normalizer in PER_CHARACTER_NORMALIZERS and pre_tokenizer in WHITESPACE_FIRST_PRE_TOKENIZERS


class WordPieceCache:
    """``ids(texts)``: flat token ids and the number of ids per text, as ``tokenizer`` gives them without special
    tokens, truncated to ``max_tokens`` and then without ``drop_id`` (model2vec's unknown token)."""

    def __init__(self, tokenizer: Any, max_tokens: int | None, drop_id: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.drop_id = drop_id
        self.words: dict[str, list[int]] = {}

    def ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        split: list[list[str] | None] = [
            text.split() if text.isascii() and not CONTROL_CHARACTERS.search(text) else None for text in texts
        ]
        self.learn_words({word for words in split if words is not None for word in words})
        whole_texts = [text for text, words in zip(texts, split, strict=True) if words is None]
        whole_ids = iter(self.tokenize(whole_texts))
        words_ids = self.words
        flat: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, words in enumerate(split):
            ids = next(whole_ids) if words is None else [token for word in words for token in words_ids[word]]
            if self.max_tokens is not None:
                ids = ids[: self.max_tokens]
            flat.extend(ids)
            lengths[row] = len(ids)
        return self.without_dropped(np.asarray(flat, dtype=np.int64), lengths)

    def without_dropped(self, flat: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Remove ``drop_id`` after truncation, as model2vec removes the unknown token."""
        if self.drop_id is None:
            return flat, lengths
        kept = flat != self.drop_id
        rows = np.repeat(np.arange(len(lengths)), lengths)
        return flat[kept], np.bincount(rows[kept], minlength=len(lengths)).astype(np.int64)

    def learn_words(self, words: set[str]) -> None:
        unseen = [word for word in words if word not in self.words]
        if not unseen:
            return
        if len(self.words) + len(unseen) > MAX_CACHED_WORDS:
            self.words = {}  # bounded memory: start over; the next batches refill the common words
        self.words.update(zip(unseen, self.tokenize(unseen), strict=True))

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        if not texts:
            return []
        return [
            encoding.ids for encoding in self.tokenizer.encode_batch_fast(texts, add_special_tokens=False)
        ]
