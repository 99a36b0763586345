"""Electing the one trainer of a shared-mode deployment with Kafka's own group protocol.

Every worker joins the consumer group ``<kafka.group_id>-trainer`` on a one-partition control topic. The group
coordinator gives that partition to exactly one live member: that member is the trainer. When it stops
heartbeating (crash, SIGKILL, a network cut longer than the 10 s session) the coordinator hands the partition
to a survivor, so failover needs no code of ours. The sticky assignor keeps the partition where it is when
workers join, so adding a labeler does not move the trainer (and cooperative rebalancing never takes the partition away
from its owner just to give it back).

Nothing is ever written to the control topic; the group membership is the whole message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from streamclust.config import KafkaSettings
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import connect_consumer, connection_config
from streamclust.io.kafka.topics import control_topic

log = logging.getLogger("streamclust.kafka")


def trainer_group(kafka: KafkaSettings) -> str:
    return f"{kafka.group_id}-trainer"


def election_consumer_config(kafka: KafkaSettings, member: str | None) -> dict[str, Any]:
    """A member of the trainer group. A 10 s session moves the role soon after a crash yet rides out a busy
    machine (labels keep flowing while the role moves, so a slower failover costs little); the long poll
    interval lets the trainer spend minutes on one step (the first model's training) without losing the role."""
    return connection_config(kafka) | {
        "group_id": trainer_group(kafka),
        "client_id": f"streamclust-election-{member or 'worker'}",
        "enable_auto_commit": False,
        "auto_offset_reset": "latest",
        "session_timeout_ms": 10_000,
        "heartbeat_interval_ms": 2_000,
        "max_poll_interval_ms": 300_000,
        # The group leader assigns only partitions its metadata knows: refresh often, so a control topic that
        # was created a moment ago is not left unassigned until the default five-minute refresh.
        "metadata_max_age_ms": 10_000,
        "partition_assignment_strategy": [CooperativeStickyAssignor()],
    }


class TrainerElection:
    """One member of the trainer election. Call ``poll`` regularly (it keeps the membership alive); ``elected``
    says whether this member is the trainer now.

    ``on_change(elected)`` is called from inside ``poll`` when the role is won or lost.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        member: str | None = None,
        on_change: Callable[[bool], None] = lambda elected: None,
    ) -> None:
        self.kafka = kafka
        self.member = member
        self.partition = TopicPartition(control_topic(kafka), 0)
        self.on_change = on_change
        self.elected = False
        self.consumer: KafkaConsumer | None = None

    def join(
        self, give_up_after: float | None = None, should_stop: Callable[[], bool] = lambda: False
    ) -> None:
        config = election_consumer_config(self.kafka, self.member)
        self.consumer = connect_consumer(config, give_up_after, should_stop)
        self._wait_for_control_topic(give_up_after, should_stop)
        self.consumer.subscribe([self.partition.topic], listener=_ElectionListener(self))

    def _wait_for_control_topic(self, give_up_after: float | None, should_stop: Callable[[], bool]) -> None:
        """Join only once this client's metadata has the control topic (it may have just been created)."""
        assert self.consumer is not None
        deadline = time.monotonic() + (give_up_after if give_up_after is not None else 60.0)
        while not self.consumer.partitions_for_topic(self.partition.topic):
            if should_stop() or time.monotonic() > deadline:
                raise KafkaSetupError(
                    f"the trainer election's control topic {self.partition.topic!r} does not exist; let the "
                    "worker create it (kafka.create_topics: true) or create it with one partition"
                )
            time.sleep(0.2)

    def poll(self, timeout_ms: int = 0) -> bool:
        """Take part in the group (heartbeats, rebalances); returns whether this member is the trainer."""
        if self.consumer is None:
            raise RuntimeError("join() the election before polling it")
        self.consumer.poll(timeout_ms=timeout_ms, max_records=1)
        return self.elected

    def leave(self) -> None:
        """Leave the group at once, so another member takes over without waiting for the session timeout."""
        if self.consumer is not None:
            self.consumer.close(autocommit=False)
            self.consumer = None
        self._set(False)

    def _set(self, elected: bool) -> None:
        if elected != self.elected:
            self.elected = elected
            log.info(
                "elected trainer" if elected else "no longer the trainer",
                extra={"member": self.member, "group": trainer_group(self.kafka)},
            )
            self.on_change(elected)


class _ElectionListener(ConsumerRebalanceListener):
    def __init__(self, election: TrainerElection) -> None:
        self.election = election

    def on_partitions_revoked(self, revoked: Any) -> None:
        if self.election.partition in set(revoked):
            self.election._set(False)

    def on_partitions_assigned(self, assigned: Any) -> None:
        if self.election.partition in set(assigned):
            self.election._set(True)
