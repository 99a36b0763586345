"""Each distinct word's lexical term hashes, cached: the lexical tokeniser's output for plain texts.

For a plain text (``featurize/words.py``) the lexical tokens are those of its words one after the other, so a
batch's term hashes are one ``bytes.join`` of its words' cached hashes, and only words not seen before go through
the tokeniser's regular expressions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from streamclust.featurize.tokenize import tokenize_all, word_tokens

MAX_CACHED_WORDS = 200_000


class WordTerms:
    """``hashes(words)``: each word's term hashes (``hash_of`` of each of its tokens) packed as int64 bytes.

    ``learn`` is given every token of the words it has not been given before, in the order the words first
    appear, so that a term dictionary fed by it learns tokens in stream order.
    """

    def __init__(self, hash_of: Callable[[str], int]) -> None:
        self.hash_of = hash_of
        self.cache: dict[str, bytes] = {}
        self.learnt: set[str] = set()  # words whose tokens ``learn`` has been given

    def hashes(self, words: list[str], learn: Callable[[str], None] | None = None) -> list[bytes]:
        present = set(words)
        unseen = present.difference(self.cache)
        if len(self.cache) + len(unseen) > MAX_CACHED_WORDS:
            self.forget()  # bounded memory: start over; the next batches refill the common words
            unseen = present
        tokens_of = self.add(list(unseen))
        if learn is not None:
            self.learn_new(words, present.difference(self.learnt), tokens_of, learn)
        return list(map(self.cache.__getitem__, words))

    def learn_new(
        self,
        words: list[str],
        unlearnt: set[str],
        tokens_of: dict[str, list[str]],
        learn: Callable[[str], None],
    ) -> None:
        """Give ``learn`` the tokens of the ``unlearnt`` words, in the order the words first appear in ``words``."""
        if not unlearnt:
            return
        for word in [word for word in dict.fromkeys(words) if word in unlearnt]:
            for token in tokens_of[word] if word in tokens_of else word_tokens(word):
                learn(token)
        self.learnt.update(unlearnt)

    def add(self, words: list[str]) -> dict[str, list[str]]:
        """Cache the hashes of new ``words``, tokenised together (one pass of each pattern); their tokens."""
        if not words:
            return {}
        tokens, lengths = tokenize_all(words)  # a word's tokens never reach MAX_TOKENS before its text's do
        hashes = np.fromiter(map(self.hash_of, tokens), np.int64, len(tokens))
        ends = np.cumsum(lengths).tolist()
        tokens_of = {}
        for word, start, end in zip(words, [0, *ends[:-1]], ends, strict=True):
            self.cache[word] = hashes[start:end].tobytes()
            tokens_of[word] = tokens[start:end]
        return tokens_of

    def forget(self) -> None:
        """Empty the cache (after the term dictionary it feeds was replaced, or to bound memory)."""
        self.cache = {}
        self.learnt = set()
