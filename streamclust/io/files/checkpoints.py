"""File mode's checkpoints: resume from the newest one in the state directory, save as the stream goes on and
at the end. A checkpoint holds the model, not a place in the input: resume with the posts that follow.

The schedule (``state/schedule.py``) counts the posts learned since the last save; a run's first interval
starts when it starts, and nothing is saved twice at the same position."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from streamclust.config import Settings
from streamclust.engine import Engine
from streamclust.state.capture import capture, restore
from streamclust.state.directory import StateDirectory
from streamclust.state.schedule import CheckpointSchedule


class FileCheckpoints:
    """Checkpoints of one file-mode run in ``directory``; ``say`` tells the user what happened."""

    def __init__(
        self,
        directory: StateDirectory,
        schedule: CheckpointSchedule,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.schedule = schedule
        self.say = say
        self.clock = clock
        self.counted_position = 0  # the engine position the schedule has counted up to
        self.schedule.done(clock())

    @classmethod
    def in_directory(cls, path: Path, settings: Settings, say: Callable[[str], None]) -> FileCheckpoints:
        state = settings.state
        return cls(
            StateDirectory(path, keep=state.keep),
            CheckpointSchedule(state.checkpoint_every_posts, state.checkpoint_every_seconds),
            say,
        )

    def open_engine(self, settings: Settings) -> Engine:
        """An engine resumed from the newest usable checkpoint (a corrupt one is skipped with a warning for the
        one before it), or a new one when the directory holds none; CheckpointError when none is usable."""
        found = self.directory.restore_latest(lambda state: restore(state, settings))
        if found is None:
            self.say(f"no checkpoint in {self.directory.path} yet: starting a new model")
            return Engine.from_settings(settings)
        state, engine = found
        self.counted_position = state.position
        self.schedule.done(self.clock())
        self.say(
            f"resuming from the checkpoint in {self.directory.path}: model version {state.model_version}, "
            f"{state.position} posts learned from, {len(engine.clusters)} clusters"
        )
        return engine

    def after_batch(self, engine: Engine) -> Path | None:
        """Save when a checkpoint is due (only a warm engine has a model to save)."""
        now = self.clock()
        self.count_learned(engine)
        if not engine.is_warm or not self.schedule.posts_since or not self.schedule.due(now):
            return None
        return self.save(engine, now)

    def at_end(self, engine: Engine) -> Path | None:
        """The final checkpoint, after any retrain in flight has finished (so it is kept too)."""
        engine.close()
        self.count_learned(engine)
        if not engine.is_warm or not self.schedule.posts_since:
            return None
        path = self.save(engine, self.clock())
        self.say(
            f"checkpoint saved: {path} (model version {engine.model_version}, position {engine.position})"
        )
        return path

    def save(self, engine: Engine, now: float) -> Path:
        path = self.directory.save(capture(engine))
        self.schedule.done(now)
        return path

    def count_learned(self, engine: Engine) -> None:
        """Count into the schedule the posts the engine has learned since the last count."""
        self.schedule.count(engine.position - self.counted_position)
        self.counted_position = engine.position
