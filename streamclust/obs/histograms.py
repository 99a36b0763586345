"""A Prometheus histogram fed a whole array at a time.

``prometheus_client.Histogram.observe`` takes one value per call; the worker has one similarity and one
end-to-end latency per labelled post, so a batch of 500 posts would mean 500 Python calls. ``BatchHistogram``
bins the array with numpy and exposes the same ``_bucket``/``_count``/``_sum`` series as a regular histogram.

>>> import numpy as np
>>> from prometheus_client import CollectorRegistry
>>> registry = CollectorRegistry()
>>> latency = BatchHistogram("demo_latency_seconds", "Demo.", buckets=(0.5, 1.0), registry=registry)
>>> latency.observe_many(np.array([0.2, 0.7, 3.0]))
>>> registry.get_sample_value("demo_latency_seconds_bucket", {"le": "1.0"})
2.0
>>> registry.get_sample_value("demo_latency_seconds_count")
3.0
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


class BatchHistogram(Collector):
    """A histogram without labels whose observations arrive as numpy arrays. Non-finite values are ignored."""

    def __init__(
        self, name: str, documentation: str, buckets: Sequence[float], registry: CollectorRegistry
    ) -> None:
        upper_bounds = sorted(float(bound) for bound in buckets if np.isfinite(bound))
        if not upper_bounds:
            raise ValueError(f"histogram {name} needs at least one finite bucket bound")
        self._name = name
        self._documentation = documentation
        self._upper_bounds = np.asarray(upper_bounds, dtype=np.float64)
        self._counts = np.zeros(len(upper_bounds) + 1, dtype=np.int64)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: np.ndarray) -> None:
        finite = np.asarray(values, dtype=np.float64).ravel()
        finite = finite[np.isfinite(finite)]
        if finite.size == 0:
            return
        # Bucket i holds the values v with upper_bounds[i-1] < v <= upper_bounds[i].
        bucket_of_value = np.searchsorted(self._upper_bounds, finite, side="left")
        counts = np.bincount(bucket_of_value, minlength=len(self._counts))
        total = float(finite.sum())
        with self._lock:
            self._counts += counts
            self._sum += total

    def describe(self) -> Iterable[Metric]:
        yield HistogramMetricFamily(self._name, self._documentation)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            cumulative = np.cumsum(self._counts).astype(np.float64).tolist()
            total = self._sum
        bounds = [floatToGoString(bound) for bound in self._upper_bounds.tolist()] + ["+Inf"]
        yield HistogramMetricFamily(
            self._name,
            self._documentation,
            buckets=list(zip(bounds, cumulative, strict=True)),
            sum_value=total,
        )
