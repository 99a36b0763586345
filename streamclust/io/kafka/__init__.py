"""Kafka in and out: client settings, topic setup, the transactional worker.

Only this package imports kafka. ``KafkaWorker`` is imported on first use, so that the committer process
(``committer.py``) starts without the engine's libraries.
"""

from typing import TYPE_CHECKING, Any

from streamclust.io.kafka.topics import ensure_topics, worker_topics

if TYPE_CHECKING:
    from streamclust.io.kafka.worker import KafkaWorker

__all__ = ["KafkaWorker", "ensure_topics", "worker_topics"]


def __getattr__(name: str) -> Any:
    if name == "KafkaWorker":
        from streamclust.io.kafka.worker import KafkaWorker

        return KafkaWorker
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
