"""End to end with the real things: `streamclust run` on the local Kafka broker, scraped by a real Prometheus
server (Debian's package) that also loads the shipped alert rules. Every question about the metrics goes
through Prometheus's HTTP query API, the way a dashboard or an alert would ask it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from kafka import KafkaProducer

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
PARTITIONS = 3
POSTS = 120
BAD_RECORDS = 4

pytestmark = [pytest.mark.kafka, pytest.mark.prometheus, pytest.mark.slow, pytest.mark.timeout(240)]

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


def answers_ok(url: str) -> bool | None:
    return True if http_get(url)[0] == 200 else None


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
) -> T:
    """Poll ``probe`` until it returns something other than None. Fail after ``timeout`` seconds, or as soon
    as ``process`` exits, showing the end of ``log``."""
    deadline = time.monotonic() + timeout
    problem = f"timed out after {timeout:.0f} s waiting for {what}"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            problem = f"{process.args[0]} exited with {process.returncode} while waiting for {what}"
            break
        outcome = probe()
        if outcome is not None:
            return outcome
        time.sleep(0.25)
    pytest.fail(f"{problem}\n{log_tail(log) if log else ''}")


def log_tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Worker:
    """`streamclust run` in a subprocess with the default engine (kept small so it warms up in seconds), its
    own topics and group, and a free HTTP port."""

    def __init__(self, bootstrap: str, workdir: Path) -> None:
        run_id = uuid.uuid4().hex[:8]
        self.input_topic = f"obs-posts-{run_id}"
        self.http_port = free_port()
        self.log = workdir / "worker.log"
        settings = {
            "featurize": {"kind": "hashing", "n_features": 1024},
            "encoder": {"warmup_posts": 20, "latent_dim": 8, "hidden_dim": 32, "epochs": 2, "batch_size": 16},
            "kafka": {
                "bootstrap_servers": bootstrap,
                "input_topic": self.input_topic,
                "labels_topic": f"obs-labels-{run_id}",
                "events_topic": f"obs-events-{run_id}",
                "catalog_topic": f"obs-catalog-{run_id}",
                "deadletter_topic": f"obs-deadletter-{run_id}",
                "state_topic": f"obs-state-{run_id}",
                "group_id": f"obs-{run_id}",
                "transactional_id": f"obs-{run_id}",
                "topic_partitions": PARTITIONS,
                "batch_size": 40,
                "max_wait_ms": 200,
            },
            "http": {"host": "127.0.0.1", "port": self.http_port},
            "logging": {"level": "INFO", "format": "plain"},
        }
        self.config = workdir / "worker.yaml"
        self.config.write_text(yaml.safe_dump(settings))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "streamclust", "run", "--config", str(self.config)]
        command += ["--idle-flush-seconds", "1", "--max-seconds", "200"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def wait_until_connected(self, timeout: float) -> None:
        """Until /metrics shows every partition assigned (/readyz waits for the model too: posts first)."""
        url = f"http://127.0.0.1:{self.http_port}/metrics"
        assigned = f"streamclust_assigned_partitions {float(PARTITIONS)}"

        def connected() -> bool | None:
            return assigned in http_get(url)[1].decode() or None

        wait_for("the worker's partitions on /metrics", connected, timeout, self.process, self.log)

    def readyz(self) -> int:
        return http_get(f"http://127.0.0.1:{self.http_port}/readyz")[0]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class Prometheus:
    """The real Prometheus server, configured from deploy/prometheus/prometheus.yml to scrape one worker
    every second and to evaluate the shipped alert rules."""

    def __init__(self, target_port: int, workdir: Path) -> None:
        executable = shutil.which("prometheus")
        assert executable, "the prometheus server is not installed: run `bash deploy/prometheus/install`"
        self.executable = executable
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "prometheus.log"
        self.storage = workdir / "tsdb"
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        config["global"].update(
            {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"}
        )
        config["rule_files"] = [str(PROMETHEUS_DIR / name) for name in config["rule_files"]]
        [job] = config["scrape_configs"]
        job["static_configs"] = [{"targets": [f"127.0.0.1:{target_port}"]}]
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> None:
        command = [
            self.executable,
            f"--config.file={self.config}",
            f"--storage.tsdb.path={self.storage}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        ready = f"{self.url}/-/ready"
        wait_for("Prometheus to be ready", lambda: answers_ok(ready), timeout, self.process, self.log)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query through /api/v1/query; the vector of results."""
        status, body = http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}")
        assert status == 200, f"query {promql!r} failed: {status} {body[:300]!r}"
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        return list(answer["data"]["result"])

    def value(self, promql: str) -> float | None:
        """The single value of a query, or None while it has no result."""
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def rules(self) -> list[dict[str, Any]]:
        status, body = http_get(f"{self.url}/api/v1/rules")
        assert status == 200
        return [rule for group in json.loads(body)["data"]["groups"] for rule in group["rules"]]

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


