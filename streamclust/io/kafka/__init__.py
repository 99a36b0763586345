"""Kafka in and out: client settings, topic setup, the transactional worker.

Only this package imports kafka."""

from streamclust.io.kafka.topics import ensure_topics, worker_topics
from streamclust.io.kafka.worker import KafkaWorker

__all__ = ["KafkaWorker", "ensure_topics", "worker_topics"]
