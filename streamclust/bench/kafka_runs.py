"""End-to-end benchmark through a real broker: the worker (a ``streamclust run`` subprocess, transactions on)
against the raw kafka-python consume+produce ceiling on the same machine.

- ``raw``: a bare consume -> produce loop with kafka-python and one transaction per batch (offsets included),
  no decoding and no clustering: the fastest any exactly-once worker written with this client can go here.
- ``throughput``: a backlog of posts, then the worker; the sustained rate is measured between 10% and 100% of
  the labels arriving (``read_committed``), so start-up and warm-up are left out.
- ``latency``: the worker warmed up, then posts offered at a fixed rate; latency per post is the time from
  ``send`` to its label being readable with ``read_committed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streamclust.config import KafkaSettings, load_settings
from streamclust.io.kafka.clients import connect_admin
from streamclust.io.kafka.topics import ensure_topics


def post_records(texts: list[str], count: int, prefix: str) -> list[tuple[str, bytes]]:
    return [
        (f"{prefix}{n}", json.dumps({"id": f"{prefix}{n}", "text": texts[n % len(texts)]}).encode())
        for n in range(count)
    ]


@dataclass
class Topics:
    """A fresh set of topic names and a group, so runs never see each other's records."""

    bootstrap: str
    partitions: int
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def kafka_section(self, batch_size: int, max_wait_ms: int) -> dict[str, Any]:
        return {
            "bootstrap_servers": self.bootstrap,
            "input_topic": f"bench-posts-{self.name}",
            "labels_topic": f"bench-labels-{self.name}",
            "events_topic": f"bench-events-{self.name}",
            "catalog_topic": f"bench-catalog-{self.name}",
            "deadletter_topic": f"bench-deadletter-{self.name}",
            "group_id": f"bench-{self.name}",
            "transactional_id": f"bench-{self.name}",
            "topic_partitions": self.partitions,
            "batch_size": batch_size,
            "max_wait_ms": max_wait_ms,
        }


def create_topics(kafka: KafkaSettings) -> None:
    admin = connect_admin(kafka, give_up_after=60)
    try:
        ensure_topics(admin, kafka)
    finally:
        admin.close()


def produce(
    bootstrap: str, topic: str, records: list[tuple[str, bytes]], rate: float = 0.0
) -> dict[str, float]:
    """Send records (at ``rate``/s if given); returns post id -> unix time it was handed to the client."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks="all", batch_size=256 * 1024)
    sent_at: dict[str, float] = {}
    started = time.monotonic()
    for number, (post_id, value) in enumerate(records):
        if rate > 0:
            ahead = started + number / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        sent_at[post_id] = time.time()
        producer.send(topic, key=post_id.encode(), value=value)
    producer.flush()
    producer.close()
    return sent_at


class LabelWatcher(threading.Thread):
    """Reads the labels topic with ``read_committed`` and notes when each post's label became visible."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        super().__init__(daemon=True)
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
        )
        partitions = [
            TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.seen_at: dict[str, float] = {}
        self.duplicates = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            polled = self.consumer.poll(timeout_ms=100)
            now = time.time()
            for batch in polled.values():
                for record in batch:
                    key = record.key.decode()
                    if key in self.seen_at:
                        self.duplicates += 1
                    self.seen_at.setdefault(key, now)
        self.consumer.close()

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.seen_at) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return len(self.seen_at) >= count

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


