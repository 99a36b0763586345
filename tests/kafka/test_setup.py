"""Client settings and topic setup: security settings reach kafka-python unchanged; missing topics are either
created (the catalog compacted) or named in an error that says how to create them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka_support import Stream

from streamclust.config import KafkaSettings, load_settings
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import connection_config, transactional_producer_config
from streamclust.io.kafka.topics import ensure_topics


def test_security_settings_are_passed_through() -> None:
    kafka = KafkaSettings(
        bootstrap_servers="a:9093,b:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="clusterer",
        sasl_password="s3cret",  # type: ignore[arg-type]
        ssl_cafile=Path("ca.pem"),
    )
    config = connection_config(kafka)
    assert config == {
        "bootstrap_servers": ["a:9093", "b:9093"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "clusterer",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "ca.pem",
    }
    producer = transactional_producer_config(kafka, "worker-1")
    assert producer["transactional_id"] == "worker-1" and producer["enable_idempotence"] is True
    assert producer["sasl_plain_password"] == "s3cret"


@pytest.mark.kafka
def test_missing_topics_are_named_when_creation_is_off(kafka_broker: Any, tmp_path: Path) -> None:
    stream = Stream(kafka_broker.bootstrap, tmp_path, create_topics=False)
    kafka = load_settings(stream.config).kafka
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        with pytest.raises(KafkaSetupError) as error:
            ensure_topics(admin, kafka)
    finally:
        admin.close()
    message = str(error.value)
    assert stream.topic("input") in message and stream.topic("catalog") in message
    assert f"--topic {stream.topic('catalog')} --partitions 3" in message
    assert "cleanup.policy=compact" in message


@pytest.mark.kafka
def test_missing_topics_are_created_with_the_catalog_and_state_compacted(
    kafka_broker: Any, tmp_path: Path
) -> None:
    stream = Stream(kafka_broker.bootstrap, tmp_path, partitions=2)
    kafka = load_settings(stream.config).kafka
    admin = KafkaAdminClient(bootstrap_servers=kafka_broker.bootstrap)
    try:
        created = ensure_topics(admin, kafka, state_chunk_bytes=2_000_000)
        assert ensure_topics(admin, kafka) == []  # a second worker finds them all
        catalog, state = stream.topic("catalog"), stream.topic("state")
        described = {
            name: admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])["topic"][name]
            for name in (catalog, state)
        }
        partitions = {
            topic["name"]: len(topic["partitions"]) for topic in admin.describe_topics([catalog, state])
        }
    finally:
        admin.close()
    assert sorted(created) == sorted(
        stream.topic(name) for name in ("input", "labels", "events", "catalog", "deadletter", "state")
    )
    assert described[catalog]["cleanup.policy"]["value"] == "compact"
    assert described[state]["cleanup.policy"]["value"] == "compact"
    # one partition, and room for a whole checkpoint chunk in one record
    assert partitions == {catalog: 2, state: 1}
    assert int(described[state]["max.message.bytes"]["value"]) > 2_000_000
