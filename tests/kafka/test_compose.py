"""docker-compose.yml cannot run here (no Docker engine), so check that it agrees with configs/ and with the
local broker: the same Kafka, the topics the worker uses, and worker settings that load."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from streamclust.config import load_settings
from streamclust.io.kafka.topics import worker_topics

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8")))


def worker_config(compose: dict[str, Any]) -> Path:
    command = compose["services"]["worker"]["command"]
    match = re.search(r"--config\s+(\S+)", command)
    assert match, f"the worker command names no --config: {command}"
    return REPO / match.group(1)


def worker_settings(compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in compose["services"]["worker"]["environment"].items():
        monkeypatch.setenv(name, str(value))
    return load_settings(worker_config(compose))


def test_kafka_is_the_same_kraft_broker_as_the_local_one(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    pom = (REPO / "deploy" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    version = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert version
    assert kafka["image"] == f"apache/kafka:{version.group(1)}"
    environment = kafka["environment"]
    assert set(environment["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in name for name in environment)
    assert compose["services"]["topics"]["image"] == kafka["image"]


def test_worker_config_exists_and_its_environment_loads(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert worker_config(compose).is_file(), f"{worker_config(compose)} is named by docker-compose.yml"
    environment = compose["services"]["worker"]["environment"]
    assert all(name.startswith("STREAMCLUST_") for name in environment)
    settings = worker_settings(compose, monkeypatch)  # an unknown variable or bad value raises ConfigError
    assert settings.kafka.create_topics is False  # the topics step creates them
    assert settings.http.host == "0.0.0.0"


def test_worker_reaches_the_broker_on_an_advertised_listener(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = worker_settings(compose, monkeypatch)
    advertised = compose["services"]["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    endpoints = {listener.split("://", 1)[1] for listener in advertised.split(",")}
    assert set(settings.kafka.bootstrap_servers.split(",")) <= endpoints
    topics_done = {"condition": "service_completed_successfully"}
    assert compose["services"]["worker"]["depends_on"] == {"topics": topics_done}


def test_topics_step_creates_exactly_the_worker_topics(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = worker_settings(compose, monkeypatch)
    declared: dict[str, tuple[int, dict[str, str]]] = {}
    for spec in shlex.split(compose["services"]["topics"]["environment"]["TOPICS"]):
        name, partitions, *policy = spec.split(":")
        configs = {"cleanup.policy": "compact"} if policy[:1] == ["compact"] else {}
        if len(policy) == 2:
            configs["max.message.bytes"] = policy[1]
        declared[name] = (int(partitions), configs)
    wanted = {topic.name: (topic.partitions, topic.configs) for topic in worker_topics(settings.kafka)}
    assert declared == wanted


def test_published_ports_match_the_settings(compose: dict[str, Any]) -> None:
    host_settings = load_settings(worker_config(compose))  # what produce/tail use from the host
    kafka = compose["services"]["kafka"]
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"HOST://{host_settings.kafka.bootstrap_servers}" in advertised.split(",")
    host_port = host_settings.kafka.bootstrap_servers.rsplit(":", 1)[1]
    assert f"127.0.0.1:{host_port}:{host_port}" in kafka["ports"]
    assert (
        f"127.0.0.1:{host_settings.http.port}:{host_settings.http.port}"
        in compose["services"]["worker"]["ports"]
    )