class WorkerSubprocess:
    def __init__(self, config: Path, engine: str, log: Path, instance_id: str = "bench") -> None:
        self.log = log.open("wb")
        command = [sys.executable, "-m", "streamclust", "run", "--config", str(config), "--engine", engine]
        self.process = subprocess.Popen(
            [*command, "--instance-id", instance_id], stdout=self.log, stderr=self.log
        )

    def cpu_seconds(self) -> float | None:
        """User + system CPU the worker has used so far (Linux /proc), start-up and warm-up included."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)
        finally:
            self.log.close()


@dataclass
class BenchSetup:
    bootstrap: str
    engine: str
    config: Path | None
    workdir: Path
    partitions: int
    batch_size: int
    max_wait_ms: int

    def stream(self, scale_mode: str = "solo") -> tuple[KafkaSettings, Path]:
        """A fresh stream: its settings, and the YAML the worker subprocess runs with."""
        topics = Topics(self.bootstrap, self.partitions)
        base = yaml.safe_load(self.config.read_text(encoding="utf-8")) if self.config else {}
        base = base or {}
        base["kafka"] = (base.get("kafka") or {}) | topics.kafka_section(self.batch_size, self.max_wait_ms)
        base["scale"] = (base.get("scale") or {}) | {"mode": scale_mode}
        base["http"] = {"enabled": False}
        base["logging"] = {"level": "INFO", "format": "json"}
        path = self.workdir / f"bench-{topics.name}.yaml"
        path.write_text(yaml.safe_dump(base), encoding="utf-8")
        return load_settings(path).kafka, path


def raw_ceiling(setup: BenchSetup, records: list[tuple[str, bytes]], transactional: bool) -> float:
    """Posts/s of a bare kafka-python consume -> produce loop (one transaction per batch when asked), run in a
    fresh subprocess like the worker so both start from the same conditions."""
    kafka, _ = setup.stream()
    create_topics(kafka)
    produce(setup.bootstrap, kafka.input_topic, records)
    job = {
        "bootstrap": setup.bootstrap,
        "input": kafka.input_topic,
        "output": kafka.labels_topic,
        "group": kafka.group_id,
        "batch_size": setup.batch_size,
        "count": len(records),
        "transactional": transactional,
    }
    command = [sys.executable, "-m", "streamclust.bench.kafka_runs", json.dumps(job)]
    outcome = subprocess.run(command, capture_output=True, text=True, timeout=600, check=True)
    return float(json.loads(outcome.stdout.strip().splitlines()[-1])["posts_per_second"])


def raw_loop(
    bootstrap: str, input: str, output: str, group: str, batch_size: int, count: int, transactional: bool
) -> float:
    consumer = KafkaConsumer(
        input,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_poll_records=batch_size,
    )
    config: dict[str, Any] = {"bootstrap_servers": bootstrap, "linger_ms": 5, "batch_size": 256 * 1024}
    if transactional:
        config |= {"transactional_id": f"raw-{group}", "enable_idempotence": True, "acks": "all"}
    producer = KafkaProducer(**config)
    if transactional:
        producer.init_transactions()
    moved = 0
    started: float | None = None  # measured like the worker: from 10% of the records to the end
    moved_at_start = 0
    deadline = time.monotonic() + 300
    while moved < count and time.monotonic() < deadline:
        polled = consumer.poll(timeout_ms=500, max_records=batch_size)
        if not polled:
            continue
        if started is None and moved >= count // 10:
            started, moved_at_start = time.monotonic(), moved
        if transactional:
            producer.begin_transaction()
        for batch in polled.values():
            for record in batch:
                producer.send(output, key=record.key, value=record.value)
            moved += len(batch)
        offsets = {tp: OffsetAndMetadata(batch[-1].offset + 1, "", -1) for tp, batch in polled.items()}
        if transactional:
            producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
            producer.commit_transaction()
        else:
            producer.flush()
            consumer.commit(offsets)
    elapsed = time.monotonic() - (started or time.monotonic())
    consumer.close()
    producer.close()
    return (moved - moved_at_start) / elapsed if elapsed > 0 else 0.0


def backlog_summary(watcher: LabelWatcher, posts: int, complete: bool, wall: float) -> dict[str, Any]:
    """What a backlog run labelled, and its sustained rate between 10% and 100% of the labels."""
    times = np.sort(np.array(list(watcher.seen_at.values())))
    first = int(len(times) * 0.1)
    span = float(times[-1] - times[first]) if len(times) > first + 1 else 0.0
    return {
        "posts": posts,
        "labelled": len(watcher.seen_at),
        "duplicates": watcher.duplicates,
        "complete": complete,
        "wall_seconds_including_startup_and_warmup": round(wall, 2),
        "sustained_posts_per_second": round((len(times) - 1 - first) / span, 1) if span > 0 else None,
    }


def throughput(setup: BenchSetup, records: list[tuple[str, bytes]]) -> dict[str, Any]:
    """Sustained posts/s of the worker on a backlog, between 10% and 100% of the labels."""
    kafka, config = setup.stream()
    create_topics(kafka)
    produce(setup.bootstrap, kafka.input_topic, records)
    watcher = LabelWatcher(setup.bootstrap, kafka.labels_topic)
    watcher.start()
    worker = WorkerSubprocess(config, setup.engine, setup.workdir / "throughput-worker.log")
    started = time.monotonic()
    complete = watcher.wait_for(len(records), timeout=600)
    wall = time.monotonic() - started
    cpu = worker.cpu_seconds()
    exit_code = worker.stop()
    watcher.stop()
    return backlog_summary(watcher, len(records), complete, wall) | {
        "worker_cpu_seconds_including_startup_and_warmup": None if cpu is None else round(cpu, 2),
        "worker_exit_code": exit_code,
    }


def shared_throughput(setup: BenchSetup, records: list[tuple[str, bytes]], workers: int) -> dict[str, Any]:
    """Shared mode: ``workers`` worker processes on a backlog. The labels' sustained rate is measured as in
    ``throughput``; the trainer's rate from the start until its published model has learned every post."""
    kafka, config = setup.stream(scale_mode="shared")
    create_topics(kafka)
    produce(setup.bootstrap, kafka.input_topic, records)
    watcher = LabelWatcher(setup.bootstrap, kafka.labels_topic)
    watcher.start()
    models = ModelWatcher(kafka)
    models.start()
    started = time.monotonic()
    processes = [
        WorkerSubprocess(config, "default", setup.workdir / f"shared-{n}.log", instance_id=f"bench-{n}")
        for n in range(1, workers + 1)
    ]
    complete = watcher.wait_for(len(records), timeout=600)
    wall = time.monotonic() - started
    learned = models.wait_for(len(records), timeout=600)
    exit_codes = [process.stop() for process in processes]
    watcher.stop()
    models.stop()
    return (
        {"workers": workers}
        | backlog_summary(watcher, len(records), complete, wall)
        | {
            "trainer_learned_all": learned,
            "cluster_birth_to_first_label_seconds": birth_to_first_label(setup.bootstrap, kafka, models),
            "cluster_birth_to_published_model_seconds": birth_to_published_model(
                setup.bootstrap, kafka, models
            ),
            "trainer_posts_per_second": models.sustained_rate(len(records)),
            "models_published_seen": len(models.seen),
            "worker_exit_codes": exit_codes,
        }
    )


