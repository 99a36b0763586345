"""The harness on a small synthetic stream: labels are collected across warm-up, events are applied, baselines
run on the same stream."""

from __future__ import annotations

import numpy as np

from streamclust.config import load_settings
from streamclust.evaluate.datasets import LabelledPosts
from streamclust.evaluate.harness import evaluate, feed_engine, no_tracking
from streamclust.result import ClusterEngine
from streamclust.schema import Post
from streamclust.testing import FirstWordEngine

TOPICS = {
    0: "card lost stolen blocked",
    1: "refund money back payment",
    2: "exchange rate currency fee",
    3: "password login reset app",
}


def labelled_stream(posts_per_topic: int = 30) -> LabelledPosts:
    """Posts whose first word names their topic, so FirstWordEngine clusters them by topic."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(TOPICS)), posts_per_topic)
    rng.shuffle(labels)
    texts = []
    for label in labels.tolist():
        words = TOPICS[label].split()
        texts.append(f"topic{label} " + " ".join(rng.choice(words, size=5).tolist()))
    ids = [f"p{i}" for i in range(len(labels))]
    return LabelledPosts("synthetic", ids, texts, labels, [f"topic{label}" for label in TOPICS])


def test_every_post_gets_its_label_once_even_those_held_in_warm_up() -> None:
    stream = labelled_stream()
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]
    engine = FirstWordEngine(warmup_posts=50, n_clusters=1000)

    run = feed_engine(engine, posts, batch_size=16, advance=lambda done: None)

    assert run.unlabelled == 0 and run.labelled_again == 0
    expected = [engine.cluster_of(text) for text in stream.texts]
    assert run.labels.tolist() == expected
    assert run.seconds > 0
    # Created events are timed by the posts fed so far: all four clusters were born when warm-up ended.
    assert sorted(cluster.posts_fed for cluster in run.created) == [64] * len(TOPICS)


def test_posts_still_held_at_the_end_are_labelled_by_flush() -> None:
    stream = labelled_stream(posts_per_topic=5)
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]

    run = feed_engine(FirstWordEngine(warmup_posts=1000), posts, batch_size=8, advance=lambda done: None)

    assert run.unlabelled == 0
    assert len(run.labels) == len(posts)


def first_word_engine(settings: object) -> ClusterEngine:
    return FirstWordEngine(warmup_posts=20, n_clusters=1000)


def test_evaluate_scores_the_engine_and_the_baselines_on_the_same_stream() -> None:
    stream = labelled_stream()
    settings = load_settings(featurize={"kind": "hashing", "n_features": 4096})

    evaluation = evaluate(
        stream,
        "shuffled",
        settings,
        batch_size=16,
        baselines=["dbstream", "kmeans"],
        engine_factory=first_word_engine,
        track=no_tracking,
    )

    names = [result.name for result in evaluation.results]
    assert names == ["streamclust", "DBSTREAM", "MiniBatchKMeans(k=4) online", "KMeans(k=4) offline"]
    engine = evaluation.results[0]
    assert engine.online.nmi == 1.0 and engine.online.n_clusters == 4  # the first word gives the topic
    assert engine.after_events is not None and engine.after_events.nmi == 1.0
    assert engine.emergence is not None and engine.emergence.n_created == 4
    assert evaluation.n_posts == len(stream) and evaluation.n_classes == 4
    # The topics share no words, so k-means told k=4 separates them on the hashed features.
    assert evaluation.results[3].online.nmi > 0.9
    assert all(0.0 <= result.online.nmi <= 1.0 for result in evaluation.results)


def test_no_baselines_skips_featurizing() -> None:
    evaluation = evaluate(
        labelled_stream(),
        "as-is",
        load_settings(),
        batch_size=32,
        baselines=[],
        engine_factory=first_word_engine,
    )

    assert [result.name for result in evaluation.results] == ["streamclust"]
    assert evaluation.featurize_seconds == 0.0


def test_the_leader_baseline_runs_on_the_same_features_and_follows_the_reference_recipe() -> None:
    stream = labelled_stream()
    settings = load_settings(featurize={"kind": "hashing", "n_features": 4096})

    evaluation = evaluate(
        stream, "as-is", settings, batch_size=16, baselines=["leader"], engine_factory=first_word_engine
    )

    leader = evaluation.results[1]
    assert leader.name == "leader (t=0.3)"
    assert leader.params == {"threshold": 0.3, "center_posts": 2000}
    assert leader.online.outlier_share == 0.0  # every post labelled at once
    assert 4 <= leader.online.n_clusters <= len(stream)


def test_leader_opens_a_cluster_for_a_post_below_the_threshold_and_follows_running_means() -> None:
    from streamclust.evaluate.baselines import leader_labels

    posts = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [0.9, 0.4359]])
    # 0.6 < 0.7: post 1 opens cluster 1; post 2 is 0.8 from it and joins; post 3 is 0.8 from cluster 0.
    assert leader_labels(posts, threshold=0.7, center_posts=0).tolist() == [0, 1, 1, 0]
    assert leader_labels(posts, threshold=0.95, center_posts=0).tolist() == [0, 1, 2, 3]
