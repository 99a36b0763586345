"""When the next checkpoint is due: after ``every_posts`` posts learned from, or ``every_seconds`` seconds.

>>> schedule = CheckpointSchedule(every_posts=1_000, every_seconds=60.0, last_time=0.0)
>>> schedule.due(position=999, now=10.0), schedule.due(position=1_000, now=10.0)
(False, True)
>>> schedule.saved(position=1_000, now=10.0)
>>> schedule.due(position=1_200, now=30.0), schedule.due(position=1_200, now=70.0)
(False, True)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class CheckpointSchedule:
    every_posts: int
    every_seconds: float
    last_position: int = 0
    last_time: float = 0.0

    def due(self, position: int, now: float) -> bool:
        """Whether to checkpoint now (never twice at the same position)."""
        if position <= self.last_position:
            return False
        return position - self.last_position >= self.every_posts or now - self.last_time >= self.every_seconds

    def saved(self, position: int, now: float) -> None:
        self.last_position = position
        self.last_time = now
