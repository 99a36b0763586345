"""Readable keywords per cluster: bounded term counts per cluster, ranked c-TF-IDF style.

The score of term ``t`` in cluster ``c`` is ``tf(t, c) / |c| * log(1 + A / f(t))``, where ``f(t)`` counts the
term over all clusters and ``A`` is the average number of terms per cluster (Grootendorst's class-based TF-IDF).
Each cluster keeps at most ``max_terms`` counts (the smallest are pruned), so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "it",
        "its",
        "they",
        "them",
        "their",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "not",
        "no",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "having",
        "so",
        "than",
        "too",
        "very",
        "just",
        "also",
        "about",
        "into",
        "over",
        "under",
        "again",
        "then",
        "once",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "s",
        "t",
        "don",
        "xxnum",
        "xxurl",
        "xxuser",
        "up",
        "out",
        "off",
        "get",
        "got",
        "im",
        "ive",
    ]
)


class ClusterKeywords:
    def __init__(self, n_columns: int, max_terms: int = 256) -> None:
        self.n_columns = n_columns
        self.max_terms = max_terms
        self.counts: dict[int, dict[int, float]] = {}
        self.term_totals = np.zeros(n_columns, dtype=np.float64)

    def add(self, cluster_ids: np.ndarray, columns: np.ndarray, counts: np.ndarray) -> None:
        """Count terms: entry ``i`` says ``counts[i]`` occurrences of ``columns[i]`` in ``cluster_ids[i]``."""
        if len(columns) == 0:
            return
        keys, inverse = np.unique(cluster_ids * self.n_columns + columns, return_inverse=True)
        sums = np.bincount(inverse, weights=counts)
        self.term_totals += np.bincount(columns, weights=counts, minlength=self.n_columns)
        touched: set[int] = set()
        for key, value in zip(keys.tolist(), sums.tolist(), strict=True):
            cluster_id, column = divmod(key, self.n_columns)
            terms = self.counts.setdefault(cluster_id, {})
            terms[column] = terms.get(column, 0.0) + value
            touched.add(cluster_id)
        for cluster_id in touched:
            self.prune(cluster_id)

    def prune(self, cluster_id: int) -> None:
        terms = self.counts[cluster_id]
        if len(terms) > 2 * self.max_terms:
            kept = sorted(terms.items(), key=lambda item: -item[1])[: self.max_terms]
            self.counts[cluster_id] = dict(kept)

    def merge(self, source: int, target: int) -> None:
        into = self.counts.setdefault(target, {})
        for column, value in self.counts.pop(source, {}).items():
            into[column] = into.get(column, 0.0) + value
        self.prune(target)

    def drop(self, cluster_id: int) -> None:
        self.counts.pop(cluster_id, None)

    def top(self, cluster_id: int, term_of: Callable[[int], str | None], k: int) -> list[str]:
        terms = self.counts.get(cluster_id)
        if not terms:
            return []
        columns = np.fromiter(terms.keys(), dtype=np.int64, count=len(terms))
        tf = np.fromiter(terms.values(), dtype=np.float64, count=len(terms))
        average = max(float(self.term_totals.sum()) / max(len(self.counts), 1), 1.0)
        scores = tf / tf.sum() * np.log(1.0 + average / np.maximum(self.term_totals[columns], 1.0))
        keywords: list[str] = []
        for row in np.argsort(-scores):
            term = term_of(int(columns[row]))
            if term is None or term in STOPWORDS or len(term) < 2:
                continue
            keywords.append(term)
            if len(keywords) == k:
                break
        return keywords

    def snapshot(self) -> dict[str, Any]:
        """Per-cluster term counts flattened in their order: cluster ids, their number of terms, columns,
        counts; and the term totals."""
        clusters = list(self.counts)
        return {
            "n_columns": self.n_columns,
            "max_terms": self.max_terms,
            "clusters": np.array(clusters, dtype=np.int64),
            "lengths": np.array([len(self.counts[c]) for c in clusters], dtype=np.int64),
            "columns": np.array([column for c in clusters for column in self.counts[c]], dtype=np.int64),
            "counts": np.array([n for c in clusters for n in self.counts[c].values()], dtype=np.float64),
            "term_totals": self.term_totals.copy(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        ends = np.cumsum(state["lengths"]).tolist()
        starts = [0, *ends[:-1]]
        columns = np.asarray(state["columns"]).tolist()
        counts = np.asarray(state["counts"]).tolist()
        self.counts = {}
        for cluster_id, start, end in zip(np.asarray(state["clusters"]).tolist(), starts, ends, strict=True):
            self.counts[int(cluster_id)] = dict(zip(columns[start:end], counts[start:end], strict=True))
        self.term_totals = np.asarray(state["term_totals"]).astype(np.float64)

    @classmethod
    def from_snapshot(cls, state: dict[str, Any]) -> ClusterKeywords:
        keywords = cls(int(state["n_columns"]), int(state["max_terms"]))
        keywords.restore(state)
        return keywords
