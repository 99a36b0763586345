"""A recorded run without Kafka: Banking77 posts through the FirstWordEngine test double, reported batch by batch
(and poll by poll during the warm-up) to a TimelineRecorder as the worker would, on a fake clock."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import numpy as np

from streamclust.obs.timeline import TimelineRecorder
from streamclust.observer import HeldReport, WorkerReport
from streamclust.schema import Post
from streamclust.testing import FirstWordEngine

REPO = Path(__file__).resolve().parents[2]
BANKING77 = REPO / "examples" / "data" / "banking77.jsonl.gz"


def write_posts(path: Path, count: int) -> list[dict[str, str]]:
    """The first ``count`` Banking77 posts (id, text, label) written to ``path`` as JSONL."""
    with gzip.open(BANKING77, "rt", encoding="utf-8") as lines:
        posts = [json.loads(line) for line in itertools.islice(lines, 0, None, 13)][:count]
    path.write_text("".join(json.dumps(post) + "\n" for post in posts), encoding="utf-8")
    return posts


def record_run(timeline: Path, posts: list[dict[str, str]], batch_size: int = 50) -> FirstWordEngine:
    """Feed ``posts`` in batches and record every committed batch; returns the engine."""
    engine = FirstWordEngine(warmup_posts=100, n_clusters=8)
    ticks = itertools.count()
    recorder = TimelineRecorder(
        timeline, catalog=engine.catalog, run={"dataset": "banking77 sample"}, clock=lambda: 1e9 + next(ticks)
    )
    for start in range(0, len(posts), batch_size):
        chunk = posts[start : start + batch_size]
        result = engine.process([Post(id=post["id"], text=post["text"]) for post in chunk], now=1e9 + start)
        labelled = len(result.labels)
        lag = {("posts", 0): len(posts) - start - len(chunk)}
        if engine.pending_post_ids:  # the warm-up: the worker reports the poll, commits nothing
            recorder.observe_held(
                HeldReport(consumed=len(chunk), held=len(engine.pending_post_ids), warmup_posts=100, lag=lag)
            )
            continue
        recorder.observe_batch(
            WorkerReport(
                result=result,
                consumed=len(chunk),
                batch_seconds=0.05,
                end_to_end_seconds=np.linspace(0.1, 0.5, labelled),
                lag=lag,
                labels=[result.labels] if labelled else [],
                events=result.events,
            )
        )
    recorder.close()
    return engine