def read_all(bootstrap: str, topic: str) -> list[Any]:
    """Every committed record of ``topic`` as of now."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, isolation_level="read_committed", enable_auto_commit=False
    )
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    end = consumer.end_offsets(partitions)
    records: list[Any] = []
    deadline = time.monotonic() + 120
    while any(consumer.position(tp) < end[tp] for tp in partitions) and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    consumer.close()
    return records


def born_at(bootstrap: str, kafka: KafkaSettings, models: ModelWatcher) -> dict[int, float]:
    """Cluster id -> the ``at`` of its ``created`` event, for clusters born after the first published model
    (those born in the warm-up wait for the first model's training, which is not the delay asked about)."""
    first_model = set(models.clusters_seen[0][1]) if models.clusters_seen else set()
    born = {}
    for record in read_all(bootstrap, kafka.events_topic):
        event = json.loads(record.value)
        if event["kind"] == "created" and event["cluster_id"] not in first_model:
            born[event["cluster_id"]] = event["at"]
    return born


def percentiles(delays: list[float], count_key: str, total: int) -> dict[str, Any]:
    values = np.array(delays)
    return {
        "clusters_born_after_warm_up": total,
        count_key: len(values),
        "p50": round(float(np.percentile(values, 50)), 2) if len(values) else None,
        "p90": round(float(np.percentile(values, 90)), 2) if len(values) else None,
    }


def birth_to_published_model(bootstrap: str, kafka: KafkaSettings, models: ModelWatcher) -> dict[str, Any]:
    """Shared mode: how long after the trainer created a cluster the first published model holding it was
    complete on the state topic (labelers swap it in before their next batch)."""
    born = born_at(bootstrap, kafka, models)
    first_seen: dict[int, float] = {}
    for at, cluster_ids in models.clusters_seen:
        for cluster in cluster_ids:
            first_seen.setdefault(cluster, at)
    delays = [first_seen[cluster] - at for cluster, at in born.items() if cluster in first_seen]
    return percentiles(delays, "clusters_published", len(born))


def birth_to_first_label(bootstrap: str, kafka: KafkaSettings, models: ModelWatcher) -> dict[str, Any]:
    """Shared mode: how long after the trainer created a cluster a labeler first gave its id to a post
    (``created`` event's ``at`` to the earliest label's ``processed_at``), over clusters that got a label.
    Includes the wait for the cluster's next post to arrive."""
    born = born_at(bootstrap, kafka, models)
    first_label: dict[int, float] = {}
    for record in read_all(bootstrap, kafka.labels_topic):
        label = json.loads(record.value)
        cluster = label["cluster_id"]
        if cluster in born:
            first_label[cluster] = min(first_label.get(cluster, label["processed_at"]), label["processed_at"])
    delays = [first_label[cluster] - born[cluster] for cluster in first_label]
    return percentiles(delays, "clusters_labelled", len(born))


class ModelWatcher(threading.Thread):
    """Follows the state topic and notes when each published model (its position: posts learned) appeared."""

    def __init__(self, kafka: KafkaSettings) -> None:
        from streamclust.io.kafka.durability.state_topic import StateFollower

        super().__init__(daemon=True)
        self.follower = StateFollower(kafka, kafka.group_id)
        self.seen: list[tuple[float, int]] = []  # (unix time, position)
        self.clusters_seen: list[tuple[float, list[int]]] = []  # (unix time, cluster ids of that model)
        self._halt = threading.Event()

    def run(self) -> None:
        from streamclust.state.capture import cluster_ids

        current = (0, -1)
        while not self._halt.is_set():
            state = self.follower.poll_newer(*current, timeout_ms=200)
            if state is not None:
                current = state.order
                at = time.time()
                self.seen.append((at, state.position))
                self.clusters_seen.append((at, cluster_ids(state)))
        self.follower.close()

    def wait_for(self, position: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not (self.seen and self.seen[-1][1] >= position) and time.monotonic() < deadline:
            time.sleep(0.1)
        return bool(self.seen) and self.seen[-1][1] >= position

    def sustained_rate(self, posts: int) -> float | None:
        """Posts learned per second between the first published model past 10% of ``posts`` and the last."""
        after = [(at, position) for at, position in self.seen if position >= posts // 10]
        if len(after) < 2 or after[-1][0] <= after[0][0]:
            return None
        return round((after[-1][1] - after[0][1]) / (after[-1][0] - after[0][0]), 1)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


def latency(
    setup: BenchSetup, texts: list[str], rate: float, seconds: float, warmup: int, shared_workers: int = 0
) -> dict[str, Any]:
    """Latency from send to committed label at an offered ``rate``, after the worker has warmed up.

    ``shared_workers`` > 0: that many shared-mode workers instead of one solo worker; the result then also
    says how soon new clusters reached the labels."""
    kafka, config = setup.stream(scale_mode="shared" if shared_workers else "solo")
    create_topics(kafka)
    watcher = LabelWatcher(setup.bootstrap, kafka.labels_topic)
    watcher.start()
    models = ModelWatcher(kafka) if shared_workers else None
    if models is not None:
        models.start()
    workers = [
        WorkerSubprocess(
            config, setup.engine, setup.workdir / f"latency-worker-{n}.log", instance_id=f"bench-{n}"
        )
        for n in range(1, max(shared_workers, 1) + 1)
    ]
    warm = post_records(texts, warmup, "warm-")
    produce(setup.bootstrap, kafka.input_topic, warm)
    warmed = watcher.wait_for(len(warm), timeout=300)
    measured = post_records(texts, int(rate * seconds), "lat-")
    offered_started = time.monotonic()
    sent_at = produce(setup.bootstrap, kafka.input_topic, measured, rate=rate)
    offered_seconds = time.monotonic() - offered_started
    complete = watcher.wait_for(len(warm) + len(measured), timeout=120)
    exit_codes = [worker.stop() for worker in workers]
    watcher.stop()
    if models is not None:
        models.stop()
    delays = np.array(
        [watcher.seen_at[post_id] - sent for post_id, sent in sent_at.items() if post_id in watcher.seen_at]
    )
    return {
        "offered_posts_per_second": rate,
        "achieved_offered_rate": round(len(measured) / offered_seconds, 1),
        "posts": len(measured),
        "labelled": len(delays),
        "duplicates": watcher.duplicates,
        "warmed_up": warmed,
        "complete": complete,
        "p50_ms": round(float(np.percentile(delays, 50)) * 1000, 1) if len(delays) else None,
        "p95_ms": round(float(np.percentile(delays, 95)) * 1000, 1) if len(delays) else None,
        "p99_ms": round(float(np.percentile(delays, 99)) * 1000, 1) if len(delays) else None,
        "max_ms": round(float(delays.max()) * 1000, 1) if len(delays) else None,
        "worker_exit_code": max(exit_codes, key=abs),
    } | (
        {
            "cluster_birth_to_first_label_seconds": birth_to_first_label(setup.bootstrap, kafka, models),
            "cluster_birth_to_published_model_seconds": birth_to_published_model(
                setup.bootstrap, kafka, models
            ),
        }
        if models is not None
        else {}
    )


if __name__ == "__main__":  # the raw loop, in its own process (see raw_ceiling)
    rate = raw_loop(**json.loads(sys.argv[1]))
    print(json.dumps({"posts_per_second": rate}))
