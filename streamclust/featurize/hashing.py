"""Hashed uni- and bigram features with online IDF: sparse, sublinear TF, L2-normalised rows.

Document frequencies decay with a half-life counted in posts, so the IDF follows the stream. A bounded term
dictionary maps hashed unigram columns back to a readable token for cluster keywords.

>>> featurizer = HashingFeaturizer(n_features=1024)
>>> batch = featurizer.transform(["my card was declined", "card declined again"])
>>> batch.sparse.n_rows, round(float((batch.sparse.values[:batch.sparse.indptr[1]] ** 2).sum()), 4)
(2, 1.0)
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np

from streamclust.featurize.base import FeatureBatch, SparseRows
from streamclust.featurize.tokenize import MAX_TOKENS, tokenize_all
from streamclust.featurize.word_terms import WordTerms
from streamclust.featurize.words import WordSplit, in_text_order

_GOLDEN = np.uint64(0x9E3779B1)
_MASK = np.uint64(0xFFFFFFFF)
NOT_KNOWN = -1  # no 32-bit hash: a token the term dictionary does not hold


def combine_hashes(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """A 32-bit hash of an ordered pair of 32-bit hashes (for n-grams)."""
    mixed = (left.astype(np.uint64) * _GOLDEN) & _MASK
    return (
        (mixed ^ (right.astype(np.uint64) + np.uint64(0x7F4A7C15) + (mixed >> np.uint64(6)))) & _MASK
    ).astype(np.int64)


def count_pairs(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int) -> SparseRows:
    """CSR counts of (row, column) pairs, rows in order."""
    keys, counts = np.unique(rows * n_columns + columns, return_counts=True)
    out_rows = keys // n_columns
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(out_rows, minlength=n_rows), out=indptr[1:])
    return SparseRows(indptr, keys % n_columns, counts.astype(np.float32), n_columns)


def normalize_rows(rows: SparseRows) -> SparseRows:
    squares = np.bincount(rows.row_ids(), weights=rows.values.astype(np.float64) ** 2, minlength=rows.n_rows)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    values = (rows.values / norms[rows.row_ids()]).astype(np.float32)
    return SparseRows(rows.indptr, rows.indices, values, rows.n_columns)


class HashingFeaturizer:
    """Text -> hashed uni/bigram TF-IDF rows. ``transform(texts, learn=True)`` updates document frequencies."""

    dense_columns = 0

    def __init__(
        self,
        n_features: int = 2**15,
        ngram_max: int = 2,
        idf_half_life_posts: int = 50_000,
        max_terms: int = 500_000,
        seed: int = 0,
    ) -> None:
        self.sparse_columns = n_features
        self.ngram_max = ngram_max
        self.idf_half_life_posts = idf_half_life_posts
        self.max_terms = max_terms
        self.salt = seed & 0xFFFFFFFF
        self.term_hashes: dict[str, int] = {}
        self.column_terms: dict[int, str] = {}
        self.word_terms = WordTerms(self.hash_only)
        self.document_frequency = np.zeros(n_features, dtype=np.float64)
        self.documents = 0.0

    def hash_term(self, token: str) -> int:
        value = zlib.crc32(token.encode("utf-8"), self.salt)
        if len(self.term_hashes) < self.max_terms:
            self.term_hashes[token] = value
            self.column_terms.setdefault(value % self.sparse_columns, token)
        return value

    def hash_only(self, token: str) -> int:
        return zlib.crc32(token.encode("utf-8"), self.salt)

    def hash_texts(
        self, texts: Sequence[str], learn: bool = True, split: WordSplit | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Flat 32-bit token hashes of all texts, and the number of tokens of each.

        ``learn=False`` leaves the term dictionary as it is (new tokens are hashed but not remembered). Plain
        texts are hashed word by word from a cache (``featurize/word_terms.py``), the others whole; the
        dictionary learns the new tokens of the plain texts first, in order, then those of the others. The
        hashes do not depend on the dictionary. ``split``: ``WordSplit.of(texts)`` if the caller already has it.
        """
        split = WordSplit.of(texts) if split is None else split
        word_hashes = self.word_terms.hashes(split.words, self.learn_term if learn else None)
        others = [text for text, ok in zip(texts, split.plain, strict=True) if not ok]
        return in_text_order(
            split.plain, word_hashes, split.counts, self.hash_whole(others, learn), MAX_TOKENS
        )

    def hash_whole(self, texts: list[str], learn: bool) -> list[bytes]:
        """Each text's token hashes, packed as int64 bytes, tokenising the texts whole."""
        if not texts:
            return []
        tokens, lengths = tokenize_all(texts)
        known = map(self.term_hashes.get, tokens, repeat(NOT_KNOWN))
        hashes = np.fromiter(known, dtype=np.int64, count=len(tokens))
        self.hash_new_tokens(tokens, hashes, learn)
        ends = np.cumsum(lengths)
        return [hashes[end - length : end].tobytes() for end, length in zip(ends, lengths, strict=True)]

    def learn_term(self, token: str) -> None:
        """Put ``token`` in the term dictionary if it is new (and the dictionary has room)."""
        if token not in self.term_hashes:
            self.hash_term(token)

    def hash_new_tokens(self, tokens: list[str], hashes: np.ndarray, learn: bool) -> None:
        """Fill in the hashes of tokens not in the term dictionary, in order (so the first to come is learnt)."""
        known = self.term_hashes
        hash_term = self.hash_term if learn else self.hash_only
        for at in np.flatnonzero(hashes == NOT_KNOWN).tolist():
            token = tokens[at]
            hashes[at] = known[token] if token in known else hash_term(token)

    def ngram_columns(self, hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of every uni- (and bi-, tri-) gram."""
        all_rows = [rows]
        all_columns = [hashes % self.sparse_columns]
        gram = hashes
        for n in range(2, self.ngram_max + 1):
            if len(hashes) < n:
                break
            gram = combine_hashes(gram[:-1], hashes[n - 1 :])
            same_post = rows[n - 1 :] == rows[: len(rows) - n + 1]
            all_rows.append(rows[n - 1 :][same_post])
            all_columns.append(gram[same_post] % self.sparse_columns)
        return np.concatenate(all_rows), np.concatenate(all_columns)

    def learn_document_frequencies(self, counts: SparseRows) -> None:
        decay = 0.5 ** (counts.n_rows / self.idf_half_life_posts)
        self.document_frequency *= decay
        self.document_frequency += np.bincount(counts.indices, minlength=self.sparse_columns)
        self.documents = self.documents * decay + counts.n_rows

    def idf(self, columns: np.ndarray) -> np.ndarray:
        return np.log((1.0 + self.documents) / (1.0 + self.document_frequency[columns])) + 1.0

    def terms(self, texts: Sequence[str], learn: bool = True, split: WordSplit | None = None) -> SparseRows:
        """Only the hashed unigram counts (``FeatureBatch.terms``), for featurizers that need no TF-IDF."""
        hashes, lengths = self.hash_texts(texts, learn=learn, split=split)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        return count_pairs(rows, hashes % self.sparse_columns, len(texts), self.sparse_columns)

    def transform(
        self, texts: Sequence[str], learn: bool = True, split: WordSplit | None = None
    ) -> FeatureBatch:
        hashes, lengths = self.hash_texts(texts, learn=learn, split=split)
        n = len(texts)
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        terms = count_pairs(rows, hashes % self.sparse_columns, n, self.sparse_columns)
        gram_rows, gram_columns = self.ngram_columns(hashes, rows)
        counts = count_pairs(gram_rows, gram_columns, n, self.sparse_columns)
        if learn:
            self.learn_document_frequencies(counts)
        weights = (1.0 + np.log(counts.values)) * self.idf(counts.indices)
        tfidf = SparseRows(counts.indptr, counts.indices, weights.astype(np.float32), self.sparse_columns)
        return FeatureBatch(terms=terms, sparse=normalize_rows(tfidf))

    def term(self, column: int) -> str | None:
        return self.column_terms.get(column)

    def snapshot(self) -> dict[str, Any]:
        return {
            "term_hashes": dict(self.term_hashes),
            "document_frequency": self.document_frequency.copy(),
            "documents": self.documents,
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.term_hashes = dict(state["term_hashes"])
        self.word_terms.forget()  # which words' tokens the dictionary holds has changed
        self.column_terms = {}
        for token, value in self.term_hashes.items():
            self.column_terms.setdefault(value % self.sparse_columns, token)
        self.document_frequency = np.array(state["document_frequency"], dtype=np.float64)
        self.documents = float(state["documents"])
