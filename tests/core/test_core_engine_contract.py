"""The engine's promises to every adapter: one label per post, in input order, and reproducible runs."""

from __future__ import annotations

from typing import Any

import numpy as np
from core_streams import make_stream, run_stream, small_engine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamclust.engine import Engine
from streamclust.schema import Post

TOPICS = ["cards", "travel", "baking"]


def split(posts: list[Post], sizes: list[int]) -> list[list[Post]]:
    """Cut ``posts`` into consecutive batches of the given sizes (the last batch takes the rest)."""
    batches, start = [], 0
    for size in sizes:
        batches.append(posts[start : start + size])
        start += size
    batches.append(posts[start:])
    return batches


def tiny_engine(seed: int = 0, **encoder: Any) -> Engine:
    settings: dict[str, Any] = {"warmup_posts": 50, "epochs": 3, "reservoir_size": 100}
    settings.update(encoder)
    return small_engine(seed=seed, **settings)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(min_value=0, max_value=130), sizes=st.lists(st.integers(0, 70), max_size=6))
def test_every_post_gets_exactly_one_label_in_input_order_whatever_the_batching(
    count: int, sizes: list[int]
) -> None:
    """Warm-up (50 posts) may end in any batch, or never: flush labels what is still held."""
    posts = make_stream(TOPICS, count, seed=1)
    engine = tiny_engine()
    labelled: list[str] = []
    fed: list[str] = []
    for batch in [*split(posts, sizes), []]:
        result = engine.process(batch)
        fed.extend(post.id for post in batch)
        labelled.extend(result.labels.post_ids)
        assert len(result.labels.cluster_ids) == len(result.labels) == len(result.labels.is_outlier)
        assert result.stats.labelled == len(result.labels)
        assert result.stats.pending == len(engine.pending_post_ids)
        assert labelled + engine.pending_post_ids == fed, "each post fed so far is labelled or held, once"
    labelled.extend(engine.flush().labels.post_ids)

    assert labelled == [post.id for post in posts]
    assert engine.pending_post_ids == []


def test_a_stream_shorter_than_the_warm_up_is_labelled_by_flush() -> None:
    posts = make_stream(TOPICS, 30, seed=2)
    engine = tiny_engine()

    held = [engine.process(posts[:20]), engine.process(posts[20:])]
    flushed = engine.flush()

    assert [len(result.labels) for result in held] == [0, 0]
    assert [result.stats.pending for result in held] == [20, 30]
    assert flushed.labels.post_ids == [post.id for post in posts]
    assert flushed.labels.model_version == engine.model_version == 1
    assert len(engine.flush().labels) == 0, "a second flush has nothing left to label"


def test_warm_up_posts_are_labelled_by_the_batch_that_completes_the_warm_up() -> None:
    posts = make_stream(TOPICS, 80, seed=3)
    engine = tiny_engine()

    first = engine.process(posts[:40])
    second = engine.process(posts[40:])

    assert len(first.labels) == 0 and first.stats.pending == 40
    assert second.labels.post_ids == [post.id for post in posts]
    assert second.stats.pending == 0 and second.labels.model_version == 1


def test_label_records_carry_the_post_ids_cluster_ids_and_outlier_flags() -> None:
    posts = make_stream(TOPICS, 60, seed=4)
    result = tiny_engine().process(posts)

    records = list(result.labels.records())
    assert [record.post_id for record in records] == [post.id for post in posts]
    for record in records:
        assert record.is_outlier == (record.cluster_id == -1)
        assert -1.0 - 1e-5 <= record.similarity <= 1.0 + 1e-5
        assert record.model_version == 1


Signature = tuple[list[tuple[str, int, float, int]], list[str]]


def run_signature(engine: Engine, posts: list[Post]) -> Signature:
    """Every label (post id, cluster id, similarity, model version) and every event of a run."""
    run = run_stream(engine, posts, batch_size=30)
    engine.close()
    labels = [
        (post_id, cluster_id, round(similarity, 4), result.labels.model_version)
        for result in run.results
        for post_id, cluster_id, similarity in zip(
            result.labels.post_ids,
            result.labels.cluster_ids.tolist(),
            result.labels.similarities.tolist(),
            strict=True,
        )
    ]
    events = [event.model_dump_json() for event in run.events]
    return labels, events


def test_the_same_seed_and_input_give_identical_labels_and_events() -> None:
    posts = make_stream(TOPICS, 240, seed=5)

    first = run_signature(tiny_engine(seed=3), posts)
    second = run_signature(tiny_engine(seed=3), posts)

    assert first == second
    assert len(first[1]) > 0, "the run should create clusters, or the comparison says little"


def test_background_retraining_gives_the_same_results_as_training_in_line() -> None:
    """With swap="at_position" swap points are fixed by stream position, so the machine's speed cannot change
    the labels."""
    posts = make_stream(TOPICS, 240, seed=6)
    retraining = {"retrain_every_posts": 60, "swap_after_posts": 30, "swap": "at_position"}

    in_line = run_signature(tiny_engine(seed=4, background=False, **retraining), posts)
    background = run_signature(tiny_engine(seed=4, background=True, **retraining), posts)

    assert background == in_line
    assert max(version for *_, version in in_line[0]) >= 3, "at least two retrains were swapped in"


def test_a_different_seed_gives_a_different_model() -> None:
    """The check that makes the two above meaningful: the seed does reach the model."""
    posts = make_stream(TOPICS, 60, seed=7)
    first, second = tiny_engine(seed=1), tiny_engine(seed=2)
    first.process(posts)
    second.process(posts)
    assert first.encoder is not None and second.encoder is not None

    probe = first.featurizer.transform([post.text for post in posts], learn=False)
    assert not np.allclose(first.encoder.encode(probe), second.encoder.encode(probe), atol=1e-3)
