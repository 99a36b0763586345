"""When the next checkpoint is due: after ``every_posts`` posts learned since the last one, or ``every_seconds``
seconds, whichever comes first. Before the first checkpoint one is due at once (a fresh model's warm-up is the
most expensive thing to lose); a run that wants its first interval counted from its start calls ``done`` then.

>>> schedule = CheckpointSchedule(every_posts=1_000, every_seconds=60.0)
>>> schedule.due(now=0.0)
True
>>> schedule.done(now=0.0)
>>> schedule.count(999)
>>> schedule.due(now=10.0)
False
>>> schedule.count(1)
>>> schedule.due(now=10.0)
True
>>> schedule.done(now=10.0)
>>> schedule.due(now=30.0), schedule.due(now=70.0)
(False, True)

The Kafka worker (``io/kafka/durability/checkpointing.py``) and file mode (``io/files/checkpoints.py``) both keep
one; file mode also never saves twice at the same position.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckpointSchedule:
    every_posts: int
    every_seconds: float
    posts_since: int = 0  # posts learned since the last checkpoint
    last_at: float | None = None  # seconds (any clock) of the last checkpoint; None: none yet

    def count(self, posts: int) -> None:
        """``posts`` more posts learned."""
        self.posts_since += posts

    def due(self, now: float) -> bool:
        if self.last_at is None:
            return True
        return self.posts_since >= self.every_posts or now - self.last_at >= self.every_seconds

    def done(self, now: float) -> None:
        """A checkpoint was taken (or the interval starts) at ``now``."""
        self.posts_since = 0
        self.last_at = now
