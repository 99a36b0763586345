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
