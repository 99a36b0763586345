"""One shared-mode worker process: a labelling worker in the main thread and the trainer role beside it.

Every worker of ``kafka.group_id`` labels its share of the input partitions with the published model; the one
the election picks also trains (docs/architecture.md explains the design and its trade-offs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.errors import KafkaSetupError
from streamclust.io.kafka.clients import connect_admin
from streamclust.io.kafka.shared_mode.followed_model import FollowedModel
from streamclust.io.kafka.shared_mode.labeler import LabelingWorker
from streamclust.io.kafka.shared_mode.trainer_role import TrainerObserver, TrainerRole
from streamclust.io.kafka.topics import ensure_topics, shared_mode_topics
from streamclust.observer import WorkerObserver
from streamclust.schema import CatalogEntry

log = logging.getLogger("streamclust.kafka")


class SharedWorker:
    """``run()`` until ``stop()`` (or SIGTERM, wired by the CLI). ``instance_id`` must be unique per worker."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine_factory: Callable[[], Engine],
        instance_id: str | None = None,
        observers: Sequence[WorkerObserver] = (),
        trainer_observers: Sequence[TrainerObserver] = (),
        connect_timeout_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.connect_timeout_seconds = connect_timeout_seconds
        self._stopping = threading.Event()
        self.labeler = LabelingWorker(
            settings,
            FollowedModel(settings),
            instance_id=instance_id,
            observers=observers,
            connect_timeout_seconds=connect_timeout_seconds,
        )
        self.role = TrainerRole(
            settings,
            member=instance_id,
            engine_factory=engine_factory,
            observers=trainer_observers,
            on_failure=self.labeler.stop,
            connect_timeout_seconds=connect_timeout_seconds,
        )

    @property
    def observers(self) -> list[WorkerObserver]:
        return self.labeler.observers

    # -- WorkerStatus ---------------------------------------------------------------------------------------

    def is_alive(self) -> bool:
        return self.labeler.is_alive() and self.role.error is None

    def is_ready(self) -> bool:
        return self.labeler.is_ready()

    def clusters(self) -> list[CatalogEntry]:
        return self.labeler.clusters()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()
        self.labeler.stop()
        self.role.stop()

    def run(self, max_seconds: float | None = None) -> None:
        """Label (and train while elected) until stopped; raises KafkaSetupError if the trainer failed."""
        admin = connect_admin(self.settings.kafka, self.connect_timeout_seconds, self._stopping.is_set)
        try:
            ensure_topics(
                admin,
                self.settings.kafka,
                extra=shared_mode_topics(self.settings.kafka),
                state_chunk_bytes=self.settings.state.chunk_bytes,
            )
        finally:
            admin.close()
        self.role.start()
        try:
            self.labeler.run(max_seconds=max_seconds)
        finally:
            self.role.stop()
            self.role.join(timeout=120)
        if self.role.error is not None:
            raise KafkaSetupError(
                f"the trainer failed ({self.role.error!r}); the worker stopped so that another takes the role. "
                "See the log above, fix the cause and start the worker again"
            )
