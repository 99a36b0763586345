"""The observer contract: what a worker (the Kafka worker, or a file-mode run) tells its observers (metrics,
logs, the live view, the timeline) after each batch and on changes.

It sits between the adapters (``io/``), which send these reports, and the observers (``obs/``), which read them,
so neither imports the other. The worker owns the numbers; observers only read them. Observers implement
``WorkerObserver``:

- ``observe_batch`` when a batch's transaction has an outcome (committed, or aborted and to be read again);
- ``observe_held`` after each poll that read records while the engine holds posts (the warm-up): nothing is
  committed then, so without it a watcher would see nothing at all until the warm-up ends;
- ``observe_rebalance`` when partitions move.

Every record read is in the ``consumed`` of exactly one report: a ``HeldReport`` gives the reads of its poll,
and the ``WorkerReport`` of the batch that later commits them gives only the reads not reported before.

Besides the reports, a worker tells people how it is doing in progress lines (``say``): the log formatters
(``obs/logs.py``) show a person the message and give a machine the numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from streamclust.result import BatchResult, LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent

# ``input_mismatch`` (below) names the setting ``input.<field>`` the input does not match: the first SAMPLE_LINES
# records read were all rejected for the missing field of one reason here (``io/missing_field.py`` watches).
SAMPLE_LINES = 100
SETTING_OF_REASON = {"missing_text": "text_field", "missing_id": "id_field"}

NUMBERS = "numbers"  # the extra field of a progress line: its numbers, for machines


def say(logger: logging.Logger, message: str, **numbers: object) -> None:
    """An INFO progress line: ``message`` for people, ``numbers`` as fields of a JSON line."""
    logger.info(message, extra={NUMBERS: numbers})


@dataclass(frozen=True)
class WorkerReport:
    """One processed batch as seen by the worker."""

    result: BatchResult | None  # None when the batch held only dead letters
    consumed: int  # records read in this batch, good and bad, and not in an earlier HeldReport
    deadlettered: dict[str, int] = field(default_factory=dict)  # reason -> count
    batch_seconds: float = 0.0  # from first record in hand to transaction committed
    end_to_end_seconds: np.ndarray = field(default_factory=lambda: np.empty(0))  # per labelled post
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> records behind
    assigned_partitions: int = 0
    committed: bool = True  # the transaction committed
    aborted: bool = False  # the transaction was aborted (the batch will be read again)
    labels: list[LabelBatch] = field(
        default_factory=list
    )  # every label of the batch (``result`` has the last)
    events: list[ClusterEvent] = field(default_factory=list)  # every cluster event of the batch
    checkpoint_bytes: int = 0  # size of the model checkpoint this batch's transaction carried (0: none)
    failed_transactions: int = 0  # batch transactions failed in a row so far (0: the last one committed)
    input_mismatch: str | None = None  # the setting the input does not match (MissingFieldCheck), or None
    first_model: bool = False  # the warm-up ended in this batch: its labels are the first model's


@dataclass(frozen=True)
class HeldReport:
    """A poll during the warm-up: posts were read and are held, nothing was committed."""

    consumed: int  # records read from Kafka by this poll (and not reported before), good and bad
    held: int  # posts the engine holds now
    warmup_posts: int  # posts the engine holds before it trains its first model
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> records behind
    assigned_partitions: int = 0
    input_mismatch: str | None = None  # as in WorkerReport


@dataclass(frozen=True)
class TrainerProgress:
    """Shared mode: what the trainer tells observers after each step."""

    lag_posts: int  # posts on the input topic the trainer has not learned yet
    model_version: int
    position: int  # posts learned
    published: bool  # this step published a model


class WorkerObserver(Protocol):
    def observe_batch(self, report: WorkerReport) -> None: ...

    def observe_held(self, report: HeldReport) -> None: ...

    def observe_rebalance(self, assigned: int, revoked: int) -> None: ...


class WorkerStatus(Protocol):
    """What the HTTP endpoints ask the worker."""

    def is_alive(self) -> bool: ...

    def is_ready(self) -> bool: ...  # connected to Kafka and the model is warm

    def clusters(self) -> list[CatalogEntry]: ...
