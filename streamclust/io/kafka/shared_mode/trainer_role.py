"""The trainer role of a shared-mode worker: a thread that takes part in the election and trains while elected.

Every worker runs one, so whichever worker Kafka elects can take over the training at once. The thread owns
its clients (the election's consumer, and while elected the trainer's consumer and producer); the labelling
loop in the main thread shares nothing with it but the process. Torch and FAISS release the interpreter lock
for the heavy work, so on a small machine the two threads share the cores rather than queue for the lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.io.kafka.shared_mode.election import TrainerElection
from streamclust.io.kafka.shared_mode.trainer import Trainer, TrainerFenced
from streamclust.observer import TrainerProgress

log = logging.getLogger("streamclust.kafka")

IDLE_POLL_MS = 500  # how long a labeler-only worker waits in the election between checks
FENCED_PAUSE_SECONDS = 10.0  # after being fenced, let the group settle before taking the role again


class TrainerObserver(Protocol):
    def observe_trainer(self, progress: TrainerProgress | None) -> None: ...  # None: not the trainer


class TrainerRole:
    """``start()`` the thread, ``stop()`` it (a trainer publishes what it learned on the way out), ``join()``.

    ``on_failure`` is called from the thread if training fails unexpectedly; the error is kept in ``error``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        member: str | None,
        engine_factory: Callable[[], Engine],
        observers: Sequence[TrainerObserver] = (),
        on_failure: Callable[[], None] = lambda: None,
        connect_timeout_seconds: float | None = None,
    ) -> None:
        self.settings = settings
        self.member = member
        self.engine_factory = engine_factory
        self.observers = list(observers)
        self.on_failure = on_failure
        self.connect_timeout_seconds = connect_timeout_seconds
        self.trainer: Trainer | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._fenced_at = -FENCED_PAUSE_SECONDS
        self._thread = threading.Thread(target=self._run, name="streamclust-trainer", daemon=True)

    @property
    def is_trainer(self) -> bool:
        return self.trainer is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        election = TrainerElection(self.settings.kafka, self.member)
        try:
            election.join(self.connect_timeout_seconds, self._stop.is_set)
            while not self._stop.is_set():
                elected = election.poll(timeout_ms=0 if self.trainer is not None else IDLE_POLL_MS)
                if elected and self.trainer is None:
                    if time.monotonic() - self._fenced_at >= FENCED_PAUSE_SECONDS:
                        self._take_role()
                elif not elected and self.trainer is not None:
                    self._drop_role("the election moved the role to another worker")
                if self.trainer is not None:
                    self._step(self.trainer)
            if self.trainer is not None:
                self.trainer.publish_pending()
        except TrainerFenced:
            log.info("stopped while fenced by a newer trainer")
        except Exception as error:
            self.error = error
            log.exception("the trainer failed; stopping this worker so the role moves on")
            self.on_failure()
        finally:
            if self.trainer is not None:
                self._drop_role("stopping")
            election.leave()

    def _take_role(self) -> None:
        trainer = Trainer(
            self.settings,
            engine_factory=self.engine_factory,
            connect_timeout_seconds=self.connect_timeout_seconds,
            should_stop=self._stop.is_set,
        )
        try:
            trainer.start()
        except BaseException:
            trainer.close()
            raise
        self.trainer = trainer

    def _step(self, trainer: Trainer) -> None:
        try:
            progress = trainer.step()
        except TrainerFenced as error:
            log.warning("fenced by a newer trainer; giving up the role", extra={"error": str(error)})
            self._fenced_at = time.monotonic()
            self._drop_role("fenced")
            return
        for observer in self.observers:
            observer.observe_trainer(progress)

    def _drop_role(self, why: str) -> None:
        trainer, self.trainer = self.trainer, None
        if trainer is not None:
            trainer.close()
            log.info("trainer stopped", extra={"why": why})
        for observer in self.observers:
            observer.observe_trainer(None)
