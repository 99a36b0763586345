"""When to retrain the autoencoder, training off the hot path, and carrying cluster ids into the new latent space.

A retrain starts every ``every_posts`` posts, every ``every_seconds`` seconds, or when the drift detector (river's
ADWIN or Page-Hinkley over the share of posts that no cluster takes) fires. It trains a copy of the current model on a
snapshot of the reservoir, in a background thread. With ``swap="when_ready"`` it is swapped in at the first
batch boundary at least ``swap_after_posts`` posts after it started at which training has finished, so the stream
never waits for it. With ``swap="at_position"`` it is swapped in exactly ``swap_after_posts`` posts after it
started, waiting for the thread if needed: the stream position of a swap then depends only on the stream, so a
seeded run is reproducible whatever the machine's speed.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from streamclust.encode.autoencoder import AutoencoderShape, Encoder, TextAutoencoder, TrainingPlan, normalize
from streamclust.encode.autoencoder import train_autoencoder as train
from streamclust.featurize.base import FeatureBatch


class DriftWatch:
    """A river drift detector over a stream of values (the engine feeds one per post: 1 when no cluster took it).

    After each alarm the detector starts afresh, so one change raises one alarm rather than a run of them (river's
    ADWIN keeps signalling while its window still straddles the change). It remembers the values fed since the
    last reset (the newest ``history_size``), so a checkpoint can rebuild the detector by feeding them again to a
    fresh one: river's detectors have no portable state.
    """

    def __init__(self, kind: str = "adwin", delta: float = 0.002, history_size: int = 10_000) -> None:
        from river import drift

        self.kind = kind
        self.detector: Any = None
        self.history: deque[float] = deque(maxlen=history_size)
        if kind == "adwin":
            self.detector = drift.ADWIN(delta=delta)
        elif kind == "page_hinkley":
            self.detector = drift.PageHinkley(delta=delta)

    def update(self, value: float) -> bool:
        """Feed one value; whether it raised an alarm (the detector then starts afresh)."""
        return self.update_many((value,))

    def update_many(self, values: Iterable[float]) -> bool:
        """Feed values in order; whether any of them raised an alarm. Non-finite values are passed over. The
        lookups are made once per call rather than once per value (the engine feeds one value per post)."""
        if self.detector is None:
            return False
        alarmed = False
        detector, history = self.detector, self.history
        for value in values:
            if not math.isfinite(value):
                continue
            history.append(float(value))
            detector.update(value)
            if detector.drift_detected:
                self.reset()
                detector, alarmed = self.detector, True
        return alarmed

    def reset(self) -> None:
        self.history.clear()
        if self.detector is not None:
            self.detector = self.detector.clone()

    def replay(self, values: Iterable[float]) -> None:
        """Start afresh and feed ``values`` (the history of a detector being restored)."""
        self.reset()
        self.update_many(values)


@dataclass
class RetrainJob:
    """A training run in flight."""

    started_at: int  # stream position
    reason: str
    model: TextAutoencoder | None = None
    seconds: float = 0.0
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def run(
        self, features: FeatureBatch, shape: AutoencoderShape, plan: TrainingPlan, start: TextAutoencoder
    ) -> None:
        began = time.perf_counter()
        try:
            self.model = train(features, shape, plan, start_from=start)
        except Exception as error:  # a failed retrain keeps the current model; the caller reports it
            self.error = error
        self.seconds = time.perf_counter() - began

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join()

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


@dataclass
class RetrainSchedule:
    every_posts: int = 50_000
    every_seconds: float = 0.0
    swap_after_posts: int = 2_000
    swap: str = "when_ready"
    background: bool = True
    last_started_position: int = 0
    last_started_time: float = field(default_factory=time.time)
    restart_reason: str | None = None  # a retrain that was running when a checkpoint was taken starts again

    def due(self, position: int, now: float, drift: bool) -> str | None:
        """Why a retrain should start now, or None."""
        if drift:
            return "drift"
        if self.restart_reason is not None:
            return self.restart_reason
        if self.every_posts and position - self.last_started_position >= self.every_posts:
            return "posts"
        if self.every_seconds and now - self.last_started_time >= self.every_seconds:
            return "time"
        return None

    def start(
        self,
        reason: str,
        position: int,
        now: float,
        features: FeatureBatch,
        shape: AutoencoderShape,
        plan: TrainingPlan,
        current: TextAutoencoder,
    ) -> RetrainJob:
        self.last_started_position = position
        self.last_started_time = now
        self.restart_reason = None
        job = RetrainJob(started_at=position, reason=reason)
        if self.background:
            job.thread = threading.Thread(
                target=job.run, args=(features, shape, plan, current), name="streamclust-retrain", daemon=True
            )
            job.thread.start()
        else:
            job.run(features, shape, plan, current)
        return job

    def swap_due(self, job: RetrainJob, position: int) -> bool:
        if position - job.started_at < self.swap_after_posts:
            return False
        return self.swap == "at_position" or not job.running


@dataclass(frozen=True)
class CarriedClusters:
    centroids: np.ndarray
    similarity_mean: np.ndarray
    similarity_var: np.ndarray
    label_agreement: float
    latent_map: np.ndarray  # least-squares linear map old latent -> new latent


MIN_MEMBERS_TO_REENCODE = 3  # fewer: the cluster's spread is not measured again
MAPPED_CENTROID_WEIGHT = 30.0  # the mapped old centroid counts as this many re-encoded members


def carry_clusters(
    centroids: np.ndarray,
    thresholds: np.ndarray,
    similarity_mean: np.ndarray,
    similarity_var: np.ndarray,
    old: Encoder,
    new: Encoder,
    sample: FeatureBatch,
    new_latents: np.ndarray | None = None,
) -> CarriedClusters:
    """Centroids of the same clusters in the new encoder's latent space.

    Each reservoir post is assigned with the old encoder and centroids. A cluster's new centroid is the mean of
    its members re-encoded by the new encoder, shrunk towards its old centroid carried by the least-squares
    linear map between the two latent spaces (fitted on the reservoir), which counts as
    ``MAPPED_CENTROID_WEIGHT`` members: a cluster with few posts in the reservoir follows the map, one with many
    follows its posts, and a mean of a handful of posts does not move a centroid by its sampling noise. The label
    agreement is the share of reservoir posts whose nearest cluster id is the same before and after.
    """
    old_latents = old.encode(sample)
    new_latents = new.encode(sample) if new_latents is None else new_latents
    latent_map, *_ = np.linalg.lstsq(old_latents, new_latents, rcond=None)
    mapped = normalize(centroids @ latent_map)
    if len(centroids) == 0:
        return CarriedClusters(centroids, similarity_mean, similarity_var, 1.0, latent_map)
    old_similarity = old_latents @ centroids.T
    old_rows = old_similarity.argmax(axis=1)
    accepted = old_similarity[np.arange(len(sample)), old_rows] >= thresholds[old_rows]
    members = np.bincount(old_rows[accepted], minlength=len(centroids))
    reencoded_sums = sums_per_row(old_rows[accepted], new_latents[accepted], len(centroids))
    carried = normalize((MAPPED_CENTROID_WEIGHT * mapped + reencoded_sums).astype(np.float32)).astype(
        np.float32
    )
    enough = members >= MIN_MEMBERS_TO_REENCODE
    new_similarity = new_latents @ carried.T
    new_rows = new_similarity.argmax(axis=1)
    mean = similarity_mean.copy()
    var = similarity_var.copy()
    member_similarity = new_similarity[np.arange(len(sample)), old_rows]
    for row, values in values_per_row(
        old_rows[accepted], member_similarity[accepted], np.flatnonzero(enough)
    ):
        mean[row] = float(values.mean())
        var[row] = max(float(values.var()), float(similarity_var[row]))
    agreement = float(np.mean(new_rows == old_rows)) if len(sample) else 1.0
    return CarriedClusters(carried, mean, var, agreement, latent_map)


def sums_per_row(rows: np.ndarray, vectors: np.ndarray, n_rows: int) -> np.ndarray:
    """float64 sums of ``vectors`` by ``rows``, each added in turn (as ``np.add.at`` would), one column at a time."""
    sums = np.zeros((n_rows, vectors.shape[1]), dtype=np.float64)
    for column in range(vectors.shape[1]):
        sums[:, column] = np.bincount(rows, weights=vectors[:, column], minlength=n_rows)
    return sums


def values_per_row(
    rows: np.ndarray, values: np.ndarray, wanted: np.ndarray
) -> Iterator[tuple[int, np.ndarray]]:
    """For each of the ``wanted`` rows, the ``values`` that belong to it, in their order."""
    order = np.argsort(rows, kind="stable")
    sorted_rows, sorted_values = rows[order], values[order]
    starts = np.searchsorted(sorted_rows, wanted, side="left")
    ends = np.searchsorted(sorted_rows, wanted, side="right")
    for row, start, end in zip(wanted.tolist(), starts.tolist(), ends.tolist(), strict=True):
        yield row, sorted_values[start:end]
