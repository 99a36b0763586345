"""Shared pieces of the Kafka tests: unique topics per test, a small engine config, worker processes, and a
``read_committed`` reader that counts labels."""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / ".." / "shared" / "data"


def banking_texts() -> list[str]:
    path = DATA / "banking77.jsonl.gz"
    if not path.exists():
        pytest.skip(f"the shared datasets folder ({DATA}) is absent on this machine")
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line)["text"] for line in lines]


def post_values(count: int, prefix: str = "p") -> list[tuple[bytes, bytes]]:
    """``count`` Banking77 posts (cycled when more are needed) as (key, JSON value), ids ``<prefix><n>``."""
    texts = banking_texts()
    posts = []
    for number in range(count):
        post_id = f"{prefix}{number}"
        value = json.dumps({"id": post_id, "text": texts[number % len(texts)]}).encode()
        posts.append((post_id.encode(), value))
    return posts


class Stream:
    """A fresh set of topics and a consumer group for one test, and the YAML config a worker runs with."""

    def __init__(self, bootstrap: str, workdir: Path, partitions: int = 3, **kafka: Any) -> None:
        name = uuid.uuid4().hex[:8]
        self.bootstrap = bootstrap
        self.workdir = workdir
        self.kafka: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "input_topic": f"posts-{name}",
            "labels_topic": f"labels-{name}",
            "events_topic": f"events-{name}",
            "catalog_topic": f"catalog-{name}",
            "deadletter_topic": f"deadletter-{name}",
            "state_topic": f"state-{name}",
            "group_id": f"group-{name}",
            "transactional_id": f"worker-{name}",
            "topic_partitions": partitions,
            "batch_size": 500,
            "max_wait_ms": 200,
        } | kafka
        self.config = workdir / f"stream-{name}.yaml"
        self.config.write_text(yaml.safe_dump(self.settings_mapping()), encoding="utf-8")
        self.created_topics = False

    def settings_mapping(self, input_fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """A small, quick engine: warm-up after 200 posts, a tiny autoencoder without the teacher (loading it
        would add seconds to every worker start; the core and eval tests cover it), no periodic retraining."""
        return {
            "seed": 7,
            "input": input_fields or {"max_text_chars": 500},
            "featurize": {"n_features": 4096},
            "encoder": {
                "warmup_posts": 200,
                "epochs": 2,
                "hidden_dim": 64,
                "latent_dim": 16,
                "retrain_every_posts": 0,
                "background": False,
                "teacher": "none",
            },
            "kafka": self.kafka,
            "http": {"enabled": False},
            "logging": {"level": "INFO", "format": "plain"},
        }

    def topic(self, name: str) -> str:
        return str(self.kafka[f"{name}_topic"])

    def create_topics(self) -> None:
        """Create the topics up front (as the worker would) so producing can start before any worker runs."""
        from streamclust.config import load_settings
        from streamclust.io.kafka.clients import connect_admin
        from streamclust.io.kafka.topics import ensure_topics

        settings = load_settings(self.config)
        admin = connect_admin(settings.kafka, give_up_after=30)
        try:
            ensure_topics(admin, settings.kafka)
        finally:
            admin.close()

    def produce(self, records: Iterable[tuple[bytes | None, bytes]], rate: float = 0.0) -> int:
        """Send (key, value) records to the input topic, at ``rate`` records/s when given."""
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5, acks="all")
        started = time.monotonic()
        sent = 0
        for key, value in records:
            if rate > 0:
                ahead = started + sent / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            producer.send(self.topic("input"), key=key, value=value)
            sent += 1
        producer.flush()
        producer.close()
        return sent


class CommittedReader:
    """Reads one topic with ``isolation_level=read_committed`` and keeps every record it has seen."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        partitions = self.consumer.partitions_for_topic(topic) or set()
        assert partitions, f"topic {topic} does not exist"
        self.partitions = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        self.consumer.assign(self.partitions)
        self.consumer.seek_to_beginning(*self.partitions)
        self.records: list[Any] = []

    def read_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            polled = self.consumer.poll(timeout_ms=200)
            for batch in polled.values():
                self.records.extend(batch)

    def read_to_end(self, timeout: float = 60.0) -> list[Any]:
        """Poll until every partition is read up to its end as it is now (the last stable offset: what is
        committed), or ``timeout`` seconds passed; returns all records. Unlike ``read_for``, a slow machine
        cannot make it stop short."""
        ends = self.consumer.end_offsets(self.partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.consumer.position(tp) >= ends[tp] for tp in self.partitions):
                break
            polled = self.consumer.poll(timeout_ms=200)
            for batch in polled.values():
                self.records.extend(batch)
        return self.records

    def read_until(self, count: int, timeout: float) -> list[Any]:
        """Poll until ``count`` records have been seen or ``timeout`` seconds passed; returns all records."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count and time.monotonic() < deadline:
            polled = self.consumer.poll(timeout_ms=200)
            for batch in polled.values():
                self.records.extend(batch)
        return self.records

    def keys(self) -> Counter[str]:
        return Counter(record.key.decode() for record in self.records)

    def close(self) -> None:
        self.consumer.close()


class WorkerProcess:
    """``python -m streamclust run`` in a subprocess, its log in a file next to the config."""

    def __init__(self, config: Path, instance_id: str, *extra: str) -> None:
        self.log_path = config.with_name(f"{config.stem}-{instance_id}.log")
        self.log = self.log_path.open("ab")
        self.log_start = self.log.tell()  # restarts with the same id append to the same log
        command = [sys.executable, "-m", "streamclust", "run", "--config", str(config)]
        command += ["--instance-id", instance_id, *extra]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.log.close()

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM and wait for a graceful exit; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
            self.log.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_for_log(self, text: str, timeout: float) -> bool:
        """Poll this process's part of the log until ``text`` appears (or the process exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            with self.log_path.open("rb") as log:
                log.seek(self.log_start)
                if text.encode() in log.read():
                    return True
            time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def run_until_committed(worker: Any, posts: int, timeout: float = 120.0) -> None:
    """Run an in-process worker in a thread until it has committed ``posts`` posts (or ``timeout`` passed),
    then stop it and check it stopped."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while worker.committed_posts < posts and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    worker.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
