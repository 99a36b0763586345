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
from array import array
from collections.abc import Sequence
from itertools import chain
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
    tokens, truncated to ``max_tokens`` and then without ``drop_id`` (model2vec's unknown token).

    Each cached word holds its ids packed as int64 bytes, so a batch's ids are one ``bytes.join`` of its words'.
    """

    def __init__(self, tokenizer: Any, max_tokens: int | None, drop_id: int | None) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.drop_id = drop_id
        self.words: dict[str, bytes] = {}

    def ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        plain = np.array(
            [is_plain(text) for text in texts]
            if has_control_characters(texts)
            else [text.isascii() for text in texts],
            dtype=bool,
        )
        words = [text.split() for text, ok in zip(texts, plain, strict=True) if ok]
        flat_words = list(chain.from_iterable(words))
        self.learn_words(set(flat_words))
        word_pieces = list(map(self.words.__getitem__, flat_words))
        whole_pieces = self.tokenize([text for text, ok in zip(texts, plain, strict=True) if not ok])
        lengths = np.zeros(len(texts), dtype=np.int64)
        lengths[plain] = sums_of_groups(
            ids_in(word_pieces), np.fromiter(map(len, words), np.int64, len(words))
        )
        lengths[~plain] = ids_in(whole_pieces)
        flat = np.frombuffer(b"".join(word_pieces + whole_pieces), dtype=np.int64)
        starts = np.zeros(
            len(texts), dtype=np.int64
        )  # where each text's ids start in ``flat``: plain texts first
        starts[plain] = first_positions(lengths[plain])
        starts[~plain] = int(lengths[plain].sum()) + first_positions(lengths[~plain])
        if self.max_tokens is not None:
            lengths = np.minimum(lengths, self.max_tokens)
        in_text_order = np.repeat(starts - first_positions(lengths), lengths) + np.arange(int(lengths.sum()))
        return self.without_dropped(flat[in_text_order], lengths)

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


def is_plain(text: str) -> bool:
    """ASCII without control characters: its ids are those of its whitespace-separated words."""
    return text.isascii() and not CONTROL_CHARACTERS.search(text)


def has_control_characters(texts: Sequence[str]) -> bool:
    return CONTROL_CHARACTERS.search("".join(texts)) is not None


def ids_in(pieces: list[bytes]) -> np.ndarray:
    """The number of int64 ids packed in each piece."""
    return np.fromiter(map(len, pieces), np.int64, len(pieces)) // 8


def sums_of_groups(values: np.ndarray, group_lengths: np.ndarray) -> np.ndarray:
    """Sums of consecutive groups of ``values``, ``group_lengths`` each (a group may be empty)."""
    totals = np.concatenate([[0], np.cumsum(values)])
    ends = np.cumsum(group_lengths)
    return totals[ends] - totals[ends - group_lengths]


def first_positions(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive groups of these ``lengths`` starts: ``[3, 1, 2]`` gives ``[0, 3, 4]``."""
    return np.cumsum(lengths) - lengths
