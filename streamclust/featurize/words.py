"""A batch of texts split into whitespace-separated words once, for both tokenisers that can start from words.

The static model's word pieces and the lexical terms are both, for a plain text (ASCII without control
characters), the concatenation of what each of its words gives alone: the model's tokenizer splits on whitespace
before anything else, and no pattern of the lexical tokeniser matches across whitespace. So each distinct word
needs tokenising once per cache, and a batch needs splitting once. Other texts are tokenised whole, as before.

>>> split = WordSplit.of(["my card", "café ok", "lost  it"])
>>> split.plain.tolist(), split.words, split.counts.tolist()
([True, False, True], ['my', 'card', 'lost', 'it'], [2, 2])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class WordSplit:
    """Which texts are plain, the words of the plain ones (one text after the other) and how many each has."""

    plain: np.ndarray  # bool, one per text
    words: list[str]
    counts: np.ndarray  # int64, one per plain text

    @classmethod
    def of(cls, texts: Sequence[str]) -> WordSplit:
        plain = np.array(
            [is_plain(text) for text in texts]
            if has_control_characters(texts)
            else [text.isascii() for text in texts],
            dtype=bool,
        )
        words = [text.split() for text, ok in zip(texts, plain, strict=True) if ok]
        counts = np.fromiter(map(len, words), np.int64, len(words))
        return cls(plain, list(chain.from_iterable(words)), counts)


def is_plain(text: str) -> bool:
    """ASCII without control characters: its tokens are those of its whitespace-separated words."""
    return text.isascii() and not CONTROL_CHARACTERS.search(text)


def has_control_characters(texts: Sequence[str]) -> bool:
    return CONTROL_CHARACTERS.search("".join(texts)) is not None


def packed_lengths(pieces: list[bytes]) -> np.ndarray:
    """The number of int64 values packed in each piece."""
    return np.fromiter(map(len, pieces), np.int64, len(pieces)) // 8


def sums_of_groups(values: np.ndarray, group_lengths: np.ndarray) -> np.ndarray:
    """Sums of consecutive groups of ``values``, ``group_lengths`` each (a group may be empty)."""
    totals = np.concatenate([[0], np.cumsum(values)])
    ends = np.cumsum(group_lengths)
    return totals[ends] - totals[ends - group_lengths]


def first_positions(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive groups of these ``lengths`` starts: ``[3, 1, 2]`` gives ``[0, 3, 4]``."""
    return np.cumsum(lengths) - lengths


def in_text_order(
    plain: np.ndarray,
    word_pieces: list[bytes],
    word_counts: np.ndarray,
    whole_pieces: list[bytes],
    max_values: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's int64 values, one text after the other, and how many each has (at most ``max_values``).

    ``word_pieces`` holds the packed values of each word of the plain texts (``word_counts`` words each),
    ``whole_pieces`` those of each other text; texts are put back in their order.
    """
    lengths = np.zeros(len(plain), dtype=np.int64)
    lengths[plain] = sums_of_groups(packed_lengths(word_pieces), word_counts)
    lengths[~plain] = packed_lengths(whole_pieces)
    flat = np.frombuffer(b"".join(word_pieces + whole_pieces), dtype=np.int64)
    starts = np.zeros(len(plain), dtype=np.int64)  # where each text's values start in ``flat``: plain first
    starts[plain] = first_positions(lengths[plain])
    starts[~plain] = int(lengths[plain].sum()) + first_positions(lengths[~plain])
    if max_values is not None:
        lengths = np.minimum(lengths, max_values)
    kept = np.repeat(starts - first_positions(lengths), lengths) + np.arange(int(lengths.sum()))
    return flat[kept], lengths
