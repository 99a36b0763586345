"""One evaluation run: stream a labelled dataset through the engine in batches, run the baselines on the same
stream and features, and score everything."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamclust.config import Settings
from streamclust.evaluate.baselines import (
    DBSTREAM_DIMS,
    DBSTREAM_PARAMS,
    LEADER_CENTER_POSTS,
    LEADER_THRESHOLD,
    dbstream_labels,
    leader_labels,
    leader_vectors,
    offline_kmeans_labels,
    online_kmeans_labels,
    random_projection,
)
from streamclust.evaluate.datasets import LabelledPosts
from streamclust.evaluate.emergence import CreatedCluster, Emergence, measure_emergence
from streamclust.evaluate.scores import Scores, apply_events, score_labels
from streamclust.result import BatchResult, ClusterEngine
from streamclust.schema import NOT_CLUSTERED, ClusterEvent, EventKind, Post

BASELINES = ("leader", "dbstream", "kmeans")

# Given a task description and its total, returns a function told how many more units are done.
Tracker = Callable[[str, int], Callable[[int], None]]


def no_tracking(description: str, total: int) -> Callable[[int], None]:
    return lambda done: None


@dataclass(frozen=True)
class EngineRun:
    """What the engine said about the stream, in stream order."""

    labels: np.ndarray  # int64 online labels; -1 also for posts the engine never labelled
    events: list[ClusterEvent]
    created: list[CreatedCluster]
    seconds: float  # inside process() and flush() only
    unlabelled: int  # posts with no label record (should be 0)
    labelled_again: int  # label records beyond the first for a post (should be 0)


@dataclass(frozen=True)
class MethodResult:
    name: str
    online: Scores
    seconds: float
    after_events: Scores | None = None
    emergence: Emergence | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def posts_per_second(self, n_posts: int) -> float:
        return n_posts / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class Evaluation:
    dataset: str
    order: str
    seed: int
    batch_size: int
    n_posts: int
    n_classes: int
    settings: Settings
    results: list[MethodResult]
    featurize_seconds: float  # computing the baselines' features
    unlabelled: int
    labelled_again: int


def feed_engine(
    engine: ClusterEngine, posts: Sequence[Post], batch_size: int, advance: Callable[[int], None]
) -> EngineRun:
    """Give ``posts`` to the engine in batches, then flush; collect labels by post id and timestamp events."""
    row_of = {post.id: row for row, post in enumerate(posts)}
    labels = np.full(len(posts), NOT_CLUSTERED, dtype=np.int64)
    labelled = np.zeros(len(posts), dtype=bool)
    labelled_again = 0
    events: list[ClusterEvent] = []
    created: list[CreatedCluster] = []
    seconds = 0.0

    def collect(result: BatchResult, posts_fed: int) -> None:
        nonlocal labelled_again
        rows = np.array([row_of[post_id] for post_id in result.labels.post_ids], dtype=np.int64)
        fresh = ~labelled[rows]
        labelled_again += int(np.count_nonzero(~fresh)) + len(rows) - len(np.unique(rows))
        labels[rows[fresh]] = result.labels.cluster_ids[fresh]
        labelled[rows] = True
        for event in result.events:
            events.append(event)
            if event.kind == EventKind.CREATED:
                members = np.array([row_of[i] for i in event.member_post_ids if i in row_of], dtype=np.int64)
                created.append(CreatedCluster(event.cluster_id, posts_fed, members))

    for start in range(0, len(posts), batch_size):
        batch = posts[start : start + batch_size]
        started = time.perf_counter()
        result = engine.process(batch)
        seconds += time.perf_counter() - started
        collect(result, start + len(batch))
        advance(len(batch))
    started = time.perf_counter()
    result = engine.flush()
    seconds += time.perf_counter() - started
    collect(result, len(posts))
    return EngineRun(
        labels=labels,
        events=events,
        created=created,
        seconds=seconds,
        unlabelled=int(np.count_nonzero(~labelled)),
        labelled_again=labelled_again,
    )


def build_engine(settings: Settings) -> ClusterEngine:
    from streamclust.engine import Engine

    engine: ClusterEngine = Engine.from_settings(settings)
    return engine


def baseline_features(settings: Settings, texts: Sequence[str], batch_size: int) -> Any:
    """The features the engine's featurizer gives, fed the same batches: a dense array, or a scipy sparse
    matrix when there is a hashed part."""
    from scipy.sparse import vstack

    from streamclust.featurize import build_featurizer

    featurizer = build_featurizer(settings.featurize, settings.seed)
    batches = [
        featurizer.transform(texts[start : start + batch_size]) for start in range(0, len(texts), batch_size)
    ]
    if all(batch.sparse is None for batch in batches):
        return np.vstack([batch.to_dense() for batch in batches])
    return vstack([batch.to_scipy() for batch in batches], format="csr")


def run_baselines(
    names: Sequence[str],
    stream: LabelledPosts,
    features: Any,
    batch_size: int,
    seed: int,
    track: Tracker,
) -> list[MethodResult]:
    results = []
    k = stream.n_classes
    if "leader" in names:
        started = time.perf_counter()
        labels = leader_labels(leader_vectors(features, seed), progress=track("leader", len(stream)))
        params = {"threshold": LEADER_THRESHOLD, "center_posts": LEADER_CENTER_POSTS}
        results.append(
            MethodResult(
                f"leader (t={LEADER_THRESHOLD})",
                score_labels(stream.labels, labels),
                time.perf_counter() - started,
                params=params,
            )
        )
    if "dbstream" in names:
        started = time.perf_counter()
        projected = random_projection(features, DBSTREAM_DIMS, seed)
        labels = dbstream_labels(projected, batch_size, DBSTREAM_PARAMS, track("DBSTREAM", len(stream)))
        params = {**DBSTREAM_PARAMS, "projection_dims": DBSTREAM_DIMS}
        results.append(
            MethodResult(
                "DBSTREAM", score_labels(stream.labels, labels), time.perf_counter() - started, params=params
            )
        )
    if "kmeans" in names and len(stream) >= k:
        started = time.perf_counter()
        labels = online_kmeans_labels(features, k, batch_size, seed, track("MiniBatchKMeans(k)", len(stream)))
        seconds = time.perf_counter() - started
        results.append(
            MethodResult(f"MiniBatchKMeans(k={k}) online", score_labels(stream.labels, labels), seconds)
        )
        started = time.perf_counter()
        labels = offline_kmeans_labels(features, k, seed)
        seconds = time.perf_counter() - started
        results.append(MethodResult(f"KMeans(k={k}) offline", score_labels(stream.labels, labels), seconds))
    return results


def evaluate(
    stream: LabelledPosts,
    order: str,
    settings: Settings,
    *,
    batch_size: int = 256,
    baselines: Sequence[str] = BASELINES,
    engine_factory: Callable[[Settings], ClusterEngine] = build_engine,
    track: Tracker = no_tracking,
) -> Evaluation:
    """Score the engine and the baselines on ``stream`` (already in stream order) with ``settings``."""
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]
    engine = engine_factory(settings)
    try:
        run = feed_engine(engine, posts, batch_size, track("streamclust", len(posts)))
    finally:
        engine.close()
    after_events = apply_events(stream.ids, run.labels, run.events)
    engine_result = MethodResult(
        name="streamclust",
        online=score_labels(stream.labels, run.labels),
        seconds=run.seconds,
        after_events=score_labels(stream.labels, after_events),
        emergence=measure_emergence(
            stream.labels, run.created, after_events, warmup_posts=settings.encoder.warmup_posts
        ),
        params={"events": {kind.value: sum(e.kind == kind for e in run.events) for kind in EventKind}},
    )
    featurize_seconds = 0.0
    results = [engine_result]
    if baselines:
        started = time.perf_counter()
        features = baseline_features(settings, stream.texts, batch_size)
        featurize_seconds = time.perf_counter() - started
        results += run_baselines(baselines, stream, features, batch_size, settings.seed, track)
    return Evaluation(
        dataset=stream.name,
        order=order,
        seed=settings.seed,
        batch_size=batch_size,
        n_posts=len(stream),
        n_classes=stream.n_classes,
        settings=settings,
        results=results,
        featurize_seconds=featurize_seconds,
        unlabelled=run.unlabelled,
        labelled_again=run.labelled_again,
    )
