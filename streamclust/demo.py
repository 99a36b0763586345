"""The demonstration: replay a labelled dataset into Kafka in a chosen order at a given rate, run the worker on
it in the same process with a live view, record the timeline, and write the HTML report at the end.

Each run uses its own topics and consumer group (``demo-<run>-...``), so a demo can be repeated on the same
broker and never reads another run's posts.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from streamclust.config import KafkaSettings, Settings
from streamclust.evaluate.datasets import read_labelled_posts
from streamclust.evaluate.orders import stream_order
from streamclust.io.kafka.tools.produce import produce_records
from streamclust.io.kafka.worker.batch_loop import KafkaWorker
from streamclust.obs.live_view import LiveView
from streamclust.obs.timeline import TimelineRecorder, read_timeline
from streamclust.report import read_known_posts, write_report
from streamclust.result import ClusterEngine


@dataclass(frozen=True)
class DemoPlan:
    posts_file: Path
    out_dir: Path
    order: str = "emerging"
    rate: float = 150.0  # posts per second offered to the input topic
    limit: int | None = None  # replay only the first posts of the ordered stream
    seed: int = 0
    max_seconds: float = 600.0  # stop even when not every post has been labelled


@dataclass(frozen=True)
class DemoOutcome:
    interrupted: bool
    sent: int
    labelled: int
    seconds: float
    timeline: Path
    report: Path


def demo_kafka(kafka: KafkaSettings, run: str) -> KafkaSettings:
    """The configured connection with topics, group and transactional id of their own for this run."""
    prefix = f"demo-{run}"
    return kafka.model_copy(
        update={
            "input_topic": f"{prefix}-posts",
            "labels_topic": f"{prefix}-labels",
            "events_topic": f"{prefix}-events",
            "catalog_topic": f"{prefix}-catalog",
            "deadletter_topic": f"{prefix}-deadletter",
            "group_id": f"{prefix}-group",
            "transactional_id": f"{prefix}-worker",
            "create_topics": True,
        }
    )


def ordered_records(plan: DemoPlan) -> list[tuple[bytes | None, bytes]]:
    """The dataset's posts in the plan's order, as (key, JSON value) records with id and text."""
    posts = read_labelled_posts(plan.posts_file)
    ordered = posts.take(stream_order(plan.order, posts.labels, plan.seed))
    count = len(ordered) if plan.limit is None else min(plan.limit, len(ordered))
    return [
        (post_id.encode(), json.dumps({"id": post_id, "text": text}).encode())
        for post_id, text in zip(ordered.ids[:count], ordered.texts[:count], strict=True)
    ]


class _Producer(threading.Thread):
    """Replays the records in the background; ``error`` holds what stopped it, if anything did."""

    def __init__(self, records: list[tuple[bytes | None, bytes]], kafka: KafkaSettings, rate: float) -> None:
        super().__init__(name="demo-producer", daemon=True)
        self.records, self.kafka, self.rate = records, kafka, rate
        self.stop_requested = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.sent = produce_records(
                self.records, self.kafka, self.rate, should_stop=self.stop_requested.is_set
            )
        except BaseException as error:  # reported by the main thread
            self.error = error


def run_demo(
    settings: Settings,
    plan: DemoPlan,
    engine_factory: Callable[[Settings], ClusterEngine],
    console: Console,
    run: str | None = None,
) -> DemoOutcome:
    run = run or time.strftime("%Y%m%d-%H%M%S")
    settings = settings.model_copy(update={"kafka": demo_kafka(settings.kafka, run)})
    records = ordered_records(plan)
    console.print(
        f"replaying {len(records):,} posts of {plan.posts_file.name} in {plan.order} order at {plan.rate:g} posts/s "
        f"to {settings.kafka.input_topic} on {settings.kafka.bootstrap_servers}"
    )
    worker = KafkaWorker(
        settings,
        engine_factory(settings),
        engine_factory=lambda: engine_factory(settings),
        instance_id="demo",
        idle_flush_seconds=2.0,
        catalog_every_seconds=10.0,
        connect_timeout_seconds=60.0,
    )
    worker.connect()  # creates the topics before anything is produced
    timeline_path = plan.out_dir / "timeline.jsonl"
    recorder = TimelineRecorder(
        timeline_path,
        catalog=lambda: worker.engine.catalog(),
        run={
            "dataset": plan.posts_file.name,
            "order": plan.order,
            "rate": plan.rate,
            "posts": len(records),
            "featurizer": settings.featurize.kind,
        },
    )
    view = LiveView(
        catalog=lambda: worker.engine.catalog(),
        console=console,
        expected_posts=len(records),
    )
    worker.observers += [recorder, view]
    producer = _Producer(records, settings.kafka, plan.rate)
    started = time.monotonic()
    producer.start()
    interrupted = False
    try:
        with view:
            while time.monotonic() - started < plan.max_seconds:
                try:
                    worker.run_once()
                except KeyboardInterrupt:
                    interrupted = True  # Ctrl-C: stop, and report on what was labelled so far
                    break
                if producer.error is not None:
                    raise producer.error
                if not producer.is_alive() and worker.committed_posts >= producer.sent:
                    break
    finally:
        producer.stop_requested.set()
        producer.join(timeout=30)
        worker.close()
        recorder.close()
    seconds = time.monotonic() - started
    if interrupted:
        console.print(
            f"[yellow]interrupted with {worker.committed_posts:,} of {len(records):,} posts labelled[/]"
        )
    elif worker.committed_posts < len(records):
        console.print(
            f"[yellow]stopped after {plan.max_seconds:g} s with {worker.committed_posts:,} of {len(records):,} "
            "posts labelled; raise --max-seconds, or lower --rate if the worker falls behind[/]"
        )
    report = write_report(
        read_timeline(timeline_path), plan.out_dir / "report.html", read_known_posts(plan.posts_file)
    )
    return DemoOutcome(
        interrupted=interrupted,
        sent=producer.sent,
        labelled=worker.committed_posts,
        seconds=seconds,
        timeline=timeline_path,
        report=report,
    )
