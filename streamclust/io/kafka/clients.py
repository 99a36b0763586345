"""kafka-python clients built from ``KafkaSettings``, connecting to a broker that may not be up yet, and what
every role asks its clients (``consumer_lag``; ``require``: a client that has been connected)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.errors import KafkaConnectionError, KafkaTimeoutError

from streamclust.config import KafkaSettings
from streamclust.errors import KafkaSetupError

log = logging.getLogger("streamclust.kafka")

T = TypeVar("T")


def connection_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Bootstrap servers and the security settings, passed through unchanged to every client."""
    config: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_servers.split(","),
        "security_protocol": kafka.security_protocol,
    }
    if kafka.sasl_mechanism is not None:
        config["sasl_mechanism"] = kafka.sasl_mechanism
        config["sasl_plain_username"] = kafka.sasl_username
        if kafka.sasl_password is not None:
            config["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
        path = getattr(kafka, name)
        if path is not None:
            config[name] = str(path)
    return config


def worker_consumer_config(kafka: KafkaSettings) -> dict[str, Any]:
    """The worker's consumer: no auto-commit (offsets go into the producer's transaction), batch-sized polls,
    cooperative rebalancing, and a 6 s session (the brokers' usual minimum) so a crashed worker's partitions
    move on soon."""
    config = connection_config(kafka) | {
        "group_id": kafka.group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": kafka.auto_offset_reset,
        "isolation_level": "read_committed",
        "max_poll_records": kafka.batch_size,
        "fetch_max_wait_ms": kafka.max_wait_ms,
        "session_timeout_ms": 6_000,
        "heartbeat_interval_ms": 1_500,
        # Also the rebalance timeout: how long a rebalance waits for members that do not rejoin. A batch
        # (the warm-up's training included) must finish within it.
        "max_poll_interval_ms": 60_000,
        "partition_assignment_strategy": [CooperativeStickyAssignor()],
    }
    return config


def transactional_producer_config(kafka: KafkaSettings, transactional_id: str) -> dict[str, Any]:
    """An idempotent, transactional producer; a short transaction timeout so a crashed worker's open
    transaction stops holding back ``read_committed`` readers soon."""
    return connection_config(kafka) | {
        "transactional_id": transactional_id,
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "transaction_timeout_ms": 15_000,
    }


def reader_config(kafka: KafkaSettings) -> dict[str, Any]:
    """A group-less consumer for ``tail`` and tests: reads only committed records."""
    return connection_config(kafka) | {
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }


def with_backoff(
    connect: Callable[[], T],
    what: str,
    *,
    give_up_after: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> T:
    """Call ``connect`` until it stops failing for want of a broker, waiting 0.5 s, 1 s, 2 s, ... up to 30 s.

    Raises KafkaSetupError after ``give_up_after`` seconds (None: keep trying) or when ``should_stop()``.
    """
    started = time.monotonic()
    delay = 0.5
    attempt = 1
    while True:
        try:
            return connect()
        except (KafkaConnectionError, KafkaTimeoutError) as error:
            waited = time.monotonic() - started
            if should_stop() or (give_up_after is not None and waited + delay > give_up_after):
                raise KafkaSetupError(
                    f"could not reach a Kafka broker for the {what} after {waited:.0f}s ({error}); "
                    "check kafka.bootstrap_servers and that the broker is running"
                ) from error
            log.warning(
                "kafka broker unreachable, retrying",
                extra={"client": what, "attempt": attempt, "retry_in_seconds": delay, "error": str(error)},
            )
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
            attempt += 1


def connect_admin(
    kafka: KafkaSettings, give_up_after: float | None = None, should_stop: Callable[[], bool] = lambda: False
) -> KafkaAdminClient:
    return with_backoff(
        lambda: KafkaAdminClient(**connection_config(kafka)),
        "admin client",
        give_up_after=give_up_after,
        should_stop=should_stop,
    )


def connect_producer(
    config: dict[str, Any],
    give_up_after: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> KafkaProducer:
    return with_backoff(
        lambda: KafkaProducer(**config), "producer", give_up_after=give_up_after, should_stop=should_stop
    )


def connect_consumer(
    config: dict[str, Any],
    give_up_after: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> KafkaConsumer:
    return with_backoff(
        lambda: KafkaConsumer(**config), "consumer", give_up_after=give_up_after, should_stop=should_stop
    )


def require(client: T | None, what: str) -> T:
    """``client``, or a KafkaSetupError saying ``what`` has to happen first (a worker used before it connected)."""
    if client is None:
        raise KafkaSetupError(what)
    return client


def consumer_lag(consumer: KafkaConsumer, partitions: Iterable[TopicPartition]) -> dict[tuple[str, int], int]:
    """(topic, partition) -> records behind the end, for each of ``partitions`` whose end the consumer has seen
    (it learns it with its first fetch) and whose position it knows within 0.1 s."""
    lag: dict[tuple[str, int], int] = {}
    for tp in partitions:
        highwater = consumer.highwater(tp)
        position = consumer.position(tp, timeout_ms=100) if highwater is not None else None
        if highwater is not None and position is not None:
            lag[(tp.topic, tp.partition)] = max(0, highwater - position)
    return lag


class BrokerWatch:
    """Says in the log when no bootstrap server accepts connections any more, and when one does again.

    During an outage kafka-python's clients reconnect by themselves (with backoff) and the worker waits for them
    (an open transaction is committed once the broker is back, or aborted and its posts read again), so nothing
    is lost; this thread makes the outage visible: a warning per check while it lasts (checks back off from
    1 s to 30 s) and an info line when it ends. A plain TCP connect is the check, whatever the security protocol;
    it is skipped while the worker reports progress (``saw_progress`` after each commit), so a busy worker opens
    no extra connections.
    """

    def __init__(
        self, bootstrap_servers: str, every_seconds: float = 5.0, connect_timeout_seconds: float = 2.0
    ) -> None:
        self.servers = [server.strip() for server in bootstrap_servers.split(",") if server.strip()]
        self.every_seconds = every_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress_at = float("-inf")

    def saw_progress(self) -> None:
        """The clients just talked to the broker successfully (a committed batch)."""
        self._progress_at = time.monotonic()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="kafka-broker-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def unreachable_because(self) -> str | None:
        """None when some bootstrap server accepts a TCP connection, else why the last one did not."""
        reason = "no bootstrap servers configured"
        for server in self.servers:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host.strip("[]"), int(port)), self.connect_timeout_seconds):
                    return None
            except (OSError, ValueError) as error:
                reason = f"{server}: {error}"
        return reason

    def _watch(self) -> None:
        attempt = 0
        delay = 1.0
        down_since = 0.0
        while not self._stop.is_set():
            recent = attempt == 0 and time.monotonic() - self._progress_at < self.every_seconds
            reason = None if recent else self.unreachable_because()
            if reason is None:
                if attempt:
                    log.info(
                        "kafka broker reachable again",
                        extra={"outage_seconds": round(time.monotonic() - down_since, 1), "checks": attempt},
                    )
                attempt, delay = 0, 1.0
                self._stop.wait(self.every_seconds)
                continue
            if attempt == 0:
                down_since = time.monotonic()
            attempt += 1
            log.warning(
                "kafka broker unreachable, retrying",
                extra={"client": "worker", "attempt": attempt, "retry_in_seconds": delay, "error": reason},
            )
            self._stop.wait(delay)
            delay = min(delay * 2, 30.0)
