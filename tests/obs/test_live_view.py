"""The demo's live view: a header with posts/s, lag and outlier share, the largest clusters with keywords, and one
line per topic born, merged or retired."""

from __future__ import annotations

import io
import re

import numpy as np
from rich.console import Console

from streamclust.obs.live_view import LiveNumbers, LiveView, render_status
from streamclust.observer import HeldReport, WorkerReport
from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import CatalogEntry, ClusterEvent, EventKind


def entry(cluster_id: int, size: float, keywords: list[str], status: str = "active") -> CatalogEntry:
    return CatalogEntry(
        cluster_id=cluster_id, status=status, size=size, keywords=keywords, created_at=0.0, last_seen_at=1.0
    )


def text_of(renderable: object, width: int = 120) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_status_shows_rate_lag_outliers_and_the_largest_active_clusters_first() -> None:
    numbers = LiveNumbers(started_at=100.0, lag=1234, expected_posts=5000, deadlettered=3)
    numbers.add(at=104.0, labelled=300, outliers=30)
    numbers.add(at=105.0, labelled=200, outliers=20)
    numbers.clusters = [
        entry(1, 40, ["card", "arrive"]),
        entry(2, 90, ["pin", "unlock"]),
        entry(3, 500, ["old"], status="retired"),
    ]

    shown = text_of(render_status(numbers, now=105.0))

    assert "500/5,000 posts" in shown
    assert re.search(r"posts/s\s+100\s", shown)  # 500 posts over the last 5 s
    assert (
        "dead letters 3" in shown
        and "lag 1,234" in shown
        and "outliers  10%" in shown
        and "clusters 2" in shown
    )
    assert shown.index("pin, unlock") < shown.index("card, arrive")
    assert "old" not in shown


def test_posts_per_second_counts_every_batch_of_the_window_however_small() -> None:
    # A worker that keeps up with 150 posts/s commits a batch of 3 posts every 20 ms: 250 batches in 5 s.
    numbers = LiveNumbers(started_at=0.0)
    for tick in range(1, 1001):
        numbers.add(at=tick * 0.02, labelled=3, outliers=1)

    shown = text_of(render_status(numbers, now=20.0))

    assert numbers.posts_per_second(now=20.0) == 150.0
    assert re.search(r"posts/s\s+150\s", shown)
    assert "outliers  33%" in shown


def test_warm_up_is_shown_until_the_first_labels() -> None:
    numbers = LiveNumbers(started_at=0.0, pending=1500)

    assert "warming up: 1,500 posts held" in text_of(render_status(numbers, now=3.0))


def test_the_warm_up_progress_comes_from_the_workers_held_reports() -> None:
    view = LiveView(catalog=list, console=Console(file=io.StringIO(), width=120))

    view.observe_held(HeldReport(consumed=500, held=812, warmup_posts=2000, lag={("posts", 0): 40}))

    shown = text_of(render_status(view.numbers, now=view.numbers.started_at + 5))
    assert "warming up: 812 of 2,000 posts held until the first model is trained" in shown
    assert "lag 40" in shown


def test_a_line_is_printed_for_each_new_merged_or_retired_topic_but_not_updates() -> None:
    out = io.StringIO()
    view = LiveView(
        catalog=lambda: [entry(7, 12, ["exchange", "rate"])], console=Console(file=out, width=120)
    )
    labels = LabelBatch(
        ["a", "b"], np.array([7, -1]), np.ones(2, np.float32), np.array([False, True]), 1, 5.0
    )
    events = [
        ClusterEvent(kind=EventKind.CREATED, cluster_id=7, size=12, keywords=["exchange", "rate"], at=5.0),
        ClusterEvent(kind=EventKind.UPDATED, cluster_id=7, size=13, keywords=["exchange"], at=5.0),
        ClusterEvent(kind=EventKind.MERGED, cluster_id=4, size=3, merged_into=7, at=5.0),
        ClusterEvent(kind=EventKind.RETIRED, cluster_id=2, size=1, keywords=["old"], at=5.0),
    ]
    report = WorkerReport(
        result=BatchResult(labels, events, BatchStats(model_version=1)),
        consumed=2,
        labels=[labels],
        events=events,
    )

    with view:
        view.observe_batch(report)

    printed = out.getvalue()
    assert "new topic #7 (12 posts): exchange, rate" in printed
    assert "merged #4 into #7" in printed and "retired #2: old" in printed
    event_lines = printed.split("streamclust ")[0].strip().splitlines()  # above the live status
    assert len(event_lines) == 3  # the update is not a line of its own
    assert view.numbers.labelled == 2 and view.numbers.outlier_share() == 0.5
    assert [cluster.cluster_id for cluster in view.numbers.clusters] == [7]
