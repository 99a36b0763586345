"""Where the engine's time goes: wall and CPU seconds per pipeline stage, for ``streamclust bench core``.

``StageClock.attach()`` wraps the methods that carry out each stage (``timed_stages``; on their classes, so a
retrained encoder or a restored engine is timed too) and ``detach()`` restores them. Wrapping from outside is the
point: the engine has no timing hooks and knows nothing about this. Times are exclusive: a stage called from
inside another (the lexical weights inside the assignment) counts for itself only, so the stages add up to
the time spent in them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def timed_stages() -> list[tuple[str, Any, Callable[..., Any]]]:
    """(stage name, owner, function): the function of ``owner`` (a class, or the module that calls a module-level
    function) that carries out each stage. Named as objects, not strings, so renaming one breaks here (and in
    mypy) rather than silently timing nothing; imported here, not at module level, so ``--help`` stays fast."""
    from streamclust import engine
    from streamclust.cluster.index import CentroidIndex
    from streamclust.cluster.lexical import LexicalProfiles
    from streamclust.encode.autoencoder import Encoder
    from streamclust.encode.reservoir import Reservoir
    from streamclust.featurize.hashing import HashingFeaturizer
    from streamclust.featurize.semantic import HybridFeaturizer, StaticFeaturizer
    from streamclust.featurize.static import StaticEmbedder
    from streamclust.stages import clusters
    from streamclust.stages.births import Births
    from streamclust.stages.lifecycle import Lifecycle

    Engine, Clusters = engine.Engine, clusters.Clusters
    return [
        ("featurize: tokenise + hash terms", HashingFeaturizer, HashingFeaturizer.transform),
        ("featurize: tokenise + hash terms", HashingFeaturizer, HashingFeaturizer.terms),
        # what the engine's thread spends on the embeddings: the word ids, then waiting for the pooling that
        # runs beside the lexical terms in the embedder's helper thread (whose CPU is not the engine thread's)
        ("featurize: static embeddings", StaticFeaturizer, StaticFeaturizer.transform),
        ("featurize: static embeddings", HybridFeaturizer, HybridFeaturizer.transform),
        ("featurize: static embeddings", StaticEmbedder, StaticEmbedder.embed),
        ("encode (autoencoder)", Encoder, Encoder.encode),
        ("drift: reconstruction error", Encoder, Encoder.reconstruction_error),
        ("assign: lexical weights", LexicalProfiles, LexicalProfiles.weigh),
        ("assign: nearest clusters (FAISS + blend)", Clusters, Clusters.nearest),
        ("index refresh", CentroidIndex, CentroidIndex.refresh),
        ("centroid update", clusters, clusters.update_centroids),
        ("keyword counts", Clusters, Clusters.count_keywords),
        ("lexical profiles: add", LexicalProfiles, LexicalProfiles.add),
        ("births: group newcomers", Births, Births.group_newcomers),
        ("births: open clusters", Births, Births.open),
        ("lifecycle (merge, retire)", Lifecycle, Lifecycle.run),
        ("reservoir", Reservoir, Reservoir.add),
        ("retraining (start, swap)", Engine, Engine._advance_retraining),
        ("engine, rest", Engine, Engine.process),
    ]


@dataclass
class StageTime:
    calls: int = 0
    wall: float = 0.0
    cpu: float = 0.0


@dataclass
class StageClock:
    times: dict[str, StageTime] = field(default_factory=dict)
    _stack: list[list[float]] = field(default_factory=list)  # per open stage: [wall, cpu] spent in children
    _restore: list[tuple[Any, str, Any]] = field(default_factory=list)

    def attach(self) -> StageClock:
        for name, owner, function in timed_stages():
            attribute = function.__name__
            original = vars(owner)[attribute]
            self._restore.append((owner, attribute, original))
            setattr(owner, attribute, self.timed(name, original))
        return self

    def detach(self) -> None:
        for owner, attribute, original in reversed(self._restore):
            setattr(owner, attribute, original)
        self._restore.clear()

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return function(*args, **kwargs)

        return wrapper

    def stage(self, name: str) -> _OpenStage:
        return _OpenStage(self, name)

    def rows(self, posts: int) -> list[dict[str, Any]]:
        """Per stage: calls, wall and CPU seconds, microseconds per post, share of the wall time; largest first."""
        total = sum(time.wall for time in self.times.values()) or 1.0
        rows = [
            {
                "stage": name,
                "calls": stage.calls,
                "wall_seconds": round(stage.wall, 4),
                "cpu_seconds": round(stage.cpu, 4),
                "wall_us_per_post": round(1e6 * stage.wall / max(posts, 1), 2),
                "cpu_us_per_post": round(1e6 * stage.cpu / max(posts, 1), 2),
                "share": round(stage.wall / total, 4),
            }
            for name, stage in self.times.items()
        ]
        return sorted(rows, key=lambda row: -row["wall_seconds"])


class _OpenStage:
    def __init__(self, clock: StageClock, name: str) -> None:
        self.clock = clock
        self.name = name

    def __enter__(self) -> None:
        self.clock._stack.append([0.0, 0.0])
        self.wall = time.perf_counter()
        self.cpu = time.thread_time()

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self.wall
        cpu = time.thread_time() - self.cpu
        child_wall, child_cpu = self.clock._stack.pop()
        stage = self.clock.times.setdefault(self.name, StageTime())
        stage.calls += 1
        stage.wall += wall - child_wall
        stage.cpu += cpu - child_cpu
        if self.clock._stack:
            self.clock._stack[-1][0] += wall
            self.clock._stack[-1][1] += cpu


def format_rows(rows: list[dict[str, Any]]) -> str:
    lines = [f"  {'stage':<42} {'wall µs/post':>12} {'CPU µs/post':>12} {'share':>6}"]
    for row in rows:
        lines.append(
            f"  {row['stage']:<42} {row['wall_us_per_post']:>12,.1f} {row['cpu_us_per_post']:>12,.1f}"
            f" {100 * row['share']:>5.1f}%"
        )
    return "\n".join(lines)
