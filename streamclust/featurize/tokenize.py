"""Unicode-aware tokenisation for short posts.

Normalises to NFC, lower-cases, replaces URLs, @mentions and numbers by placeholder tokens (``xxurl``,
``xxuser``, ``xxnum``), keeps hashtags (``#topic``) and splits on anything that is not a word character.

>>> tokenize("Check https://x.co/abc @Ann: 3 new #Cats, café!")
['check', 'xxurl', 'xxuser', 'xxnum', 'new', '#cats', 'café']
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from itertools import chain

import numpy as np

from streamclust.featurize.words import first_positions

_URL = re.compile(r"(?:https?://|www\.)\S+")
# A mention not glued to a word, r"(?<!\w)@\w+", a number not glued to a word or a hashtag,
# r"(?<![\w#])\d+(?:[.,:/]\d+)*", and a word, perhaps a hashtag, perhaps with an apostrophe,
# r"#?[^\W_]+(?:'[^\W_]+)?": spelled so that each starts with a character or a character class, which lets the
# regex engine skip straight to where a match can start. Same matches.
_MENTION = re.compile(r"@(?<!\w@)\w+")
_NUMBER = re.compile(r"\d(?<![\w#]\d)\d*(?:[.,:/]\d+)*")
_TOKEN = re.compile(r"(?:#[^\W_]|[^\W_])[^\W_]*(?:'[^\W_]+)?")

# Between the texts of a batch: whitespace, so no pattern matches across it, and a token of its own.
SEPARATOR = "\x1e"
_TOKEN_OR_SEPARATOR = re.compile(f"{_TOKEN.pattern}|{SEPARATOR}")

MAX_TOKENS = 96  # longer posts are cut: the head of a post carries its topic


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(with_placeholders(unicodedata.normalize("NFC", text).lower()))[:MAX_TOKENS]


def word_tokens(word: str) -> list[str]:
    """``tokenize`` of one plain (ASCII, no whitespace) word, not cut at ``MAX_TOKENS``: a plain text's tokens
    are its words' one after the other, since no pattern matches across whitespace."""
    return _TOKEN.findall(with_placeholders(word.lower()))


def tokenize_all(texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The tokens of every text, one after the other, and the number of tokens of each: ``tokenize`` of each
    text, with each regex pass run once over the whole batch (the texts joined by ``SEPARATOR``)."""
    lowered = [unicodedata.normalize("NFC", text).lower() for text in texts]
    joined = SEPARATOR.join(lowered)
    if len(texts) == 0 or joined.count(SEPARATOR) != len(texts) - 1:  # a text holds the separator itself
        token_lists = [_TOKEN.findall(with_placeholders(text))[:MAX_TOKENS] for text in lowered]
        return list(chain.from_iterable(token_lists)), np.array(list(map(len, token_lists)), dtype=np.int64)
    tokens = _TOKEN_OR_SEPARATOR.findall(with_placeholders(joined))
    separators = positions_of(SEPARATOR, tokens, len(texts) - 1)
    starts = np.concatenate([[0], separators + 1])
    lengths = np.minimum(np.append(separators, len(tokens)) - starts, MAX_TOKENS)
    kept = np.repeat(starts - first_positions(lengths), lengths) + np.arange(int(lengths.sum()))
    return np.array(tokens, dtype=object)[kept].tolist(), lengths


def with_placeholders(text: str) -> str:
    """URLs, @mentions and numbers replaced by ``xxurl``, ``xxuser`` and ``xxnum``."""
    if "://" in text or "www." in text:  # the substring tests skip a regex pass that would find nothing
        text = _URL.sub(" xxurl ", text)
    if "@" in text:
        text = _MENTION.sub(" xxuser ", text)
    return _NUMBER.sub(" xxnum ", text)


def positions_of(value: str, items: list[str], count: int) -> np.ndarray:
    """Where the first ``count`` occurrences of ``value`` are in ``items`` (it occurs at least that often)."""
    positions = np.empty(count, dtype=np.int64)
    at = -1
    for number in range(count):
        at = items.index(value, at + 1)
        positions[number] = at
    return positions
