"""The whole clustering pipeline as one pure object: ``Engine.process(posts) -> BatchResult``.

In order, for each batch: featurize -> encode -> assign to the nearest centroid -> accept or mark as outlier ->
update centroids and radii -> buffer outliers and find new clusters among them -> merge, retire and cap clusters
-> feed the reservoir and retrain / swap the autoencoder when due. No I/O: adapters (files, Kafka) feed posts in
and write the labels and events out. Deterministic for a given seed and input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from streamclust.cluster.centroids import (
    acceptance_thresholds,
    decay_counts,
    learning_rate_floor,
    update_centroids,
)
from streamclust.cluster.index import CentroidIndex
from streamclust.cluster.keywords import ClusterKeywords
from streamclust.cluster.lifecycle import find_excess, find_merges, find_stale, merge_rows
from streamclust.cluster.novelty import OutlierBuffer, find_dense_groups, neighbor_similarity_estimate
from streamclust.cluster.table import ClusterTable
from streamclust.config import (
    ClusterSettings,
    EncoderSettings,
    LifecycleSettings,
    NoveltySettings,
    Settings,
)
from streamclust.encode.autoencoder import (
    AutoencoderShape,
    Encoder,
    TrainingPlan,
    normalize,
    train_autoencoder,
)
from streamclust.encode.reservoir import Reservoir
from streamclust.encode.retrain import DriftWatch, RetrainJob, RetrainSchedule, carry_clusters
from streamclust.errors import ModelError
from streamclust.featurize import Featurizer, build_featurizer
from streamclust.featurize.base import FeatureBatch, SparseRows
from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import NOT_CLUSTERED, CatalogEntry, ClusterEvent, EventKind, Post

RECONSTRUCTION_SAMPLE = 32  # posts per batch whose reconstruction error feeds the drift detector
LIFECYCLE_EVERY_POSTS = 1_000
UPDATE_EVENT_GROWTH = 1.5  # an 'updated' event when a cluster has grown by this factor since the last one
ENDED_CLUSTERS_KEPT = 1_000
AUTO_NEIGHBOR_SAMPLE = 5_000  # posts used to estimate the 'auto' neighbour similarity


@dataclass
class RetrainOutcome:
    """What happened to retraining during one batch."""

    retrain_started: bool = False
    retrained: bool = False
    retrain_seconds: float | None = None
    retrain_error: str | None = None
    label_agreement: float | None = None


@dataclass
class Births:
    """Clusters born in one novelty pass: their events, and the new cluster of each post that joined one."""

    events: list[ClusterEvent] = field(default_factory=list)
    cluster_of: dict[str, tuple[int, float]] = field(
        default_factory=dict
    )  # post id -> (cluster id, similarity)


class Engine:
    """Online text clustering. See the module docstring for the steps of ``process``."""

    def __init__(
        self,
        featurizer: Featurizer,
        encoder: EncoderSettings | None = None,
        cluster: ClusterSettings | None = None,
        novelty: NoveltySettings | None = None,
        lifecycle: LifecycleSettings | None = None,
        seed: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.featurizer = featurizer
        self.encoder_settings = encoder = encoder or EncoderSettings()
        self.cluster_settings = cluster = cluster or ClusterSettings()
        self.novelty_settings = novelty = novelty or NoveltySettings()
        self.lifecycle_settings = lifecycle or LifecycleSettings()
        self.seed = seed
        self.clock = clock
        self.shape = AutoencoderShape(
            sparse_columns=featurizer.sparse_columns,
            dense_columns=featurizer.dense_columns,
            hidden_dim=encoder.hidden_dim,
            latent_dim=encoder.latent_dim,
        )
        self.encoder: Encoder | None = None
        self.held: list[Post] = []
        self.position = 0  # posts processed since the start
        self.table = ClusterTable(dim=encoder.latent_dim)
        self.index = CentroidIndex(encoder.latent_dim, cluster.index, cluster.flat_max_clusters)
        initial_similarity = 1.0 if novelty.neighbor_similarity == "auto" else novelty.neighbor_similarity
        self.buffer = OutlierBuffer(novelty.buffer_size, encoder.latent_dim, initial_similarity)
        self.keywords: ClusterKeywords | None = None
        self.reservoir = Reservoir(
            encoder.reservoir_size,
            featurizer.sparse_columns,
            featurizer.dense_columns,
            encoder.recency_bias,
            seed=seed,
        )
        self.drift = DriftWatch(encoder.drift_detector, encoder.drift_delta)
        self.schedule = RetrainSchedule(
            every_posts=encoder.retrain_every_posts,
            every_seconds=encoder.retrain_every_seconds,
            swap_after_posts=encoder.swap_after_posts,
            swap=encoder.swap,
            background=encoder.background,
        )
        self.job: RetrainJob | None = None
        self.rate_floor = learning_rate_floor(cluster.half_life_posts)
        self.last_novelty_search = 0
        self.last_lifecycle = 0
        self.reported_size: dict[int, float] = {}
        self.ended: dict[int, CatalogEntry] = {}

    @classmethod
    def from_settings(cls, settings: Settings, featurizer: Featurizer | None = None) -> Engine:
        """The engine the settings describe; ``featurizer`` reuses one already built from the same settings."""
        set_compute_threads(settings.threads)
        return cls(
            featurizer or build_featurizer(settings.featurize, seed=settings.seed),
            encoder=settings.encoder,
            cluster=settings.cluster,
            novelty=settings.novelty,
            lifecycle=settings.lifecycle,
            seed=settings.seed,
        )

    # -- the public API -------------------------------------------------------------------------------------

    @property
    def model_version(self) -> int:
        return 0 if self.encoder is None else self.encoder.version

    @property
    def pending_post_ids(self) -> list[str]:
        return [post.id for post in self.held]

    @property
    def is_warm(self) -> bool:
        return self.encoder is not None

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        """Label a batch. During warm-up posts are held and labelled by the batch that completes it."""
        now = self.clock() if now is None else now
        if self.encoder is None:
            self.held.extend(posts)
            if len(self.held) < self.encoder_settings.warmup_posts:
                return self.holding(len(posts), now)
            return self.warm_up(now, posts_in=len(posts))
        return self.label(list(posts), now)

    def assign(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        """Label posts with the current model without learning from them: nothing in the engine changes.

        For labelling alongside a model trained elsewhere (scale-out readers, replays). Raises ModelError before
        warm-up; check ``is_warm`` first.
        """
        if self.encoder is None:
            raise ModelError(
                "the engine has no model yet (still warming up), so it cannot assign posts; "
                "check engine.is_warm, or process posts (or restore a checkpoint) first"
            )
        now = self.clock() if now is None else now
        if len(posts) == 0:
            return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self.stats())
        features = self.featurizer.transform([post.text for post in posts], learn=False)
        latents = self.encoder.encode(features)
        rows, similarities = self.index.nearest(latents, self.table.centroids)
        accepted = self.accepted(rows, similarities)
        cluster_ids = np.where(accepted, self.table.ids[np.maximum(rows, 0)] if len(self.table) else -1, -1)
        labels = self.label_batch(posts, cluster_ids, similarities, accepted, now)
        return BatchResult(labels=labels, stats=self.stats(posts_in=len(posts), labels=labels))

    def label_batch(
        self,
        posts: Sequence[Post],
        cluster_ids: np.ndarray,
        similarities: np.ndarray,
        accepted: np.ndarray,
        now: float,
    ) -> LabelBatch:
        """The labels of a batch under the current model version (outliers: not accepted)."""
        return LabelBatch(
            post_ids=[post.id for post in posts],
            cluster_ids=cluster_ids.astype(np.int64),
            similarities=similarities.astype(np.float32),
            is_outlier=~accepted,
            model_version=self.model_version,
            processed_at=now,
        )

    def accepted(self, rows: np.ndarray, similarities: np.ndarray) -> np.ndarray:
        """Whether each post's nearest cluster (row -1: none) accepts it at its similarity."""
        accepted = rows >= 0
        accepted[accepted] = similarities[accepted] >= self.thresholds()[rows[accepted]]
        return accepted

    def flush(self, now: float | None = None) -> BatchResult:
        """End of a finite stream: label any posts still held for warm-up."""
        now = self.clock() if now is None else now
        if self.encoder is None and self.held:
            return self.warm_up(now, posts_in=0)
        return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self.stats())

    def catalog(self) -> list[CatalogEntry]:
        """The latest state of every active cluster, then recently merged or retired ones."""
        active = [self.catalog_entry(row, "active") for row in range(len(self.table))]
        return active + list(self.ended.values())

    def close(self) -> None:
        if self.job is not None:
            self.job.wait()

    # -- warm-up ----------------------------------------------------------------------------------------------

    def holding(self, posts_in: int, now: float) -> BatchResult:
        stats = BatchStats(posts_in=posts_in, pending=len(self.held), model_version=0)
        return BatchResult(labels=LabelBatch.empty(0, now), stats=stats)

    def warm_up(self, now: float, posts_in: int) -> BatchResult:
        """Train the first encoder on the held posts, find the first clusters among them, label them all."""
        posts, self.held = self.held, []
        features = self.featurizer.transform([post.text for post in posts])
        self.keywords = ClusterKeywords(features.terms.n_columns)
        model = train_autoencoder(features, self.shape, self.training_plan(version=1))
        self.encoder = Encoder.fitted(model, 1, features)
        self.reservoir.add(features)
        latents = self.encoder.encode(features)
        self.buffer.neighbor_similarity = self.neighbor_similarity(latents)
        positions = self.position + np.arange(len(posts))
        self.position += len(posts)
        self.buffer.add(latents, [post.id for post in posts], positions, features.terms)
        births = self.find_new_clusters(now)
        self.last_novelty_search = self.position
        cluster_ids = np.full(len(posts), NOT_CLUSTERED, dtype=np.int64)
        similarities = np.zeros(len(posts), dtype=np.float32)
        for i, post in enumerate(posts):
            if post.id in births.cluster_of:
                cluster_ids[i], similarities[i] = births.cluster_of[post.id]
        if len(self.table):
            _, nearest = self.index.nearest(latents, self.table.centroids)
            similarities = np.where(cluster_ids == NOT_CLUSTERED, nearest, similarities).astype(np.float32)
        labels = LabelBatch(
            post_ids=[post.id for post in posts],
            cluster_ids=cluster_ids,
            similarities=similarities,
            is_outlier=cluster_ids == NOT_CLUSTERED,
            model_version=self.model_version,
            processed_at=now,
        )
        stats = self.stats(posts_in=posts_in, labels=labels, warmed_up=True)
        return BatchResult(labels=labels, events=births.events, stats=stats)

    def training_plan(self, version: int) -> TrainingPlan:
        """The first model trains ``epochs``; a retrain continues from the current weights for ``retrain_epochs``."""
        settings = self.encoder_settings
        return TrainingPlan(
            epochs=settings.epochs if version == 1 else settings.retrain_epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=self.seed + version,
        )

    # -- the steady state -------------------------------------------------------------------------------------

    def label(self, posts: list[Post], now: float) -> BatchResult:
        assert self.encoder is not None and self.keywords is not None
        n = len(posts)
        if n == 0:
            return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self.stats())
        features = self.featurizer.transform([post.text for post in posts])
        latents = self.encoder.encode(features)
        error = self.reconstruction_error(features)
        drift = self.drift.update(error)

        rows, similarities = self.index.nearest(latents, self.table.centroids)
        thresholds = self.thresholds()
        accepted = rows >= 0
        accepted[accepted] = similarities[accepted] >= thresholds[rows[accepted]]
        cluster_ids = np.where(accepted, self.table.ids[np.maximum(rows, 0)] if len(self.table) else -1, -1)
        shift = update_centroids(
            self.table, latents[accepted], rows[accepted], similarities[accepted], self.rate_floor
        )
        self.table.last_seen[rows[accepted]] = self.position + n
        self.table.last_seen_at[rows[accepted]] = now
        self.count_keywords(features, cluster_ids)

        candidates = np.flatnonzero(self.novelty_candidates(accepted, rows, similarities))
        self.buffer.add(
            latents[candidates],
            [posts[i].id for i in candidates.tolist()],
            self.position + candidates,
            features.terms.take(candidates),
        )
        self.position += n
        decay_counts(self.table, n, self.cluster_settings.count_half_life_posts)
        self.reservoir.add(features)

        events: list[ClusterEvent] = []
        if self.position - self.last_novelty_search >= self.novelty_settings.search_every_posts:
            self.last_novelty_search = self.position
            self.buffer.expire(self.position, self.novelty_settings.outlier_ttl_posts)
            births = self.find_new_clusters(now)
            events.extend(births.events)
            for i in candidates.tolist():
                if posts[i].id in births.cluster_of:
                    cluster_ids[i], similarities[i] = births.cluster_of[posts[i].id]
                    accepted[i] = True
        if self.position - self.last_lifecycle >= LIFECYCLE_EVERY_POSTS:
            self.last_lifecycle = self.position
            events.extend(self.run_lifecycle(now))
        self.index.refresh(self.table.centroids, structure_changed=False)
        retrain = self.advance_retraining(now, drift)

        labels = self.label_batch(posts, cluster_ids, similarities, accepted, now)
        stats = self.stats(
            posts_in=n,
            labels=labels,
            reconstruction_error=error,
            drift_detected=drift,
            centroid_shift=shift,
            retrain=retrain,
        )
        return BatchResult(labels=labels, events=events, stats=stats)

    def novelty_candidates(
        self, accepted: np.ndarray, rows: np.ndarray, similarities: np.ndarray
    ) -> np.ndarray:
        """Posts that enter the outlier buffer: every outlier, and members on the fringe of their cluster.

        A member below ``mean - candidate_k * std`` keeps its label but may still seed a new topic that its
        cluster's radius has been swallowing; labelling stays permissive while novelty stays sensitive.
        """
        candidate = ~accepted
        candidate_k = self.novelty_settings.candidate_k
        if candidate_k is not None and len(self.table):
            settings = self.cluster_settings
            fringe = acceptance_thresholds(
                self.table, candidate_k, settings.radius_floor, settings.radius_ceiling
            )
            candidate |= accepted & (similarities < fringe[np.maximum(rows, 0)])
        return candidate

    def neighbor_similarity(self, latents: np.ndarray) -> float:
        """The configured neighbour similarity, or the k-distance estimate on ``latents`` for 'auto'."""
        settings = self.novelty_settings
        if settings.neighbor_similarity != "auto":
            return settings.neighbor_similarity
        sample = latents[:AUTO_NEIGHBOR_SAMPLE]
        estimate = neighbor_similarity_estimate(
            sample, settings.min_neighbors, settings.auto_neighbor_quantile
        )
        return min(estimate, settings.auto_neighbor_max)

    def thresholds(self) -> np.ndarray:
        settings = self.cluster_settings
        return acceptance_thresholds(
            self.table, settings.radius_k, settings.radius_floor, settings.radius_ceiling
        )

    def reconstruction_error(self, features: FeatureBatch) -> float:
        assert self.encoder is not None
        sample = np.arange(min(len(features), RECONSTRUCTION_SAMPLE))
        return float(np.mean(self.encoder.reconstruction_error(features.take(sample))))

    def count_keywords(self, features: FeatureBatch, cluster_ids: np.ndarray) -> None:
        assert self.keywords is not None
        terms = features.terms
        owner = cluster_ids[terms.row_ids()]
        kept = owner != NOT_CLUSTERED
        self.keywords.add(owner[kept], terms.indices[kept], terms.values[kept].astype(np.float64))

    # -- novelty ----------------------------------------------------------------------------------------------

    def find_new_clusters(self, now: float) -> Births:
        """Turn dense groups of buffered outliers into clusters; buffered posts they accept join them."""
        settings = self.novelty_settings
        births = Births()
        groups = find_dense_groups(self.buffer, settings.min_neighbors, settings.min_cluster_size)
        if not groups:
            return births
        assert self.keywords is not None
        centroids = normalize(np.stack([self.buffer.latents[group.rows].mean(axis=0) for group in groups]))
        member_similarity = [self.buffer.latents[group.rows] @ centroids[i] for i, group in enumerate(groups)]
        means = np.array([float(values.mean()) for values in member_similarity])
        variances = np.array(
            [max(float(values.var()), self.cluster_settings.newborn_std**2) for values in member_similarity]
        )
        counts = np.array([float(len(group.rows)) for group in groups])
        first_new_row = len(self.table)
        new_ids = self.table.add(centroids, counts, means, variances, self.position, now)
        self.index.refresh(self.table.centroids, structure_changed=True)

        owner = np.full(len(self.buffer), -1, dtype=np.int64)
        similarity = np.zeros(len(self.buffer), dtype=np.float32)
        for i, group in enumerate(groups):
            owner[group.rows] = i
            similarity[group.rows] = member_similarity[i]
        # buffered posts that a newborn cluster accepts join it too
        loose = np.flatnonzero(owner < 0)
        if len(loose):
            scores = self.buffer.latents[loose] @ centroids.T
            best = scores.argmax(axis=1)
            best_score = scores[np.arange(len(loose)), best]
            limit = self.thresholds()[first_new_row + best]
            joins = best_score >= limit
            owner[loose[joins]] = best[joins]
            similarity[loose[joins]] = best_score[joins]
        for i, cluster_id in enumerate(new_ids.tolist()):
            rows = np.flatnonzero(owner == i)
            columns, term_counts = self.buffer.terms_of(rows)
            self.keywords.add(np.full(len(columns), cluster_id), columns, term_counts.astype(np.float64))
            member_ids = [self.buffer.post_ids[row] for row in rows.tolist()]
            for row, post_id in zip(rows.tolist(), member_ids, strict=True):
                births.cluster_of[post_id] = (cluster_id, float(similarity[row]))
            self.table.counts[first_new_row + i] = float(len(rows))
            self.reported_size[cluster_id] = float(len(rows))
            births.events.append(
                self.event(EventKind.CREATED, first_new_row + i, now, member_post_ids=member_ids)
            )
        self.buffer.remove(np.flatnonzero(owner >= 0))
        return births

    # -- lifecycle --------------------------------------------------------------------------------------------

    def run_lifecycle(self, now: float) -> list[ClusterEvent]:
        assert self.keywords is not None
        settings = self.lifecycle_settings
        events: list[ClusterEvent] = []
        merges = find_merges(self.table, settings.merge_similarity)
        for absorbed, survivor in merges:
            merge_rows(self.table, absorbed, survivor)
            self.keywords.merge(int(self.table.ids[absorbed]), int(self.table.ids[survivor]))
            events.append(
                self.event(EventKind.MERGED, absorbed, now, merged_into=int(self.table.ids[survivor]))
            )
        for _, survivor in merges:
            events.append(self.event(EventKind.UPDATED, survivor, now))
            self.reported_size[int(self.table.ids[survivor])] = float(self.table.counts[survivor])
        self.end_clusters(
            np.array([absorbed for absorbed, _ in merges], dtype=np.int64), now, events, "merged"
        )
        stale = find_stale(self.table, self.position, settings.retire_after_posts)
        for row in stale.tolist():
            events.append(self.event(EventKind.RETIRED, row, now))
        self.end_clusters(stale, now, events, "retired")
        excess = find_excess(self.table, settings.max_clusters)
        for row in excess.tolist():
            events.append(self.event(EventKind.RETIRED, row, now))
        self.end_clusters(excess, now, events, "retired")
        for row in range(len(self.table)):
            cluster_id = int(self.table.ids[row])
            if self.table.counts[row] >= UPDATE_EVENT_GROWTH * self.reported_size.get(cluster_id, 0.0):
                self.reported_size[cluster_id] = float(self.table.counts[row])
                events.append(self.event(EventKind.UPDATED, row, now))
        return events

    def end_clusters(self, rows: np.ndarray, now: float, events: list[ClusterEvent], status: str) -> None:
        if len(rows) == 0:
            return
        assert self.keywords is not None
        merged_into = {
            event.cluster_id: event.merged_into for event in events if event.kind == EventKind.MERGED
        }
        for row in rows.tolist():
            cluster_id = int(self.table.ids[row])
            entry = self.catalog_entry(row, status).model_copy(
                update={"merged_into": merged_into.get(cluster_id)}
            )
            self.ended[cluster_id] = entry
            self.keywords.drop(cluster_id)
            self.reported_size.pop(cluster_id, None)
        while len(self.ended) > ENDED_CLUSTERS_KEPT:
            self.ended.pop(next(iter(self.ended)))
        self.table.remove(rows)
        self.index.refresh(self.table.centroids, structure_changed=True)

    # -- retraining -------------------------------------------------------------------------------------------

    def advance_retraining(self, now: float, drift: bool) -> RetrainOutcome:
        """Swap in a finished retrain when its swap point is reached; start a new one when due."""
        assert self.encoder is not None
        outcome = RetrainOutcome()
        if self.job is not None and self.schedule.swap_due(self.job, self.position):
            job, self.job = self.job, None
            job.wait()
            outcome.retrain_seconds = job.seconds
            if job.error is not None:
                outcome.retrain_error = f"{type(job.error).__name__}: {job.error}"
            if job.model is not None:
                outcome.label_agreement = self.swap_encoder(
                    Encoder.fitted(job.model, self.encoder.version + 1, self.reservoir.contents())
                )
                outcome.retrained = True
        if self.job is None:
            reason = self.schedule.due(self.position, now, drift)
            if reason is not None and len(self.reservoir) >= self.encoder_settings.batch_size:
                self.job = self.schedule.start(
                    reason,
                    self.position,
                    now,
                    self.reservoir.contents(),
                    self.shape,
                    self.training_plan(self.encoder.version + 1),
                    self.encoder.model,
                )
                self.drift.reset()
                outcome.retrain_started = True
        return outcome

    def swap_encoder(self, new: Encoder) -> float:
        """Carry every cluster (and the outlier buffer) into the new latent space; returns label agreement."""
        assert self.encoder is not None
        carried = carry_clusters(
            self.table.centroids,
            self.thresholds(),
            self.table.similarity_mean,
            self.table.similarity_var,
            self.encoder,
            new,
            self.reservoir.contents(),
        )
        self.table.centroids = carried.centroids
        self.table.similarity_mean = carried.similarity_mean
        self.table.similarity_var = carried.similarity_var
        state = self.buffer.snapshot()
        similarity = self.neighbor_similarity(new.encode(self.reservoir.contents()))
        self.buffer = OutlierBuffer(self.buffer.capacity, self.buffer.latents.shape[1], similarity)
        self.buffer.add(
            normalize(state["latents"] @ carried.latent_map),
            state["post_ids"],
            state["positions"],
            terms_from_padded(state["term_columns"], state["term_counts"], self.keywords_columns()),
        )
        self.encoder = new
        self.index.refresh(self.table.centroids, structure_changed=True)
        return carried.label_agreement

    # -- reporting --------------------------------------------------------------------------------------------

    def event(
        self,
        kind: EventKind,
        row: int,
        now: float,
        member_post_ids: list[str] | None = None,
        merged_into: int | None = None,
    ) -> ClusterEvent:
        return ClusterEvent(
            kind=kind,
            cluster_id=int(self.table.ids[row]),
            size=round(float(self.table.counts[row]), 3),
            keywords=self.keywords_of(int(self.table.ids[row])),
            member_post_ids=member_post_ids or [],
            merged_into=merged_into,
            model_version=self.model_version,
            at=now,
        )

    def keywords_columns(self) -> int:
        return 1 if self.keywords is None else self.keywords.n_columns

    def keywords_of(self, cluster_id: int) -> list[str]:
        if self.keywords is None:
            return []
        return self.keywords.top(cluster_id, self.featurizer.term, self.lifecycle_settings.keywords_top_k)

    def catalog_entry(self, row: int, status: str) -> CatalogEntry:
        return CatalogEntry(
            cluster_id=int(self.table.ids[row]),
            status=status,
            size=round(float(self.table.counts[row]), 3),
            keywords=self.keywords_of(int(self.table.ids[row])),
            created_at=float(self.table.created_at[row]),
            last_seen_at=float(self.table.last_seen_at[row]),
            model_version=self.model_version,
        )

    def stats(
        self,
        posts_in: int = 0,
        labels: LabelBatch | None = None,
        reconstruction_error: float | None = None,
        drift_detected: bool = False,
        centroid_shift: float = 0.0,
        retrain: RetrainOutcome | None = None,
        warmed_up: bool = False,
    ) -> BatchStats:
        retrain = retrain or RetrainOutcome(retrained=warmed_up)
        return BatchStats(
            posts_in=posts_in,
            labelled=0 if labels is None else len(labels),
            pending=len(self.held),
            outliers=0 if labels is None else int(labels.is_outlier.sum()),
            reconstruction_error=reconstruction_error,
            drift_detected=drift_detected,
            retrain_started=retrain.retrain_started,
            retrained=retrain.retrained,
            retrain_seconds=retrain.retrain_seconds,
            retrain_error=retrain.retrain_error,
            label_agreement=retrain.label_agreement,
            centroid_shift=centroid_shift,
            active_clusters=len(self.table),
            model_version=self.model_version,
        )


def set_compute_threads(threads: int) -> None:
    """Threads for torch, FAISS and numpy's BLAS in this process (a process-wide setting, applied once by the
    adapters). The engine's matrices are small: extra BLAS threads only wait on each other, and on a busy
    machine they made the novelty search several times slower."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def terms_from_padded(columns: np.ndarray, counts: np.ndarray, n_columns: int) -> SparseRows:
    """Padded per-post term arrays (as the outlier buffer keeps them) back to sparse rows."""
    lengths = (counts > 0).sum(axis=1)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    used = counts > 0
    return SparseRows(indptr, columns[used].astype(np.int64), counts[used].astype(np.float32), n_columns)
