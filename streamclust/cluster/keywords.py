"""Readable keywords per cluster: bounded term counts per cluster, ranked c-TF-IDF style.

The score of term ``t`` in cluster ``c`` is ``tf(t, c) / |c| * log(1 + A / f(t))``, where ``f(t)`` counts the
term over all clusters and ``A`` is the average number of terms per cluster (Grootendorst's class-based TF-IDF).
Each cluster keeps at most ``max_terms`` counts (the smallest are pruned), so memory stays bounded.

The counts live in three parallel arrays sorted by ``key = cluster_id * n_columns + column``: the key, the count
and the term's *arrival* (a number that only grows; within a cluster, a smaller one came first). Arrival order
breaks ties: a prune keeps, of equal counts, the terms that came first, and ``top`` and ``snapshot`` list a
cluster's terms in arrival order, exactly as the earlier storage (a dict per cluster) did.
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
        self.keys = np.empty(0, dtype=np.int64)  # cluster_id * n_columns + column, ascending
        self.values = np.empty(0, dtype=np.float64)  # the term's count in its cluster
        self.arrivals = np.empty(0, dtype=np.int64)  # the term's arrival in its cluster
        self.next_arrival = 0
        self.clusters: dict[int, None] = {}  # every cluster counted, in the order each was first counted
        self.term_totals = np.zeros(n_columns, dtype=np.float64)
        self._sum_of_totals: float | None = None  # term_totals.sum(), until term_totals change

    @property
    def counts(self) -> dict[int, dict[int, float]]:
        """A copy of the counts as one dict per cluster, both in arrival order (for tests and inspection)."""
        state = self.snapshot()
        ends = np.cumsum(state["lengths"])[:-1]
        columns, counts = np.split(state["columns"], ends), np.split(state["counts"], ends)
        return {
            cluster_id: dict(zip(columns[at].tolist(), counts[at].tolist(), strict=True))
            for at, cluster_id in enumerate(state["clusters"].tolist())
        }

    def add(self, cluster_ids: np.ndarray, columns: np.ndarray, counts: np.ndarray) -> None:
        """Count terms: entry ``i`` says ``counts[i]`` occurrences of ``columns[i]`` in ``cluster_ids[i]``."""
        if len(columns) == 0:
            return
        keys, inverse = np.unique(cluster_ids * self.n_columns + columns, return_inverse=True)
        sums = np.bincount(inverse, weights=counts)
        self.term_totals += np.bincount(columns, weights=counts, minlength=self.n_columns)
        self._sum_of_totals = None
        touched = np.unique(keys // self.n_columns)
        self.clusters.update(dict.fromkeys(touched.tolist()))
        self.accumulate(keys, sums)
        self.prune(touched)

    def accumulate(self, keys: np.ndarray, sums: np.ndarray) -> None:
        """Add ``sums`` to the counts of distinct ``keys``; keys not yet counted arrive in the order given."""
        at = np.searchsorted(self.keys, keys)
        found = np.zeros(len(keys), dtype=bool)
        inside = at < len(self.keys)
        found[inside] = self.keys[at[inside]] == keys[inside]
        self.values[at[found]] += sums[found]
        new = ~found
        arrivals = self.next_arrival + np.arange(int(new.sum()), dtype=np.int64)
        self.next_arrival += len(arrivals)
        by_key = np.argsort(keys[new], kind="stable")
        places = at[new][by_key]
        self.keys = np.insert(self.keys, places, keys[new][by_key])
        self.values = np.insert(self.values, places, sums[new][by_key])
        self.arrivals = np.insert(self.arrivals, places, arrivals[by_key])

    def prune(self, cluster_ids: np.ndarray) -> None:
        """Each of ``cluster_ids`` with more than twice ``max_terms`` counts keeps its ``max_terms`` largest
        (of equal counts, those that came first); the kept ones arrive anew, largest first."""
        starts, ends = self.spans(cluster_ids)
        full = ends - starts > 2 * self.max_terms
        if not full.any():
            return
        starts, lengths = starts[full], (ends - starts)[full]
        rows = np.repeat(starts - first_positions(lengths), lengths) + np.arange(int(lengths.sum()))
        clusters = np.repeat(np.arange(len(lengths)), lengths)
        ranked = rows[np.lexsort((self.arrivals[rows], -self.values[rows], clusters))]
        rank_in_cluster = np.arange(len(rows)) - np.repeat(first_positions(lengths), lengths)
        self.arrivals[ranked] = self.next_arrival + np.arange(len(ranked), dtype=np.int64)
        self.next_arrival += len(ranked)
        self.delete(ranked[rank_in_cluster >= self.max_terms])

    def merge(self, source: int, target: int) -> None:
        """``target`` takes over the counts of ``source``; those it had not counted arrive in ``source``'s
        order."""
        if source == target:
            return
        self.clusters.setdefault(target)
        self.clusters.pop(source, None)
        rows = self.rows_in_arrival_order(source)
        columns, values = self.keys[rows] - source * self.n_columns, self.values[rows]
        self.delete(self.span(source))
        self.accumulate(target * self.n_columns + columns, values)
        self.prune(np.array([target], dtype=np.int64))

    def drop(self, cluster_id: int) -> None:
        self.clusters.pop(cluster_id, None)
        self.delete(self.span(cluster_id))

    def top(self, cluster_id: int, term_of: Callable[[int], str | None], k: int) -> list[str]:
        rows = self.rows_in_arrival_order(cluster_id)
        if len(rows) == 0:
            return []
        columns = self.keys[rows] - cluster_id * self.n_columns
        tf = self.values[rows]
        average = max(self.sum_of_totals() / max(len(self.clusters), 1), 1.0)
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

    def sum_of_totals(self) -> float:
        """``term_totals.sum()``, summed once for all the keywords asked for between two batches."""
        if self._sum_of_totals is None:
            self._sum_of_totals = float(self.term_totals.sum())
        return self._sum_of_totals

    # -- the sorted arrays ----------------------------------------------------------------------------------

    def spans(self, cluster_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each cluster's counts start and end in the arrays."""
        first_keys = np.asarray(cluster_ids, dtype=np.int64) * self.n_columns
        return np.searchsorted(self.keys, first_keys), np.searchsorted(self.keys, first_keys + self.n_columns)

    def span(self, cluster_id: int) -> slice:
        first_key = cluster_id * self.n_columns
        start = np.searchsorted(self.keys, first_key)
        return slice(int(start), int(np.searchsorted(self.keys, first_key + self.n_columns)))

    def rows_in_arrival_order(self, cluster_id: int) -> np.ndarray:
        span = self.span(cluster_id)
        return span.start + np.argsort(self.arrivals[span], kind="stable")

    def delete(self, rows: np.ndarray | slice) -> None:
        self.keys = np.delete(self.keys, rows)
        self.values = np.delete(self.values, rows)
        self.arrivals = np.delete(self.arrivals, rows)

    # -- state ----------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Per-cluster term counts flattened in their order: cluster ids, their number of terms, columns,
        counts; and the term totals."""
        clusters = np.array(list(self.clusters), dtype=np.int64)
        position = cluster_positions(clusters, self.keys // self.n_columns)
        rows = np.lexsort((self.arrivals, position))
        return {
            "n_columns": self.n_columns,
            "max_terms": self.max_terms,
            "clusters": clusters,
            "lengths": np.bincount(position, minlength=len(clusters)).astype(np.int64),
            "columns": (self.keys % self.n_columns)[rows],
            "counts": self.values[rows],
            "term_totals": self.term_totals.copy(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        clusters = np.asarray(state["clusters"], dtype=np.int64)
        keys = np.repeat(clusters, state["lengths"]) * self.n_columns + np.asarray(
            state["columns"], dtype=np.int64
        )
        by_key = np.argsort(keys, kind="stable")
        self.keys = keys[by_key]
        self.values = np.asarray(state["counts"], dtype=np.float64)[by_key]
        self.arrivals = by_key.astype(np.int64)  # the snapshot lists each cluster's terms in arrival order
        self.next_arrival = len(keys)
        self.clusters = dict.fromkeys(clusters.tolist())
        self.term_totals = np.asarray(state["term_totals"]).astype(np.float64)
        self._sum_of_totals = None

    @classmethod
    def from_snapshot(cls, state: dict[str, Any]) -> ClusterKeywords:
        keywords = cls(int(state["n_columns"]), int(state["max_terms"]))
        keywords.restore(state)
        return keywords


def first_positions(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive groups of these ``lengths`` starts: ``[3, 1, 2]`` gives ``[0, 3, 4]``."""
    return np.cumsum(lengths) - lengths


def cluster_positions(clusters: np.ndarray, cluster_of_rows: np.ndarray) -> np.ndarray:
    """For each row, the position of its cluster in ``clusters`` (which holds every row's cluster)."""
    by_id = np.argsort(clusters)
    return by_id[np.searchsorted(clusters[by_id], cluster_of_rows)]
