"""Small synthetic streams and a small engine for the core tests.

Each topic has its own vocabulary; a post is six distinct words of its topic plus one filler word shared by all
topics, shuffled. Topics are therefore easy to tell apart, which lets a test assert what a user expects (one
cluster per topic, a new topic becomes a new cluster) without depending on a real data set.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from streamclust.config import ClusterSettings, EncoderSettings, LifecycleSettings, NoveltySettings
from streamclust.engine import Engine
from streamclust.featurize import HashingFeaturizer
from streamclust.result import BatchResult
from streamclust.schema import ClusterEvent, Post

VOCABULARIES = """
cards: card declined payment visa mastercard terminal chip pin contactless blocked
travel: flight airport luggage boarding gate delayed passport airline ticket hotel
baking: recipe oven bake flour sugar butter dough pasta garlic onion
python: python compile error stack trace function variable debug module import
garden: tomato soil seeds compost watering weeds roses pruning shovel greenhouse
music: guitar chord melody drums concert album singer piano rhythm lyrics
filler: please help today really again still
"""
TOPICS: dict[str, list[str]] = {
    name: words.split() for name, words in (line.split(":") for line in VOCABULARIES.strip().splitlines())
}
FILLER = TOPICS.pop("filler")
WORDS_PER_POST = 6
T = TypeVar("T")


def topic_of(post_id: str) -> str:
    """Post ids read ``<topic>-<position>``."""
    return post_id.rsplit("-", 1)[0]


def make_stream(topics: Sequence[str], count: int, seed: int = 0, start: int = 0) -> list[Post]:
    """``count`` posts cycling through ``topics`` in turn; ids ``<topic>-<position>`` from ``start`` on."""
    rng = np.random.default_rng(seed)
    posts = []
    for position in range(start, start + count):
        topic = topics[position % len(topics)]
        words = [*rng.choice(TOPICS[topic], size=WORDS_PER_POST, replace=False), rng.choice(FILLER)]
        rng.shuffle(words)
        posts.append(Post(id=f"{topic}-{position}", text=" ".join(str(word) for word in words)))
    return posts


def small_engine(
    seed: int = 0,
    novelty: NoveltySettings | None = None,
    cluster: ClusterSettings | None = None,
    lifecycle: LifecycleSettings | None = None,
    **encoder: object,
) -> Engine:
    """An engine sized for unit tests: 16-d latents, 200 warm-up posts, a fixed neighbour similarity of 0.75
    (the topics here are far apart at that level), no retraining unless asked."""
    settings: dict[str, object] = {
        "warmup_posts": 200,
        "hidden_dim": 32,
        "latent_dim": 16,
        "epochs": 30,
        "batch_size": 32,
        "reservoir_size": 300,
        "retrain_every_posts": 0,
        "drift_detector": "off",
        "background": False,
    }
    settings.update(encoder)
    return Engine(
        # unigrams only: the words of a synthetic post are shuffled, so its bigrams would be pure noise
        HashingFeaturizer(n_features=4096, ngram_max=1, seed=seed),
        encoder=EncoderSettings.model_validate(settings),
        cluster=cluster,
        novelty=novelty or NoveltySettings(),
        lifecycle=lifecycle,
        seed=seed,
        clock=lambda: 1_700_000_000.0,
    )


@dataclass
class Run:
    """Everything an engine returned over a stream, in order."""

    results: list[BatchResult]

    @property
    def cluster_of(self) -> dict[str, int]:
        return {
            post_id: cluster_id
            for result in self.results
            for post_id, cluster_id in zip(
                result.labels.post_ids, result.labels.cluster_ids.tolist(), strict=True
            )
        }

    @property
    def events(self) -> list[ClusterEvent]:
        return [event for result in self.results for event in result.events]


def run_stream(engine: Engine, posts: Sequence[Post], batch_size: int = 25, flush: bool = True) -> Run:
    results = [
        engine.process(posts[start : start + batch_size]) for start in range(0, len(posts), batch_size)
    ]
    if flush:
        results.append(engine.flush())
    return Run(results)


def majority(values: Iterable[T]) -> tuple[T, float]:
    """The most common value (a cluster id, a topic) and its share."""
    counts = Counter(values)
    value, count = counts.most_common(1)[0]
    return value, count / sum(counts.values())
