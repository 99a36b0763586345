"""A run's timeline as JSON lines: what the worker reported after each batch, every cluster event, and catalog
snapshots. ``streamclust report`` turns it into an HTML page; the demo writes one.

Each line is one object with a ``type``:

- ``run``: written first, what was run (free-form, e.g. the dataset and its order);
- ``batch``: one committed batch (counts, lag, timings, engine statistics, and the label of every post);
- ``held``: one poll of the warm-up (records read, posts held, lag), while nothing is committed;
- ``event``: one cluster event (a ``ClusterEvent``);
- ``catalog``: every cluster's latest state (``CatalogEntry`` list), at most every ``catalog_every_seconds``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from streamclust.observer import HeldReport, WorkerReport
from streamclust.schema import CatalogEntry, ClusterEvent


def batch_line(report: WorkerReport, at: float) -> dict[str, Any]:
    """The ``batch`` record of one committed report."""
    stats = report.result.stats if report.result is not None else None
    latencies = report.end_to_end_seconds
    post_ids = [post_id for labels in report.labels for post_id in labels.post_ids]
    cluster_ids = [cluster for labels in report.labels for cluster in labels.cluster_ids.tolist()]
    outliers = int(sum(int(np.count_nonzero(labels.is_outlier)) for labels in report.labels))
    return {
        "type": "batch",
        "at": at,
        "consumed": report.consumed,
        "labelled": len(post_ids),
        "outliers": outliers,
        "deadlettered": sum(report.deadlettered.values()),
        "lag": sum(report.lag.values()),
        "batch_seconds": report.batch_seconds,
        "latency_p50": float(np.percentile(latencies, 50)) if len(latencies) else None,
        "latency_p95": float(np.percentile(latencies, 95)) if len(latencies) else None,
        "reconstruction_error": None if stats is None else stats.reconstruction_error,
        "drift_detected": False if stats is None else stats.drift_detected,
        "retrained": False if stats is None else stats.retrained,
        "model_version": 0 if stats is None else stats.model_version,
        "active_clusters": 0 if stats is None else stats.active_clusters,
        "post_ids": post_ids,
        "cluster_ids": cluster_ids,
    }


class TimelineRecorder:
    """A ``WorkerObserver`` that appends the run's timeline to ``path`` (JSON lines, flushed per batch).

    ``catalog`` returns the current clusters (the worker's ``clusters``); it is sampled after a batch when
    ``catalog_every_seconds`` have passed, and once more by ``close``.
    """

    def __init__(
        self,
        path: Path,
        catalog: Callable[[], list[CatalogEntry]],
        *,
        run: dict[str, Any] | None = None,
        catalog_every_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.catalog = catalog
        self.catalog_every_seconds = catalog_every_seconds
        self.clock = clock
        self._file: IO[str] = path.open("w", encoding="utf-8")
        self._last_catalog_at = float("-inf")
        self.write({"type": "run", "at": clock(), **(run or {})})

    def write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")

    def observe_batch(self, report: WorkerReport) -> None:
        if not report.committed:
            return  # an aborted batch is read again; it is recorded when it commits
        now = self.clock()
        self.write(batch_line(report, now))
        for event in report.events:
            self.write({"type": "event", **event.model_dump(mode="json")})
        if now - self._last_catalog_at >= self.catalog_every_seconds:
            self.write_catalog(now)
        self._file.flush()

    def observe_held(self, report: HeldReport) -> None:
        line = {
            "type": "held",
            "at": self.clock(),
            "consumed": report.consumed,
            "held": report.held,
            "warmup_posts": report.warmup_posts,
            "lag": sum(report.lag.values()),
        }
        self.write(line)
        self._file.flush()

    def observe_rebalance(self, assigned: int, revoked: int) -> None:
        return None

    def write_catalog(self, at: float) -> None:
        entries = [entry.model_dump(mode="json") for entry in self.catalog()]
        self.write({"type": "catalog", "at": at, "clusters": entries})
        self._last_catalog_at = at

    def close(self) -> None:
        if self._file.closed:
            return
        self.write_catalog(self.clock())
        self._file.close()


@dataclass
class Timeline:
    """A timeline read back: the ``run`` record, batches, warm-up polls, events and catalog snapshots, in file
    order."""

    run: dict[str, Any] = field(default_factory=dict)
    batches: list[dict[str, Any]] = field(default_factory=list)
    held: list[dict[str, Any]] = field(default_factory=list)
    events: list[ClusterEvent] = field(default_factory=list)
    catalogs: list[tuple[float, list[CatalogEntry]]] = field(default_factory=list)

    @property
    def started_at(self) -> float:
        return float(self.run.get("at", self.batches[0]["at"] if self.batches else 0.0))


WRITTEN_BY = (
    "`streamclust cluster FILE --timeline T` and `streamclust run --timeline T` write one, and so does "
    "`streamclust demo` (out/demo/timeline.jsonl)"
)


def read_timeline(path: Path) -> Timeline:
    """Read a timeline file; a line that is not a timeline record is an InputError naming the line."""
    from streamclust.errors import InputError

    timeline = Timeline()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read the timeline {path}: {error.strerror}; {WRITTEN_BY}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            kind = record.pop("type")
            if kind == "run":
                timeline.run = record
            elif kind == "batch":
                timeline.batches.append(record)
            elif kind == "held":
                timeline.held.append(record)
            elif kind == "event":
                timeline.events.append(ClusterEvent.model_validate(record))
            elif kind == "catalog":
                entries = [CatalogEntry.model_validate(entry) for entry in record["clusters"]]
                timeline.catalogs.append((float(record["at"]), entries))
            else:
                raise ValueError(f"unknown record type {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputError(
                f"{path}, line {number}: not a timeline record ({error}){what_it_holds(line)}. {WRITTEN_BY}"
            ) from None
    return timeline


def what_it_holds(line: str) -> str:
    """``"; it holds cluster events ..."`` when the line is one of the other outputs, else ``""``."""
    try:
        record = json.loads(line)
    except ValueError:
        return ""
    if not isinstance(record, dict) or "type" in record:
        return ""
    if "kind" in record and "cluster_id" in record:
        return "; it is a cluster event (the --events file), not a timeline"
    if "post_id" in record:
        return "; it is a label (the --labels file), not a timeline"
    return ""
