"""The report's plots as inline SVG (matplotlib figures without pyplot: no display, no global state)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure

from streamclust.report.series import BatchSeries, HeldSeries, SizeSeries, outlier_share, throughput

WIDTH, HEIGHT = 9.0, 3.2
EVENT_STYLE = {"created": ("tab:green", "^"), "merged": ("tab:orange", "s"), "retired": ("tab:red", "x")}


def to_svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]  # drop the XML prologue, the SVG is inlined in HTML


def no_data(axes: Axes, what: str) -> None:
    axes.text(0.5, 0.5, f"no {what} in this run", ha="center", va="center", transform=axes.transAxes)


def label_axes(axes: Axes, ylabel: str, title: str) -> None:
    """Every figure's time axis, its y label and its title."""
    axes.set_xlabel("seconds since start")
    axes.set_ylabel(ylabel)
    axes.set_title(title)


def cluster_colours(count: int) -> list[tuple[float, float, float, float]]:
    """``count`` colours, no two alike: matplotlib's 20 categorical colours, then evenly spaced hues.

    >>> colours = cluster_colours(30)
    >>> len(set(colours)) == 30
    True
    """
    if count <= 20:
        palette = colormaps["tab20"]
        return [palette(index) for index in range(count)]
    hues = np.linspace(0.0, 1.0, count, endpoint=False)
    red, green, blue = hsv_to_rgb(np.stack([hues, np.full(count, 0.65), np.full(count, 0.85)], axis=1)).T
    return list(zip(red.tolist(), green.tolist(), blue.tolist(), [1.0] * count, strict=True))


def cluster_sizes_figure(sizes: SizeSeries) -> str:
    figure = Figure(figsize=(WIDTH, HEIGHT))
    axes = figure.subplots()
    if sizes.cluster_ids and len(sizes.seconds):
        labels = [f"#{cluster}" for cluster in sizes.cluster_ids]
        colours = cluster_colours(len(labels))
        axes.stackplot(sizes.seconds, sizes.sizes.T, labels=labels, colors=colours, alpha=0.9)
        axes.legend(loc="upper left", fontsize=7, ncol=2, title="largest clusters", title_fontsize=7)
    else:
        no_data(axes, "clusters")
    label_axes(axes, "posts labelled", "Posts in the largest clusters")
    return to_svg(figure)


def health_figure(series: BatchSeries, held: HeldSeries) -> str:
    """The outlier share over time; the lag over time, with the posts held during the warm-up."""
    figure = Figure(figsize=(WIDTH, HEIGHT))
    share_axes, lag_axes = figure.subplots(1, 2)
    ends, shares = outlier_share(series.seconds, series.labelled, series.outliers)
    if len(ends) and not np.isnan(shares).all():
        share_axes.step(ends, shares, where="post", color="tab:red")
        share_axes.set_ylim(0.0, 1.0)
    else:
        no_data(share_axes, "labelled posts")
    label_axes(share_axes, "share of outliers", "Outlier share (5 s windows)")
    seconds = np.concatenate([held.seconds, series.seconds])
    lag = np.concatenate([held.lag, series.lag])
    order = np.argsort(seconds, kind="stable")
    if len(seconds) and not np.isnan(lag).all():
        lag_axes.plot(seconds[order], lag[order], color="tab:blue", lw=1.2, label="lag (records behind)")
    if len(held.seconds):
        lag_axes.plot(
            held.seconds, held.held, color="tab:gray", ls="--", lw=1.2, label="posts held (warm-up)"
        )
    if len(seconds):
        lag_axes.legend(loc="upper right", fontsize=8)
    else:
        no_data(lag_axes, "batches")
    label_axes(lag_axes, "records", "Lag, and posts held for the warm-up")
    return to_svg(figure)


def lifecycle_figure(points: dict[str, tuple[np.ndarray, np.ndarray]], series: BatchSeries) -> str:
    figure = Figure(figsize=(WIDTH, HEIGHT))
    axes = figure.subplots()
    any_events = False
    for kind, (seconds, cluster_ids) in points.items():
        if len(seconds):
            any_events = True
            color, marker = EVENT_STYLE[kind]
            axes.scatter(seconds, cluster_ids, c=color, marker=marker, s=22, label=f"{kind} ({len(seconds)})")
    if any_events:
        axes.legend(loc="upper left", fontsize=8)
    else:
        no_data(axes, "cluster events")
    label_axes(axes, "cluster id", "Clusters created, merged and retired")
    return to_svg(figure)


def reconstruction_figure(series: BatchSeries) -> str:
    figure = Figure(figsize=(WIDTH, HEIGHT))
    axes = figure.subplots()
    known = ~np.isnan(series.reconstruction_error)
    if known.any():
        axes.plot(series.seconds[known], series.reconstruction_error[known], color="tab:blue", lw=1.2)
    else:
        no_data(axes, "reconstruction errors")
    for number, at in enumerate(series.retrain_seconds):
        axes.axvline(
            at,
            color="tab:purple",
            ls="--",
            lw=1,
            label="new model swapped in (first: end of warm-up)" if number == 0 else None,
        )
    for number, at in enumerate(series.drift_seconds):
        axes.axvline(at, color="tab:red", ls=":", lw=1.2, label="drift detected" if number == 0 else None)
    if len(series.retrain_seconds) or len(series.drift_seconds):
        axes.legend(loc="upper right", fontsize=8)
    label_axes(axes, "mean reconstruction error", "Autoencoder reconstruction error, retrains and drift")
    return to_svg(figure)


def speed_figure(series: BatchSeries) -> str:
    figure = Figure(figsize=(WIDTH, HEIGHT))
    rate_axes, latency_axes = figure.subplots(1, 2)
    ends, rates = throughput(series.seconds, series.labelled)
    if len(ends):
        rate_axes.step(ends, rates, where="post", color="tab:green")
    else:
        no_data(rate_axes, "batches")
    label_axes(rate_axes, "posts labelled per second", "Throughput (5 s windows)")
    known = ~np.isnan(series.latency_p95)
    if known.any():
        latency_axes.plot(series.seconds[known], series.latency_p50[known], label="median", color="tab:blue")
        latency_axes.plot(
            series.seconds[known], series.latency_p95[known], label="95th percentile", color="tab:red"
        )
        latency_axes.legend(loc="upper right", fontsize=8)
    else:
        no_data(latency_axes, "latencies")
    label_axes(latency_axes, "seconds", "End-to-end latency per batch")
    return to_svg(figure)
