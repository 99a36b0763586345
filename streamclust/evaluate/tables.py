"""An evaluation as a readable table (rich) and as a JSON-ready dict."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from streamclust.evaluate.harness import Evaluation, MethodResult
from streamclust.evaluate.scores import Scores


def scores_row(name: str, scores: Scores, seconds: str = "", posts_per_second: str = "") -> list[str]:
    return [
        name,
        f"{scores.nmi:.3f}",
        f"{scores.ari:.3f}",
        f"{scores.homogeneity:.3f}",
        f"{scores.completeness:.3f}",
        f"{scores.purity:.3f}",
        str(scores.n_clusters),
        f"{scores.outlier_share:.1%}",
        seconds,
        posts_per_second,
    ]


def scores_table(evaluation: Evaluation) -> Table:
    title = (
        f"{evaluation.dataset}, order {evaluation.order}, seed {evaluation.seed}: "
        f"{evaluation.n_posts:,} posts, {evaluation.n_classes} classes, "
        f"featurizer {evaluation.settings.featurize.kind}"
    )
    table = Table(title=title)
    columns = (
        "method",
        "NMI",
        "ARI",
        "homog.",
        "compl.",
        "purity",
        "clusters",
        "outliers",
        "seconds",
        "posts/s",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "method" else "right")
    for result in evaluation.results:
        seconds = f"{result.seconds:.1f}"
        speed = f"{result.posts_per_second(evaluation.n_posts):,.0f}"
        table.add_row(*scores_row(result.name, result.online, seconds, speed))
        if result.after_events is not None:
            table.add_row(*scores_row(f"{result.name}, after events", result.after_events))
    return table


def emergence_table(result: MethodResult) -> Table | None:
    emergence = result.emergence
    if emergence is None:
        return None
    table = Table(title=f"{result.name}: new topics (cluster matches a class holding >= 50% of its members)")
    for column in (
        "classes detected",
        "median delay",
        "mean delay",
        "clusters created",
        "spurious",
        "duplicate",
        "after warm-up: detected",
        "median delay",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        f"{emergence.detected_share:.1%} of {emergence.n_classes}",
        "-" if emergence.median_delay is None else f"{emergence.median_delay:.0f} posts",
        "-" if emergence.mean_delay is None else f"{emergence.mean_delay:.1f} posts",
        str(emergence.n_created),
        f"{emergence.spurious_share:.1%}",
        f"{emergence.duplicate_share:.1%}",
        f"{emergence.late_detected_share:.1%} of {emergence.late_classes}",
        "-" if emergence.late_median_delay is None else f"{emergence.late_median_delay:.0f} posts",
    )
    return table


def method_to_dict(result: MethodResult, n_posts: int) -> dict[str, Any]:
    return {
        "name": result.name,
        "online": result.online.as_dict(),
        "after_events": None if result.after_events is None else result.after_events.as_dict(),
        "emergence": None if result.emergence is None else result.emergence.as_dict(),
        "seconds": result.seconds,
        "posts_per_second": result.posts_per_second(n_posts),
        "params": result.params,
    }


def evaluation_to_dict(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "dataset": evaluation.dataset,
        "order": evaluation.order,
        "seed": evaluation.seed,
        "batch_size": evaluation.batch_size,
        "n_posts": evaluation.n_posts,
        "n_classes": evaluation.n_classes,
        "unlabelled_posts": evaluation.unlabelled,
        "posts_labelled_again": evaluation.labelled_again,
        "baseline_featurize_seconds": evaluation.featurize_seconds,
        "results": [method_to_dict(result, evaluation.n_posts) for result in evaluation.results],
        "settings": evaluation.settings.model_dump(mode="json"),
    }
