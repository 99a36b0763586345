"""Make sure streamclust's topics exist: create the missing ones, or say exactly what to create."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streamclust.config import KafkaSettings, StateSettings
from streamclust.errors import KafkaSetupError

log = logging.getLogger("streamclust.kafka")

COMPACTED = {"cleanup.policy": "compact"}
DEFAULT_CHUNK_BYTES = StateSettings().chunk_bytes


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]

    def create_command(self, bootstrap: str) -> str:
        extra = "".join(f" --config {key}={value}" for key, value in self.configs.items())
        return (
            f"kafka-topics.sh --bootstrap-server {bootstrap} --create --topic {self.name} "
            f"--partitions {self.partitions} --replication-factor {self.replication_factor}{extra}"
        )


def state_topic_max_bytes(chunk_bytes: int) -> int:
    """The state topic's largest record batch: a checkpoint chunk (or a full producer batch) plus headroom."""
    return max(chunk_bytes, 1_048_576) + 65_536


def worker_topics(kafka: KafkaSettings, state_chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> list[TopicSpec]:
    """Every topic the worker reads or writes. The catalog is compacted (latest state per cluster id); so is
    the state topic, which has one partition (checkpoints are read back in the order they were written)."""

    def spec(name: str, configs: dict[str, str] | None = None) -> TopicSpec:
        return TopicSpec(name, kafka.topic_partitions, kafka.replication_factor, configs or {})

    state_configs = COMPACTED | {"max.message.bytes": str(state_topic_max_bytes(state_chunk_bytes))}
    return [
        spec(kafka.input_topic),
        spec(kafka.labels_topic),
        spec(kafka.events_topic),
        spec(kafka.catalog_topic, COMPACTED),
        spec(kafka.deadletter_topic),
        TopicSpec(kafka.state_topic, 1, kafka.replication_factor, state_configs),
    ]


def control_topic(kafka: KafkaSettings) -> str:
    """Shared mode's one-partition topic: whoever owns its partition 0 in the trainer group is the trainer."""
    return f"{kafka.state_topic}-control"


def shared_mode_topics(kafka: KafkaSettings) -> list[TopicSpec]:
    """The topics shared mode needs besides the worker's: the trainer election's control topic."""
    return [TopicSpec(control_topic(kafka), 1, kafka.replication_factor, {})]


def ensure_topics(
    admin: KafkaAdminClient,
    kafka: KafkaSettings,
    extra: Sequence[TopicSpec] = (),
    state_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> list[str]:
    """Create the missing topics (the worker's and ``extra``) when ``kafka.create_topics`` is on; returns the
    names created.

    ``state_chunk_bytes`` is ``state.chunk_bytes``: it sizes the state topic's largest record.
    Raises KafkaSetupError naming the missing topics (with the commands that create them) otherwise, or when
    the broker refuses to create them.
    """
    wanted = worker_topics(kafka, state_chunk_bytes) + list(extra)
    existing = set(admin.list_topics())
    missing = [topic for topic in wanted if topic.name not in existing]
    if not missing:
        return []
    if not kafka.create_topics:
        raise KafkaSetupError(missing_topics_message(missing, kafka.bootstrap_servers))
    created: list[str] = []
    for topic in missing:
        new_topic = NewTopic(
            name=topic.name,
            num_partitions=topic.partitions,
            replication_factor=topic.replication_factor,
            topic_configs=topic.configs,
        )
        try:
            admin.create_topics([new_topic])
        except TopicAlreadyExistsError:
            continue  # another worker was quicker
        except KafkaError as error:
            raise KafkaSetupError(
                f"could not create topic {topic.name} ({error}). "
                + missing_topics_message(missing, kafka.bootstrap_servers)
            ) from error
        created.append(topic.name)
    if created:
        log.info("created kafka topics", extra={"topics": created})
    return created


def missing_topics_message(missing: list[TopicSpec], bootstrap: str) -> str:
    commands = "\n".join(f"  {topic.create_command(bootstrap)}" for topic in missing)
    return (
        f"missing Kafka topics: {', '.join(topic.name for topic in missing)}. Create them, for example:\n"
        f"{commands}\nor set kafka.create_topics: true to let streamclust create them."
    )
