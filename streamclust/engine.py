"""The whole clustering pipeline as one pure object: ``Engine.process(posts) -> BatchResult``.

In order, for each batch: featurize -> encode -> weigh the post's words (online TF-IDF) -> find the most similar
cluster (``stages/clusters.py``: FAISS proposes the nearest in latent space, the blend of latent and lexical
cosine decides; among clusters that take it, a big one that is one broad topic is preferred,
``cluster/broad_topics.py``) -> join it, or open a provisional cluster with the batch's other posts like it
(``stages/births.py``) -> settle the batch: each post may still move to the cluster or new group it fits best
as the batch leaves them (``cluster/settle.py``) -> update centroids and profiles -> confirm provisional
clusters that reached ``min_cluster_size`` members (a ``created`` event) -> merge, retire and cap clusters
(``stages/lifecycle.py``)
-> feed the reservoir and retrain / swap the autoencoder when due (``stages/retraining.py``). Every post has a
cluster the moment it is labelled; ``is_outlier`` marks posts whose cluster is still provisional. No I/O:
adapters (files, Kafka) feed posts in and write the labels and events out. Deterministic for a given seed and
input order.

The engine owns the featurizer, the encoder and the stream position; everything else is a stage's.
``snapshot()`` gathers every part's snapshot into one ``EngineSnapshot``; ``restore`` loads one into a fresh
engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from streamclust.cluster.settle import Choice
from streamclust.config import (
    ClusterSettings,
    EncoderSettings,
    LifecycleSettings,
    NoveltySettings,
    Settings,
)
from streamclust.encode.autoencoder import AutoencoderShape, Encoder, train_autoencoder
from streamclust.encode.teacher import build_teacher, taught_rows
from streamclust.encode.weights import encoder_from, encoder_snapshot
from streamclust.errors import CheckpointError, ModelError
from streamclust.featurize import Featurizer, build_featurizer
from streamclust.featurize.base import FeatureBatch
from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import NOT_CLUSTERED, CatalogEntry, ClusterEvent, Post
from streamclust.stages import EngineSnapshot
from streamclust.stages.births import Births
from streamclust.stages.clusters import Clusters
from streamclust.stages.lifecycle import Lifecycle
from streamclust.stages.retraining import Retraining, RetrainOutcome, training_plan
from streamclust.threads import set_compute_threads

RECONSTRUCTION_SAMPLE = 32  # posts per batch whose mean reconstruction error is reported (a metric)
WARM_UP_STEP = 500  # warm-up posts are clustered in steps of this many, as batches would be


@dataclass
class Assignment:
    """What learning one batch gave each post: its cluster, its similarity to it, whether it is provisional."""

    cluster_ids: np.ndarray
    similarities: np.ndarray
    provisional: np.ndarray
    events: list[ClusterEvent]
    misfits: np.ndarray  # no existing cluster took the post (it opened or joined a new one)
    centroid_shift: float = 0.0


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
        cluster = cluster or ClusterSettings()
        novelty = novelty or NoveltySettings()
        lifecycle = lifecycle or LifecycleSettings()
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
        self.clusters = Clusters(
            cluster,
            encoder.latent_dim,
            featurizer.term,
            lifecycle.keywords_top_k,
            int(getattr(featurizer, "idf_half_life_posts", 50_000)),
        )
        self.births = Births(novelty, cluster.semantic_weight, cluster.newborn_std)
        self.lifecycle = Lifecycle(lifecycle, novelty.provisional_ttl_posts)
        self.retraining = Retraining(encoder, self.shape, seed)

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

    @property
    def is_settled(self) -> bool:
        """Warm, holding no posts and with no retrain running: a snapshot now restores to exactly this model.

        (A retrain still running when a snapshot is taken is started again, later, by the restored engine; a
        finished one waiting for its swap is kept.)
        """
        return self.is_warm and not self.held and not self.retraining.running

    def process(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        """Label a batch. During warm-up posts are held and labelled by the batch that completes it."""
        now = self.clock() if now is None else now
        if self.encoder is None:
            self.held.extend(posts)
            if len(self.held) < self.encoder_settings.warmup_posts:
                stats = BatchStats(posts_in=len(posts), pending=len(self.held), model_version=0)
                return BatchResult(labels=LabelBatch.empty(0, now), stats=stats)
            return self._warm_up(now, posts_in=len(posts))
        return self._learn_batch(list(posts), now)

    def assign(self, posts: Sequence[Post], now: float | None = None) -> BatchResult:
        """Label posts with the current model without learning from them: nothing in the engine changes.

        For labelling alongside a model trained elsewhere (scale-out readers, replays). A post that no cluster
        would take gets its nearest cluster with ``is_outlier`` set (only learning opens clusters). Raises
        ModelError before warm-up; check ``is_warm`` first.
        """
        if self.encoder is None or not self.clusters.started:
            raise ModelError(
                "the engine has no model yet (still warming up), so it cannot assign posts; "
                "check engine.is_warm, or process posts (or restore a checkpoint) first"
            )
        now = self.clock() if now is None else now
        if len(posts) == 0:
            return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self._stats())
        clusters = self.clusters
        features = self.featurizer.transform([post.text for post in posts], learn=False)
        latents = self.encoder.encode(features)
        nearest = clusters.nearest(latents, clusters.weigh(features.terms, learn=False))
        rows, similarities = nearest.rows, nearest.similarities
        accepted = clusters.accepts(rows, similarities)
        accepted[rows >= 0] &= clusters.table.confirmed[rows[rows >= 0]]
        labels = self._labels(posts, clusters.ids_of(rows), similarities, accepted, now)
        return BatchResult(labels=labels, stats=self._stats(posts_in=len(posts), labels=labels))

    def flush(self, now: float | None = None) -> BatchResult:
        """End of a finite stream: label any posts still held for warm-up."""
        now = self.clock() if now is None else now
        if self.encoder is None and self.held:
            return self._warm_up(now, posts_in=0)
        return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self._stats())

    def catalog(self) -> list[CatalogEntry]:
        """The latest state of every active cluster, then recently merged or retired ones."""
        return self.lifecycle.catalog(self.clusters, self.model_version)

    def close(self) -> None:
        self.retraining.close()

    def snapshot(self) -> EngineSnapshot:
        """The whole model state, stage by stage (safe between batches while a retrain runs)."""
        if self.encoder is None or not self.clusters.started:
            raise CheckpointError(
                "the engine is still warming up and has no model to checkpoint yet; "
                "checkpoint once engine.is_warm is true"
            )
        return EngineSnapshot(
            position=self.position,
            featurizer=self.featurizer.snapshot(),
            encoder=encoder_snapshot(self.encoder),
            clusters=self.clusters.snapshot(),
            births=self.births.snapshot(),
            lifecycle=self.lifecycle.snapshot(),
            retraining=self.retraining.snapshot(),
        )

    def restore(self, snapshot: EngineSnapshot) -> None:
        """Continue from ``snapshot``; only a fresh engine (one that has seen no post) can be restored."""
        if self.position or self.held:
            raise CheckpointError(
                "a checkpoint can only be loaded into a fresh engine (one that has seen no post)"
            )
        self.position = int(snapshot.position)
        self.featurizer.restore(snapshot.featurizer)
        self.encoder = encoder_from(snapshot.encoder, self.shape)
        self.clusters.restore(snapshot.clusters)
        self.births.restore(snapshot.births)
        self.lifecycle.restore(snapshot.lifecycle)
        self.retraining.restore(snapshot.retraining)

    # -- warm-up and the steady state -----------------------------------------------------------------------

    def _warm_up(self, now: float, posts_in: int) -> BatchResult:
        """Train the first encoder on the held posts, then cluster and label them all, in batches."""
        posts, self.held = self.held, []
        features = self.featurizer.transform([post.text for post in posts])
        taught = taught_rows(len(posts), self.encoder_settings.teacher_posts)
        model = train_autoencoder(
            features,
            self.shape,
            training_plan(self.encoder_settings, self.seed, 1),
            targets=self._teacher_vectors([posts[row].text for row in taught]),
            target_rows=taught,
        )
        self.encoder = Encoder.fitted(model, 1, features)
        self.retraining.remember(features)
        latents = self.encoder.encode(features)
        self.clusters.start(latents, features)
        parts: list[Assignment] = []
        for start in range(0, len(posts), WARM_UP_STEP):
            rows = np.arange(start, min(start + WARM_UP_STEP, len(posts)))
            parts.append(
                self._learn(posts[start : start + WARM_UP_STEP], features.take(rows), latents[rows], now)
            )
            self.position += len(rows)
        labels = LabelBatch(
            post_ids=[post.id for post in posts],
            cluster_ids=np.concatenate([part.cluster_ids for part in parts]),
            similarities=np.concatenate([part.similarities for part in parts]),
            is_outlier=np.concatenate([part.provisional for part in parts]),
            model_version=self.model_version,
            processed_at=now,
        )
        stats = self._stats(posts_in=posts_in, labels=labels, warmed_up=True)
        return BatchResult(labels=labels, events=[e for part in parts for e in part.events], stats=stats)

    def _teacher_vectors(self, texts: list[str]) -> np.ndarray | None:
        """The teacher's vectors of the warm-up posts, for the structure term; None without dense features."""
        if not self.shape.dense_columns or not self.encoder_settings.structure_weight:
            return None
        teacher = build_teacher(self.encoder_settings.teacher)
        return None if teacher is None else teacher.embed(texts)

    def _learn_batch(self, posts: list[Post], now: float) -> BatchResult:
        assert self.encoder is not None
        n = len(posts)
        if n == 0:
            return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self._stats())
        features = self.featurizer.transform([post.text for post in posts])
        latents = self.encoder.encode(features)
        error = self._reconstruction_error(features)
        self.clusters.measure_broad_topics(self.position)

        assignment = self._learn(posts, features, latents, now)
        drift = self.retraining.watch(assignment.misfits)
        self.position += n
        self.clusters.decay(n)
        self.retraining.remember(features)

        events = assignment.events
        events.extend(
            self.lifecycle.run_if_due(self.clusters, self.births, self.position, now, self.model_version)
        )
        self.clusters.refresh_index()
        retrain = self._advance_retraining(now, drift)

        labels = self._labels(
            posts, assignment.cluster_ids, assignment.similarities, ~assignment.provisional, now
        )
        stats = self._stats(
            posts_in=n,
            labels=labels,
            reconstruction_error=error,
            drift_detected=drift,
            centroid_shift=assignment.centroid_shift,
            retrain=retrain,
        )
        return BatchResult(labels=labels, events=events, stats=stats)

    def _learn(
        self, posts: Sequence[Post], features: FeatureBatch, latents: np.ndarray, now: float
    ) -> Assignment:
        """Assign a batch (positions from ``self.position``): a post joins its most similar cluster if that
        cluster takes it, else it opens a provisional cluster with the other posts of the batch like it."""
        clusters, births, n = self.clusters, self.births, len(posts)
        weighted = clusters.weigh(features.terms)
        nearest = clusters.nearest(latents, weighted)
        rows, similarities = nearest.rows, nearest.similarities.copy()
        latent_similarity = nearest.latent_similarity.copy()
        accepted = clusters.accepts(rows, similarities)
        misfits = ~accepted
        fringe = births.fringe(clusters.table, rows, latent_similarity, accepted)
        groups = np.full(n, -1, dtype=np.int64)
        if not (accepted & ~fringe).all():
            groups = births.group_newcomers(
                latents, weighted, accepted, similarities, clusters.join_similarity, fringe
            )
            first = Choice(np.where(groups < 0, rows, -1), groups)
            settled = clusters.settle(first, latents, weighted, nearest)
            moved = np.flatnonzero((settled.rows != first.rows) & (settled.rows >= 0))
            similarities[moved], latent_similarity[moved] = clusters.similarities_to(
                settled.rows[moved], latents[moved], weighted[moved]
            )
            rows, groups = np.where(settled.rows >= 0, settled.rows, rows), settled.groups
        accepted = groups < 0
        joined = rows[accepted]
        shift = clusters.join(
            joined,
            latents[accepted],
            weighted[np.flatnonzero(accepted)],
            latent_similarity[accepted],
            self.position + n,
            now,
        )
        cluster_ids = np.full(n, NOT_CLUSTERED, dtype=np.int64)
        cluster_ids[accepted] = clusters.table.ids[joined]
        provisional_join = np.zeros(n, dtype=bool)
        provisional_join[accepted] = ~clusters.table.confirmed[joined]
        joining = np.flatnonzero(provisional_join).tolist()
        births.joined([posts[i].id for i in joining], [int(cluster_ids[i]) for i in joining])
        born: list[tuple[int, list[str]]] = []
        newcomers = np.flatnonzero(groups >= 0)
        if len(newcomers):
            cluster_ids[newcomers], similarities[newcomers], born = births.open(
                clusters,
                [posts[i].id for i in newcomers.tolist()],
                latents[newcomers],
                weighted[newcomers],
                groups[newcomers],
                self.position + len(newcomers),
                now,
            )
        clusters.count_keywords(features, cluster_ids)
        clusters.remember(latents, cluster_ids)
        created = births.confirm(clusters.table, born)
        events = self.lifecycle.announce(clusters, created, now, self.model_version)
        provisional = ~clusters.table.confirmed[clusters.table.rows_of(cluster_ids)]
        return Assignment(cluster_ids, similarities.astype(np.float32), provisional, events, misfits, shift)

    def _reconstruction_error(self, features: FeatureBatch) -> float:
        assert self.encoder is not None
        sample = np.arange(min(len(features), RECONSTRUCTION_SAMPLE))
        return float(np.mean(self.encoder.reconstruction_error(features.take(sample))))

    def _advance_retraining(self, now: float, drift: bool) -> RetrainOutcome:
        """Swap in a finished retrain when its swap point is reached; start a new one when due."""
        assert self.encoder is not None
        outcome = RetrainOutcome()
        finished = self.retraining.finish(self.position, self.encoder)
        if finished is not None:
            outcome.retrain_seconds = finished.seconds
            outcome.retrain_error = finished.error
            if finished.encoder is not None:
                assert finished.sample is not None
                outcome.label_agreement = self.clusters.carry(
                    self.encoder, finished.encoder, finished.sample, finished.sample_latents
                )
                self.encoder = finished.encoder
                outcome.retrained = True
        outcome.retrain_started = self.retraining.start_if_due(self.position, now, drift, self.encoder)
        return outcome

    # -- reporting ------------------------------------------------------------------------------------------

    def _labels(
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

    def _stats(
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
            active_clusters=len(self.clusters),
            model_version=self.model_version,
        )