@pytest.fixture(scope="module")
def worker(kafka_broker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    worker = Worker(kafka_broker.bootstrap, tmp_path_factory.mktemp("worker"))
    worker.start()
    try:
        worker.wait_until_connected(timeout=90)
        yield worker
    finally:
        worker.stop()


@pytest.fixture(scope="module")
def prometheus(worker: Worker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    server = Prometheus(worker.http_port, tmp_path_factory.mktemp("prometheus"))
    try:
        server.start(timeout=60)
        yield server
    finally:
        server.stop()


def produce(bootstrap: str, topic: str) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    try:
        now = time.time()
        for index in range(POSTS):
            post = {"id": f"post-{index}", "text": f"topic{index % 4} story number {index}", "timestamp": now}
            producer.send(topic, key=post["id"].encode(), value=json.dumps(post).encode())
        for index in range(BAD_RECORDS):
            producer.send(topic, key=f"bad-{index}".encode(), value=b"this is not json")
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


LABELLED = 'streamclust_posts_labelled_total{job="streamclust"}'
LAG = 'streamclust_consumer_lag_records{job="streamclust"}'
DEAD_LETTERED = 'sum(streamclust_posts_deadlettered_total{job="streamclust"})'


def test_prometheus_sees_posts_labelled_and_the_lag_of_every_partition(
    kafka_broker: Any, worker: Worker, prometheus: Prometheus
) -> None:
    scraped = wait_for("a first scrape", lambda: prometheus.value(LABELLED), timeout=30)
    assert prometheus.value('up{job="streamclust"}') == 1.0
    assert worker.readyz() == 503  # connected, but no model before the first posts

    produce(kafka_broker.bootstrap, worker.input_topic)

    def labelled_all() -> float | None:
        labelled = prometheus.value(LABELLED)
        return labelled if labelled is not None and labelled >= scraped + POSTS else None

    assert wait_for("Prometheus to see every post labelled", labelled_all, timeout=90) == scraped + POSTS
    assert worker.readyz() == 200  # the model is warm

    def lag_partitions() -> set[str] | None:
        series = prometheus.query(LAG)
        partitions = {sample["metric"]["partition"] for sample in series}
        return partitions if len(partitions) == PARTITIONS else None

    assert wait_for("a lag gauge per partition", lag_partitions, timeout=30) == {"0", "1", "2"}
    for sample in prometheus.query(LAG):
        assert sample["metric"]["topic"] == worker.input_topic
        assert float(sample["value"][1]) >= 0

    dead_lettered = wait_for("the dead letters", lambda: prometheus.value(DEAD_LETTERED) or None, timeout=30)
    assert dead_lettered == BAD_RECORDS
    assert prometheus.value('streamclust_transaction_commits_total{job="streamclust"}') >= 1
    assert prometheus.value('streamclust_end_to_end_seconds_count{job="streamclust"}') == POSTS
    assert (
        prometheus.value('histogram_quantile(0.5, streamclust_end_to_end_seconds_bucket{job="streamclust"})')
        > 0
    )
    assert prometheus.query('process_resident_memory_bytes{job="streamclust"}'), "default collectors missing"


def test_the_worker_answers_its_health_and_cluster_endpoints(worker: Worker) -> None:
    base = f"http://127.0.0.1:{worker.http_port}"
    assert http_get(f"{base}/healthz")[0] == 200

    status, body = http_get(f"{base}/clusters")

    assert status == 200
    clusters = json.loads(body)
    assert isinstance(clusters, list)
    assert all(
        {"cluster_id", "size", "keywords", "created_at", "last_seen_at"} <= set(entry) for entry in clusters
    )


def test_the_shipped_alert_rules_evaluate_cleanly_on_live_metrics(
    worker: Worker, prometheus: Prometheus
) -> None:
    def evaluated_rules() -> list[dict[str, Any]] | None:
        rules = prometheus.rules()
        return (
            rules if rules and all(rule.get("lastEvaluation", "").startswith("2") for rule in rules) else None
        )

    rules = wait_for("the alert rules to be evaluated", evaluated_rules, timeout=30)

    expected = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"][0]["rules"]
    assert {rule["name"] for rule in rules} == {rule["alert"] for rule in expected}
    assert [rule for rule in rules if rule["health"] != "ok"] == []
