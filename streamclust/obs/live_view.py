"""A live terminal view of a running worker (rich): posts/s, lag, outlier share, the largest clusters with their
keywords, and one line per new, merged or retired topic as it happens.

``LiveView`` is a ``WorkerObserver``; ``render_status`` is a pure function of the numbers it keeps, so the view
can be tested without a terminal.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from streamclust.obs.metrics import OutlierWindow
from streamclust.observer import HeldReport, WorkerReport
from streamclust.schema import CatalogEntry, ClusterEvent, EventKind

RATE_WINDOW_SECONDS = 5.0  # posts/s is the posts labelled over this many seconds


@dataclass
class LiveNumbers:
    """What the view shows, updated after every committed batch and every poll of the warm-up.

    The rate counts posts over a window of time, whatever the number of batches in it: at 150 posts/s a worker
    that keeps up commits many small batches (a poll returns as soon as a few records are there).

    >>> numbers = LiveNumbers(started_at=0.0)
    >>> for tick in range(1, 101):  # 100 batches of 3 posts in 2 s
    ...     numbers.add(at=tick / 50, labelled=3, outliers=0)
    >>> numbers.posts_per_second(now=2.0)
    150.0
    """

    started_at: float
    labelled: int = 0
    deadlettered: int = 0
    lag: int = 0
    model_version: int = 0
    recent: deque[tuple[float, int]] = field(default_factory=deque)  # (at, posts) of the last seconds
    outliers: OutlierWindow = field(default_factory=lambda: OutlierWindow(window_posts=1000))
    clusters: list[CatalogEntry] = field(default_factory=list)
    expected_posts: int | None = None
    pending: int = 0  # posts held back while the first model is trained
    warmup_posts: int | None = None  # posts held before the first model is trained

    def add(self, at: float, labelled: int, outliers: int) -> None:
        self.labelled += labelled
        self.recent.append((at, labelled))
        while self.recent and at - self.recent[0][0] > RATE_WINDOW_SECONDS:
            self.recent.popleft()
        if labelled:
            self.outliers.add(labelled, outliers)

    def posts_per_second(self, now: float, window: float = RATE_WINDOW_SECONDS) -> float:
        """Posts labelled over the last ``window`` seconds (or since the start, when that is shorter)."""
        recent = tuple(self.recent)  # a copy: the display thread reads while the worker's thread adds
        posts = sum(posts for at, posts in recent if now - at < window)
        return posts / max(min(window, now - self.started_at), 1.0)

    def outlier_share(self) -> float:
        """Share of outliers among about the last 1,000 labelled posts."""
        return self.outliers.share()


def event_line(event: ClusterEvent) -> Text:
    """One line for a created, merged or retired cluster ('' for updates)."""
    keywords = f": {', '.join(event.keywords[:6])}" if event.keywords else ""
    if event.kind == EventKind.CREATED:
        return Text.assemble(
            ("new topic ", "bold green"),
            (f"#{event.cluster_id}", "bold"),
            f" ({event.size:.0f} posts){keywords}",
        )
    if event.kind == EventKind.MERGED:
        return Text.assemble(
            ("merged ", "yellow"), f"#{event.cluster_id} into #{event.merged_into}{keywords}"
        )
    if event.kind == EventKind.RETIRED:
        return Text.assemble(("retired ", "red"), f"#{event.cluster_id}{keywords}")
    return Text("")


def waiting_line(numbers: LiveNumbers) -> str:
    """What the view says before the first labels: the warm-up's progress, or that no post came yet."""
    if not numbers.pending:
        return "waiting for posts"
    of = f" of {numbers.warmup_posts:,}" if numbers.warmup_posts else ""
    return f"warming up: {numbers.pending:,}{of} posts held until the first model is trained"


def render_status(numbers: LiveNumbers, now: float, top: int = 12) -> RenderableType:
    """The header line and the table of the largest active clusters."""
    elapsed = now - numbers.started_at
    progress = (
        f"{numbers.labelled:,}/{numbers.expected_posts:,} posts"
        if numbers.expected_posts
        else f"{numbers.labelled:,} posts"
    )
    active = [entry for entry in numbers.clusters if entry.status == "active"]
    header = Text.assemble(
        ("streamclust ", "bold cyan"),
        f"{elapsed:5.0f}s  {progress}  ",
        ("posts/s ", "dim"),
        f"{numbers.posts_per_second(now):6.0f}  ",
        ("lag ", "dim"),
        f"{numbers.lag:,}  ",
        ("outliers ", "dim"),
        f"{numbers.outlier_share():4.0%}  ",
        ("clusters ", "dim"),
        f"{len(active)}  ",
        ("model v", "dim"),
        f"{numbers.model_version}",
        ("  dead letters ", "dim") if numbers.deadlettered else "",
        f"{numbers.deadlettered:,}" if numbers.deadlettered else "",
    )
    table = Table(box=None, show_edge=False, pad_edge=False, expand=False)
    table.add_column("id", justify="right", style="bold")
    table.add_column("size", justify="right")
    table.add_column("keywords")
    for entry in sorted(active, key=lambda entry: -entry.size)[:top]:
        table.add_row(f"#{entry.cluster_id}", f"{entry.size:.0f}", ", ".join(entry.keywords[:8]))
    if numbers.labelled == 0:
        return Group(header, Text(waiting_line(numbers), style="dim"))
    return Group(header, table)


class LiveView:
    """Shows ``render_status`` in a rich ``Live`` display while the worker runs (use as a context manager)."""

    def __init__(
        self,
        catalog: Callable[[], list[CatalogEntry]],
        *,
        console: Console | None = None,
        expected_posts: int | None = None,
        catalog_every_seconds: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.catalog = catalog
        self.console = console or Console()
        self.clock = clock
        self.catalog_every_seconds = catalog_every_seconds
        self.numbers = LiveNumbers(started_at=clock(), expected_posts=expected_posts)
        self._last_catalog_at = float("-inf")
        self._live = Live(
            render_status(self.numbers, clock()),
            console=self.console,
            refresh_per_second=4,
            get_renderable=lambda: render_status(self.numbers, self.clock()),
        )

    def __enter__(self) -> LiveView:
        self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._live.stop()

    def observe_batch(self, report: WorkerReport) -> None:
        if not report.committed:
            return
        now = self.clock()
        outliers = sum(int(labels.is_outlier.sum()) for labels in report.labels)
        self.numbers.add(now, sum(len(labels) for labels in report.labels), outliers)
        self.numbers.deadlettered += sum(report.deadlettered.values())
        self.numbers.lag = sum(report.lag.values())
        if report.result is not None:
            self.numbers.model_version = report.result.stats.model_version
            self.numbers.pending = report.result.stats.pending
        for event in report.events:
            if event.kind != EventKind.UPDATED:
                self._live.console.print(event_line(event))
        if report.events or now - self._last_catalog_at >= self.catalog_every_seconds:
            self.numbers.clusters = self.catalog()
            self._last_catalog_at = now

    def observe_held(self, report: HeldReport) -> None:
        self.numbers.pending = report.held
        self.numbers.warmup_posts = report.warmup_posts
        self.numbers.lag = sum(report.lag.values())

    def observe_rebalance(self, assigned: int, revoked: int) -> None:
        return None
