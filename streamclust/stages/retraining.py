"""The retraining stage: the reservoir the autoencoder is trained on, the drift detector that watches the share
of posts no cluster takes, the retrain schedule, and the retrain in flight (``encode/retrain.py``).

It never touches the engine: ``finish`` hands back a finished retrain's encoder, which the engine carries its
clusters into and swaps in; ``start_if_due`` starts the next one from the encoder the engine then has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamclust.config import EncoderSettings
from streamclust.encode.autoencoder import AutoencoderShape, Encoder, TrainingPlan
from streamclust.encode.reservoir import Reservoir
from streamclust.encode.retrain import DriftWatch, RetrainJob, RetrainSchedule
from streamclust.encode.weights import model_from, weights_of
from streamclust.featurize.base import FeatureBatch
from streamclust.stages import Snapshot


@dataclass(frozen=True)
class FinishedRetrain:
    """A retrain that reached its swap point: the new encoder, or why there is none."""

    seconds: float
    encoder: Encoder | None
    error: str | None = None
    sample: FeatureBatch | None = None  # the reservoir the new encoder was centred on ...
    sample_latents: np.ndarray | None = None  # ... and its latents under the new encoder


@dataclass
class RetrainOutcome:
    """What happened to retraining during one batch."""

    retrain_started: bool = False
    retrained: bool = False
    retrain_seconds: float | None = None
    retrain_error: str | None = None
    label_agreement: float | None = None


def training_plan(settings: EncoderSettings, seed: int, version: int) -> TrainingPlan:
    """The first model trains ``epochs``; a retrain continues from the current weights for ``retrain_epochs``."""
    return TrainingPlan(
        epochs=settings.epochs if version == 1 else settings.retrain_epochs,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        seed=seed + version,
        structure_weight=settings.structure_weight,
        keep_start_cosines=settings.teacher != "none",
    )


class Retraining:
    def __init__(self, settings: EncoderSettings, shape: AutoencoderShape, seed: int = 0) -> None:
        self.settings = settings
        self.shape = shape
        self.seed = seed
        self.reservoir = Reservoir(
            settings.reservoir_size,
            shape.sparse_columns,
            shape.dense_columns,
            settings.recency_bias,
            seed=seed,
        )
        self.drift = DriftWatch(settings.drift_detector, settings.drift_delta)
        self.schedule = RetrainSchedule(
            every_posts=settings.retrain_every_posts,
            every_seconds=settings.retrain_every_seconds,
            swap_after_posts=settings.swap_after_posts,
            swap=settings.swap,
            background=settings.background,
        )
        self.job: RetrainJob | None = None

    @property
    def running(self) -> bool:
        """Whether a retrain is training right now."""
        return self.job is not None and self.job.running

    def watch(self, misfits: np.ndarray) -> bool:
        """Feed the drift detector each post of a batch, 1.0 for a post no cluster took (it opened or joined a
        new cluster) and 0.0 for the others; whether it detects drift. When topics change, that share rises
        (the new topic's posts fit nothing) while the reconstruction error of a residual encoder barely moves."""
        return self.drift.update_many(misfits.astype(np.float64).tolist())

    def remember(self, features: FeatureBatch) -> None:
        """Offer a batch's posts to the reservoir."""
        self.reservoir.add(features)

    def sample(self) -> FeatureBatch:
        """The reservoir's posts: what a retrain trains on and clusters are carried with."""
        return self.reservoir.contents()

    def finish(self, position: int, current: Encoder) -> FinishedRetrain | None:
        """The retrain in flight once its swap point is reached (waiting for it if it must), else None."""
        job = self.job
        if job is None or not self.schedule.swap_due(job, position):
            return None
        self.job = None
        job.wait()
        error = None if job.error is None else f"{type(job.error).__name__}: {job.error}"
        if job.model is None:
            return FinishedRetrain(job.seconds, None, error)
        sample = self.sample()
        encoder, latents = Encoder.fitted_with_latents(job.model, current.version + 1, sample)
        return FinishedRetrain(job.seconds, encoder, error, sample, latents)

    def start_if_due(self, position: int, now: float, drift: bool, current: Encoder) -> bool:
        """Start a retrain of ``current`` on the reservoir when one is due and none is in flight."""
        if self.job is not None:
            return False
        reason = self.schedule.due(position, now, drift and self.settings.retrain_on_drift)
        if reason is None or len(self.reservoir) < self.settings.batch_size:
            return False
        self.job = self.schedule.start(
            reason,
            position,
            now,
            self.sample(),
            self.shape,
            training_plan(self.settings, self.seed, current.version + 1),
            current.model,
        )
        self.drift.reset()
        return True

    def close(self) -> None:
        if self.job is not None:
            self.job.wait()

    def snapshot(self) -> Snapshot:
        """A retrain still running is not kept: the restored stage starts it again when next asked. A finished
        one waiting for its swap point is kept with its weights."""
        schedule = self.schedule
        snapshot: Snapshot = {
            "reservoir": self.reservoir.snapshot(),
            "drift": {"kind": self.drift.kind, "history": list(self.drift.history)},
            "schedule": {
                "last_started_position": schedule.last_started_position,
                "last_started_time": schedule.last_started_time,
                "restart_reason": schedule.restart_reason,
            },
            "pending": None,
        }
        job = self.job
        if job is not None and job.running:
            snapshot["schedule"]["restart_reason"] = job.reason
        elif job is not None and job.model is not None:
            snapshot["pending"] = {
                "started_at": job.started_at,
                "reason": job.reason,
                "seconds": job.seconds,
                "weights": weights_of(job.model),
            }
        return snapshot

    def restore(self, snapshot: Snapshot) -> None:
        self.reservoir.restore(snapshot["reservoir"])
        self.drift.replay(float(value) for value in snapshot["drift"]["history"])
        schedule = snapshot["schedule"]
        self.schedule.last_started_position = int(schedule["last_started_position"])
        self.schedule.last_started_time = float(schedule["last_started_time"])
        self.schedule.restart_reason = schedule["restart_reason"]
        pending = snapshot["pending"]
        self.job = None
        if pending is not None:
            self.job = RetrainJob(
                started_at=int(pending["started_at"]),
                reason=str(pending["reason"]),
                model=model_from(self.shape, dict(pending["weights"])),
                seconds=float(pending["seconds"]),
            )
