"""What a running worker says in its log: the warm-up's progress, the first model, then posts/s and lag every
few seconds. ``ProgressLog`` is a ``WorkerObserver``; it writes at most one progress line per ``every_seconds``
(plus the one line that says the first model is ready), however many batches there are.

>>> from streamclust.observer import HeldReport
>>> progress = ProgressLog(every_seconds=5.0, clock=iter([0.0, 1.0, 6.0]).__next__, say=print)
>>> for held in (40, 80, 812):  # polls at 0 s, 1 s and 6 s
...     progress.observe_held(HeldReport(consumed=40, held=held, warmup_posts=2000))
warming up: 40 of 2,000 posts held until the first model is trained
warming up: 812 of 2,000 posts held until the first model is trained
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from streamclust.obs.logs import say
from streamclust.observer import HeldReport, WorkerReport

log = logging.getLogger("streamclust.progress")


class ProgressLog:
    """Progress lines from the worker's reports; ``say`` receives each message (default: the log at INFO,
    with the numbers as fields of a JSON line)."""

    def __init__(
        self,
        every_seconds: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.every_seconds = every_seconds
        self.clock = clock
        self._say = say
        self._last_line_at = float("-inf")
        self._warming_up = False  # posts were held for the warm-up, or the warm-up ended in a reported batch
        self._labelling = False
        self._labelled_since = 0  # posts labelled since the last progress line
        self._counted_since = 0.0  # when that count started
        self._clusters = 0  # of the last batch with an engine result (a batch of dead letters alone has none)
        self._model_version = 0

    def observe_held(self, report: HeldReport) -> None:
        self._warming_up = report.held > 0
        now = self.clock()
        if now - self._last_line_at < self.every_seconds:
            return
        self._last_line_at = now
        self._line(
            f"warming up: {report.held:,} of {report.warmup_posts:,} posts held until the first model is trained",
            held=report.held,
            warmup_posts=report.warmup_posts,
            lag=sum(report.lag.values()),
        )

    def observe_batch(self, report: WorkerReport) -> None:
        self._warming_up |= report.first_model  # the warm-up may end inside the poll that began it
        if not report.committed:
            return  # the worker has warned; the batch is read again
        now = self.clock()
        labelled = sum(len(labels) for labels in report.labels)
        if report.result is not None:
            self._clusters = report.result.stats.active_clusters
            self._model_version = report.result.stats.model_version
        if not self._labelling:
            # before the first labels there is no rate to tell (dead letters alone are no progress)
            if labelled:
                self._labelling = True
                self._announce_model(labelled)
                self._last_line_at = self._counted_since = now
            return
        self._labelled_since += labelled
        seconds = now - self._counted_since
        if now - self._last_line_at < self.every_seconds or seconds <= 0:
            return
        rate = self._labelled_since / seconds
        lag, clusters = sum(report.lag.values()), self._clusters
        self._line(
            f"labelling {rate:,.0f} posts/s, lag {lag:,} records, {clusters:,} clusters",
            posts_per_second=round(rate, 1),
            lag=lag,
            clusters=clusters,
            model_version=self._model_version,
        )
        self._last_line_at = self._counted_since = now
        self._labelled_since = 0

    def observe_rebalance(self, assigned: int, revoked: int) -> None:
        return None  # the worker logs the partitions itself

    def _announce_model(self, labelled: int) -> None:
        version, clusters = self._model_version, self._clusters
        if self._warming_up:
            message = (
                f"first model ready (version {version}, {clusters:,} clusters): "
                f"labelled the first {labelled:,} posts"
            )
        else:  # a restored checkpoint, or shared mode's published model
            message = f"labelling with model version {version} ({clusters:,} clusters)"
        self._warming_up = False
        self._line(message, model_version=version, clusters=clusters, labelled=labelled)

    def _line(self, message: str, **numbers: object) -> None:
        if self._say is not None:
            self._say(message)
        else:
            say(log, message, **numbers)
