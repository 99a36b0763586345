"""The HTML report of a run: plots and tables from its timeline (``streamclust.obs.timeline``; written by the
demo, and by ``streamclust run`` and ``streamclust cluster`` with ``--timeline``), with example posts and, when
the posts carry true labels, the evaluation harness's scores.

Cluster sizes are post counts: the posts labelled with each cluster in the run. The catalog's ``size`` (older
posts count less) is shown only in the cluster table, as the decayed weight."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from streamclust.errors import InputError
from streamclust.evaluate.scores import Scores, apply_events, score_labels
from streamclust.obs.timeline import Timeline
from streamclust.report.page import ClusterRow, ReportPage, render_page
from streamclust.report.series import (
    batch_series,
    cluster_post_counts,
    event_points,
    held_series,
    online_labels,
    posts_per_cluster,
    recent_examples,
)


@dataclass(frozen=True)
class KnownPosts:
    """Texts (and true labels, when given) of the posts a run was fed, by post id."""

    texts: dict[str, str]
    labels: dict[str, str]


def read_known_posts(path: Path) -> KnownPosts:
    """``id``, ``text`` and optional ``label`` of every line of a JSONL(.gz) file; unreadable lines are skipped."""
    texts: dict[str, str] = {}
    labels: dict[str, str] = {}
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                    post_id, text = str(record["id"]), str(record["text"])
                except (ValueError, KeyError, TypeError):
                    continue
                texts[post_id] = text
                if record.get("label") is not None:
                    labels[post_id] = str(record["label"])
    except OSError as error:
        raise InputError(f"cannot read the posts file {path}: {error}") from None
    return KnownPosts(texts=texts, labels=labels)


def harness_scores(timeline: Timeline, known: KnownPosts) -> list[tuple[str, Scores]]:
    """Scores of the labels given online and after events, over the posts whose true label is known."""
    post_ids, cluster_ids = online_labels(timeline.batches)
    keep = [row for row, post_id in enumerate(post_ids) if post_id in known.labels]
    if not keep:
        return []
    kept_ids = [post_ids[row] for row in keep]
    predicted = cluster_ids[keep]
    _, true = np.unique([known.labels[post_id] for post_id in kept_ids], return_inverse=True)
    after = apply_events(kept_ids, predicted, timeline.events)
    return [("online", score_labels(true, predicted)), ("after events", score_labels(true, after))]


def cluster_rows(timeline: Timeline, known: KnownPosts | None, limit: int = 60) -> list[ClusterRow]:
    """The latest catalog, largest active clusters first, each with recent example posts."""
    if not timeline.catalogs:
        return []
    _, entries = timeline.catalogs[-1]
    post_ids, cluster_ids = online_labels(timeline.batches)
    examples = recent_examples(post_ids, cluster_ids)
    posts = posts_per_cluster(cluster_ids)
    ordered = sorted(
        entries, key=lambda entry: (entry.status != "active", -posts.get(entry.cluster_id, 0), -entry.size)
    )[:limit]
    rows = []
    for entry in ordered:
        ids = examples.get(entry.cluster_id, [])
        texts = (
            [known.texts.get(post_id, f"post {post_id}") for post_id in ids]
            if known
            else [f"post {i}" for i in ids]
        )
        rows.append(
            ClusterRow(
                cluster_id=entry.cluster_id,
                status=entry.status,
                posts=posts.get(entry.cluster_id, 0),
                weight=entry.size,
                keywords=entry.keywords,
                examples=texts,
            )
        )
    return rows


def build_report(timeline: Timeline, known: KnownPosts | None = None, title: str | None = None) -> str:
    """The whole HTML page."""
    from streamclust.report import figures

    started = timeline.started_at
    series = batch_series(timeline.batches, started)
    labelled = int(np.nansum(series.labelled)) if len(series.labelled) else 0
    duration = float(series.seconds.max()) if len(series.seconds) else 0.0
    active = sum(entry.status == "active" for entry in timeline.catalogs[-1][1]) if timeline.catalogs else 0
    when = datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts = [when, f"{labelled:,} posts labelled in {duration:.0f} s", f"{active} active clusters"]
    facts += [f"{key}: {value}" for key, value in timeline.run.items() if key != "at"]
    page = ReportPage(
        title=title or "streamclust run report",
        facts=facts,
        figures=[
            (
                "Posts labelled with each of the largest clusters so far (one colour per cluster).",
                figures.cluster_sizes_figure(cluster_post_counts(timeline.batches, started)),
            ),
            (
                "Each mark is one cluster event; new topics appear as green triangles.",
                figures.lifecycle_figure(event_points(timeline.events, started), series),
            ),
            (
                "Mean reconstruction error of each batch; dashed lines mark new models, dotted lines drift.",
                figures.reconstruction_figure(series),
            ),
            (
                "Posts labelled per second, and the time from a post entering the input topic to its label "
                "being committed.",
                figures.speed_figure(series),
            ),
            (
                "Share of outliers among the posts labelled; the consumer lag (records behind the end of the "
                "input; 0 in file mode), and the posts held while the first model warmed up.",
                figures.health_figure(series, held_series(timeline.held, started)),
            ),
        ],
        clusters=cluster_rows(timeline, known),
        total_clusters=len(timeline.catalogs[-1][1]) if timeline.catalogs else 0,
        scores=harness_scores(timeline, known) if known and known.labels else [],
    )
    return render_page(page)


def write_report(timeline: Timeline, out: Path, known: KnownPosts | None = None) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(timeline, known), encoding="utf-8")
    return out
