"""One file-mode run: read the input in batches, label them, write labels, events and rejects, and end cleanly
whatever the input holds.

Every unreadable line or row becomes a reject with its reason and line number and the run goes on. Reading
stops early only at damage (a truncated or corrupt gzip, a read error), on Ctrl-C, or when the first lines all
lack the field the settings name (``io/missing_field.py``); either way the posts read so far, including those
held for warm-up, are labelled before the run ends. ``FileRunSummary.exit_code`` says
how it ended.

Observers (``WorkerObserver``, e.g. the ``TimelineRecorder`` of ``--timeline``) hear of every batch as from
the Kafka worker: a ``HeldReport`` while the warm-up holds posts, a ``WorkerReport`` once posts are labelled
(rejected lines count as dead letters, by reason; those rejected during the warm-up are in the report of the
batch that labels the held posts, as the Kafka worker commits them with that batch).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING

from streamclust.io.files.reader import Format, InputBatch, InputLines, read_batches
from streamclust.io.files.writer import JsonlWriter, event_row, label_rows, reject_row
from streamclust.observer import HeldReport, WorkerObserver, WorkerReport
from streamclust.result import BatchResult

if TYPE_CHECKING:
    from streamclust.config import InputSettings
    from streamclust.engine import Engine
    from streamclust.io.files.checkpoints import FileCheckpoints

log = logging.getLogger("streamclust.files")

EXIT_OK = 0
EXIT_INTERNAL_ERROR = 1  # posts were read but not all labelled: a bug, please report it
EXIT_SETTINGS_MISMATCH = 2  # the input lacks the field the settings name: the message says which to change
EXIT_DAMAGED_INPUT = 3  # the input is truncated or corrupt: everything before the damage is labelled
EXIT_INTERRUPTED = 130  # Ctrl-C: everything read before it is labelled


@dataclass
class FileRunSummary:
    read: int = 0
    labelled: int = 0
    outliers: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    event_kinds: Counter[str] = field(default_factory=Counter)
    damage: str | None = None  # what stopped reading early, when the input is damaged
    damaged_line: int | None = None
    interrupted: bool = False
    mismatch: str | None = None  # the input does not match the settings: what to change

    @property
    def rejected(self) -> int:
        return sum(self.reasons.values())

    @property
    def exit_code(self) -> int:
        if self.labelled != self.read:
            return EXIT_INTERNAL_ERROR
        if self.damage is not None:
            return EXIT_DAMAGED_INPUT
        if self.mismatch is not None:
            return EXIT_SETTINGS_MISMATCH
        return EXIT_INTERRUPTED if self.interrupted else EXIT_OK


@dataclass
class FileOutputs:
    labels: JsonlWriter
    events: JsonlWriter
    rejects: JsonlWriter

    def close(self) -> None:
        for writer in (self.labels, self.events, self.rejects):
            writer.close()


class Interrupts:
    """Ctrl-C while a batch is being labelled and written waits for the batch to finish; while reading it stops
    the reading at once (a blocked read of standard input would never end otherwise)."""

    def __init__(self) -> None:
        self.busy = False
        self.requested = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if not self.busy:
            raise KeyboardInterrupt

    @contextmanager
    def installed(self) -> Iterator[Interrupts]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self.handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


class FileRun:
    """Labels the batches of one input with ``engine``; ``on_batch`` is told the summary after each batch."""

    def __init__(
        self,
        engine: Engine,
        outputs: FileOutputs,
        checkpoints: FileCheckpoints | None = None,
        on_batch: Callable[[FileRunSummary], None] = lambda summary: None,
        observers: Sequence[WorkerObserver] = (),
    ) -> None:
        self.engine = engine
        self.observers = list(observers)
        self.outputs = outputs
        self.checkpoints = checkpoints
        self.on_batch = on_batch
        self.summary = FileRunSummary()
        self.interrupts = Interrupts()
        self._held_rejects: Counter[str] = Counter()  # rejected while posts are held, not reported yet

    def run(self, lines: InputLines, fields: InputSettings, fmt: Format, batch_size: int) -> FileRunSummary:
        with self.interrupts.installed():
            try:
                self.label_all(read_batches(lines, fields, fmt, batch_size))
            except BaseException:
                self.flush_after_error()
                raise
            self.interrupts.busy = True
            started = time.monotonic()
            flushed = self.engine.flush()
            self.write(flushed)
            self.report(flushed, consumed=0, rejected=Counter(), started=started)
        summary = self.summary
        summary.damage, summary.interrupted = lines.damage, summary.interrupted or lines.interrupted
        summary.damaged_line = lines.line if lines.damage is not None else None
        if self.checkpoints is not None and summary.mismatch is None:
            self.checkpoints.at_end(self.engine)
        return summary

    def label_all(self, batches: Iterator[InputBatch]) -> None:
        while True:
            self.interrupts.busy = False
            batch = next(batches, None)
            self.interrupts.busy = True
            if batch is None:
                return
            self.take(batch)
            self.on_batch(self.summary)
            if self.interrupts.requested:
                self.summary.interrupted = True
                return

    def take(self, batch: InputBatch) -> None:
        started = time.monotonic()
        rejected = Counter(failure.reason for failure in batch.failures)
        for failure in batch.failures:
            self.outputs.rejects.write(reject_row(failure))
        self.summary.reasons.update(rejected)
        self.summary.mismatch = batch.mismatch
        self.summary.read += len(batch.posts)
        result = None
        if batch.posts:
            result = self.engine.process(batch.posts)
            self.write(result)
            if self.checkpoints is not None:
                self.checkpoints.after_batch(self.engine)
        self.report(result, len(batch.posts) + len(batch.failures), rejected, started)

    def report(
        self, result: BatchResult | None, consumed: int, rejected: Counter[str], started: float
    ) -> None:
        """Tell the observers about one batch, as the Kafka worker would."""
        if not self.observers:
            return
        held = len(self.engine.pending_post_ids)
        if held:
            self._held_rejects.update(rejected)
            warmup = HeldReport(
                consumed=consumed, held=held, warmup_posts=self.engine.encoder_settings.warmup_posts
            )
            for observer in self.observers:
                observer.observe_held(warmup)
            return
        rejected, self._held_rejects = self._held_rejects + rejected, Counter()
        labels = [] if result is None or not len(result.labels) else [result.labels]
        report = WorkerReport(
            result=result,
            consumed=consumed,
            deadlettered=dict(rejected),
            batch_seconds=time.monotonic() - started,
            labels=labels,
            events=[] if result is None else list(result.events),
        )
        for observer in self.observers:
            observer.observe_batch(report)

    def write(self, result: BatchResult) -> None:
        for row in label_rows(result.labels):
            self.outputs.labels.write(row)
        self.summary.labelled += len(result.labels)
        self.summary.outliers += int(result.labels.is_outlier.sum())
        for event in result.events:
            self.outputs.events.write(event_row(event))
            self.summary.event_kinds[event.kind.value] += 1

    def flush_after_error(self) -> None:
        """Label the posts held for warm-up even when the run fails, if the engine still can."""
        try:
            self.write(self.engine.flush())
        except Exception:
            log.exception("could not label the posts held for warm-up after the run failed")
