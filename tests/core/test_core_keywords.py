"""Cluster keywords: per-cluster term counts ranked c-TF-IDF style, without stopwords."""

from __future__ import annotations

import numpy as np

from streamclust.cluster.keywords import ClusterKeywords

VOCABULARY = ["the", "card", "declined", "help", "flight", "delayed", "xxnum", "a", "gate"]
COLUMN = {term: column for column, term in enumerate(VOCABULARY)}


def term_of(column: int) -> str | None:
    return VOCABULARY[column] if column < len(VOCABULARY) else None


def count(keywords: ClusterKeywords, cluster_id: int, terms: dict[str, float]) -> None:
    keywords.add(
        np.full(len(terms), cluster_id),
        np.array([COLUMN[term] for term in terms]),
        np.array(list(terms.values()), dtype=np.float64),
    )


def test_distinctive_terms_rank_first_and_stopwords_never_appear() -> None:
    keywords = ClusterKeywords(n_columns=16)
    count(keywords, 0, {"the": 50, "a": 30, "xxnum": 20, "help": 6, "card": 8, "declined": 6})
    count(keywords, 1, {"the": 50, "a": 30, "help": 5, "flight": 7, "delayed": 5, "gate": 2})

    cards = keywords.top(0, term_of, k=3)
    flights = keywords.top(1, term_of, k=3)

    assert cards == ["card", "declined", "help"], "'help' is as frequent as 'declined' but in both clusters"
    assert flights == ["flight", "delayed", "help"]


def test_unknown_columns_and_clusters_give_no_keywords() -> None:
    keywords = ClusterKeywords(n_columns=16)
    keywords.add(np.array([0]), np.array([15]), np.array([3.0]))
    assert keywords.top(0, term_of, k=5) == []
    assert keywords.top(42, term_of, k=5) == []


def test_merging_adds_the_counts_and_dropping_forgets_the_cluster() -> None:
    keywords = ClusterKeywords(n_columns=16)
    count(keywords, 0, {"card": 2})
    count(keywords, 1, {"card": 3, "declined": 1})

    keywords.merge(1, 0)
    assert keywords.counts[0] == {COLUMN["card"]: 5.0, COLUMN["declined"]: 1.0}
    assert 1 not in keywords.counts
    keywords.drop(0)
    assert keywords.top(0, term_of, k=3) == []


def test_term_counts_per_cluster_stay_bounded() -> None:
    keywords = ClusterKeywords(n_columns=10_000, max_terms=50)
    rng = np.random.default_rng(0)
    for _ in range(20):
        columns = rng.integers(0, 10_000, size=200)
        keywords.add(np.zeros(200, dtype=np.int64), columns, np.ones(200))
    assert len(keywords.counts[0]) <= 2 * 50


def test_a_full_cluster_keeps_its_largest_counts_and_of_equal_ones_those_counted_first() -> None:
    keywords = ClusterKeywords(n_columns=16, max_terms=2)
    count(keywords, 0, {"flight": 1, "delayed": 1})
    count(keywords, 0, {"card": 1, "declined": 1})
    assert keywords.counts[0] == {
        COLUMN["flight"]: 1.0,
        COLUMN["delayed"]: 1.0,
        COLUMN["card"]: 1.0,
        COLUMN["declined"]: 1.0,
    }

    count(keywords, 0, {"help": 4})  # five terms: more than twice max_terms, so two are kept

    assert list(keywords.counts[0].items()) == [(COLUMN["help"], 4.0), (COLUMN["flight"], 1.0)]


def test_a_snapshot_restores_the_same_counts_in_the_same_order() -> None:
    keywords = ClusterKeywords(n_columns=16)
    count(keywords, 3, {"gate": 1, "card": 2})
    count(keywords, 1, {"help": 1})
    count(keywords, 3, {"flight": 1})

    restored = ClusterKeywords.from_snapshot(keywords.snapshot())

    assert list(restored.counts) == [3, 1]
    assert list(restored.counts[3].items()) == [
        (COLUMN["card"], 2.0),
        (COLUMN["gate"], 1.0),
        (COLUMN["flight"], 1.0),
    ]
    assert restored.top(3, term_of, k=3) == keywords.top(3, term_of, k=3)


class DictKeywords:
    """The counts as one dict per cluster: what ``ClusterKeywords`` must behave exactly like."""

    def __init__(self, max_terms: int) -> None:
        self.max_terms = max_terms
        self.counts: dict[int, dict[int, float]] = {}

    def add(self, cluster_ids: np.ndarray, columns: np.ndarray, counts: np.ndarray) -> None:
        for key in sorted(set(zip(cluster_ids.tolist(), columns.tolist(), strict=True))):
            self.counts.setdefault(key[0], {})
        sums: dict[tuple[int, int], float] = {}
        for key, value in zip(
            zip(cluster_ids.tolist(), columns.tolist(), strict=True), counts.tolist(), strict=True
        ):
            sums[key] = sums.get(key, 0.0) + value
        for (cluster_id, column), value in sorted(sums.items()):
            terms = self.counts[cluster_id]
            terms[column] = terms.get(column, 0.0) + value
        for cluster_id in {cluster_id for cluster_id, _ in sums}:
            self.prune(cluster_id)

    def prune(self, cluster_id: int) -> None:
        terms = self.counts[cluster_id]
        if len(terms) > 2 * self.max_terms:
            self.counts[cluster_id] = dict(sorted(terms.items(), key=lambda item: -item[1])[: self.max_terms])

    def merge(self, source: int, target: int) -> None:
        into = self.counts.setdefault(target, {})
        for column, value in self.counts.pop(source, {}).items():
            into[column] = into.get(column, 0.0) + value
        self.prune(target)

    def drop(self, cluster_id: int) -> None:
        self.counts.pop(cluster_id, None)


def in_order(counts: dict[int, dict[int, float]]) -> list[tuple[int, list[tuple[int, float]]]]:
    return [(cluster_id, list(terms.items())) for cluster_id, terms in counts.items()]


def test_counts_prunes_merges_and_drops_behave_exactly_like_a_dict_per_cluster() -> None:
    rng = np.random.default_rng(7)
    keywords, expected = ClusterKeywords(n_columns=12, max_terms=3), DictKeywords(max_terms=3)
    for step in range(300):
        action = rng.random()
        if action < 0.7:
            size = int(rng.integers(1, 20))
            batch = (
                rng.integers(0, 6, size),
                rng.integers(0, 12, size),
                rng.integers(1, 4, size).astype(float),
            )
            keywords.add(*batch)
            expected.add(*batch)
        elif action < 0.85:
            source, target = (int(cluster_id) for cluster_id in rng.choice(8, size=2, replace=False))
            keywords.merge(source, target)
            expected.merge(source, target)
        elif action < 0.95:
            cluster_id = int(rng.integers(0, 8))
            keywords.drop(cluster_id)
            expected.drop(cluster_id)
        else:
            keywords = ClusterKeywords.from_snapshot(keywords.snapshot())
        assert in_order(keywords.counts) == in_order(expected.counts), f"step {step}"
