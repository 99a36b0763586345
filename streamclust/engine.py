"""The whole clustering pipeline as one pure object: ``Engine.process(posts) -> BatchResult``.

In order, for each batch: featurize -> encode -> weigh the post's words (online TF-IDF) -> find the most similar
cluster (FAISS proposes the nearest in latent space, the blend of latent and lexical cosine decides) -> join it,
or open a provisional cluster with the batch's other posts like it (``cluster/births.py``) -> update centroids
and profiles -> confirm provisional clusters that reached ``min_cluster_size`` members (a ``created`` event) ->
merge, retire and cap clusters -> feed the reservoir and retrain / swap the autoencoder when due. Every post has
a cluster the moment it is labelled; ``is_outlier`` marks posts whose cluster is still provisional. No I/O:
adapters (files, Kafka) feed posts in and write the labels and events out. Deterministic for a given seed and
input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

from streamclust.cluster.births import group_posts
from streamclust.cluster.centroids import (
    decay_counts,
    learning_rate_floor,
    update_centroids,
)
from streamclust.cluster.index import CentroidIndex, exact_similarities
from streamclust.cluster.keywords import ClusterKeywords
from streamclust.cluster.lexical import LexicalProfiles
from streamclust.cluster.lifecycle import (
    find_excess,
    find_merges,
    find_stale,
    merge_rows,
)
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
from streamclust.featurize.base import FeatureBatch
from streamclust.result import BatchResult, BatchStats, LabelBatch
from streamclust.schema import NOT_CLUSTERED, CatalogEntry, ClusterEvent, EventKind, Post

RECONSTRUCTION_SAMPLE = 32  # posts per batch whose reconstruction error feeds the drift detector
LIFECYCLE_EVERY_POSTS = 1_000
WARM_UP_STEP = 500  # warm-up posts are clustered in steps of this many, as batches would be
UPDATE_EVENT_GROWTH = 1.5  # an 'updated' event when a cluster has grown by this factor since the last one
ENDED_CLUSTERS_KEPT = 1_000
TIE_FINALISTS = 2  # best candidates scored again exactly before one is chosen
CANDIDATES = 16  # clusters nearest in latent space whose blended similarity is computed exactly
AUTO_JOIN_SAMPLE = 2_000  # warm-up posts whose neighbours set the 'auto' join similarity
AUTO_JOIN_NEIGHBOR = 10  # ... through the similarity of each to its 10th nearest
MERGE_NEIGHBOURS = 8  # clusters nearest in latent space that each cluster is tested against for a merge


@dataclass
class RetrainOutcome:
    """What happened to retraining during one batch."""

    retrain_started: bool = False
    retrained: bool = False
    retrain_seconds: float | None = None
    retrain_error: str | None = None
    label_agreement: float | None = None


@dataclass
class Assignment:
    """What learning one batch gave each post: its cluster, its similarity to it, whether it is provisional."""

    cluster_ids: np.ndarray
    similarities: np.ndarray
    provisional: np.ndarray
    events: list[ClusterEvent]
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
        self.cluster_settings = cluster = cluster or ClusterSettings()
        self.novelty_settings = novelty or NoveltySettings()
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
        self.keywords: ClusterKeywords | None = None
        self.lexical: LexicalProfiles | None = None
        self.provisional_members: dict[int, list[str]] = {}  # post ids of clusters not yet confirmed
        # the similarity at which a post joins a cluster: set at warm-up when the setting is 'auto'
        self.join_similarity = 0.0 if cluster.join_similarity == "auto" else cluster.join_similarity
        self.pending_created: list[tuple[int, list[str]]] = []
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

        For labelling alongside a model trained elsewhere (scale-out readers, replays). A post that no cluster
        would take gets its nearest cluster with ``is_outlier`` set (only learning opens clusters). Raises
        ModelError before warm-up; check ``is_warm`` first.
        """
        if self.encoder is None or self.lexical is None:
            raise ModelError(
                "the engine has no model yet (still warming up), so it cannot assign posts; "
                "check engine.is_warm, or process posts (or restore a checkpoint) first"
            )
        now = self.clock() if now is None else now
        if len(posts) == 0:
            return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self.stats())
        features = self.featurizer.transform([post.text for post in posts], learn=False)
        latents = self.encoder.encode(features)
        weighted = self.lexical.weigh(features.terms, learn=False)
        rows, similarities, _ = self.nearest_clusters(latents, weighted)
        accepted = (rows >= 0) & (similarities >= self.join_similarity)
        accepted[rows >= 0] &= self.table.confirmed[rows[rows >= 0]]
        cluster_ids = np.where(rows >= 0, self.table.ids[np.maximum(rows, 0)] if len(self.table) else -1, -1)
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

    def flush(self, now: float | None = None) -> BatchResult:
        """End of a finite stream: label any posts still held for warm-up."""
        now = self.clock() if now is None else now
        if self.encoder is None and self.held:
            return self.warm_up(now, posts_in=0)
        return BatchResult(labels=LabelBatch.empty(self.model_version, now), stats=self.stats())

    def catalog(self) -> list[CatalogEntry]:
        """The latest state of every active cluster, then recently merged or retired ones."""
        active = [self.catalog_entry(row, "active") for row in np.flatnonzero(self.table.confirmed).tolist()]
        return active + list(self.ended.values())

    def close(self) -> None:
        if self.job is not None:
            self.job.wait()

    # -- warm-up ----------------------------------------------------------------------------------------------

    def holding(self, posts_in: int, now: float) -> BatchResult:
        stats = BatchStats(posts_in=posts_in, pending=len(self.held), model_version=0)
        return BatchResult(labels=LabelBatch.empty(0, now), stats=stats)

    def warm_up(self, now: float, posts_in: int) -> BatchResult:
        """Train the first encoder on the held posts, then cluster and label them all, in batches."""
        posts, self.held = self.held, []
        features = self.featurizer.transform([post.text for post in posts])
        self.keywords = ClusterKeywords(features.terms.n_columns)
        self.lexical = LexicalProfiles(features.terms.n_columns, self.lexical_half_life())
        model = train_autoencoder(features, self.shape, self.training_plan(version=1))
        self.encoder = Encoder.fitted(model, 1, features)
        self.reservoir.add(features)
        latents = self.encoder.encode(features)
        if self.cluster_settings.join_similarity == "auto":
            self.join_similarity = self.estimate_join_similarity(latents, features)
        parts: list[Assignment] = []
        step = WARM_UP_STEP
        for start in range(0, len(posts), step):
            rows = np.arange(start, min(start + step, len(posts)))
            parts.append(self.learn(posts[start : start + step], features.take(rows), latents[rows], now))
            self.position += len(rows)
        labels = LabelBatch(
            post_ids=[post.id for post in posts],
            cluster_ids=np.concatenate([part.cluster_ids for part in parts]),
            similarities=np.concatenate([part.similarities for part in parts]),
            is_outlier=np.concatenate([part.provisional for part in parts]),
            model_version=self.model_version,
            processed_at=now,
        )
        stats = self.stats(posts_in=posts_in, labels=labels, warmed_up=True)
        return BatchResult(labels=labels, events=[e for part in parts for e in part.events], stats=stats)

    def training_plan(self, version: int) -> TrainingPlan:
        """The first model trains ``epochs``; a retrain continues from the current weights for ``retrain_epochs``."""
        settings = self.encoder_settings
        return TrainingPlan(
            epochs=settings.epochs if version == 1 else settings.retrain_epochs,
            batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            seed=self.seed + version,
            structure_weight=settings.structure_weight,
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

        assignment = self.learn(posts, features, latents, now)
        self.position += n
        decay_counts(self.table, n, self.cluster_settings.count_half_life_posts)
        self.reservoir.add(features)

        events = assignment.events
        if self.position - self.last_lifecycle >= LIFECYCLE_EVERY_POSTS:
            self.last_lifecycle = self.position
            events.extend(self.run_lifecycle(now))
        self.index.refresh(self.table.centroids, structure_changed=False)
        retrain = self.advance_retraining(now, drift)

        labels = self.label_batch(
            posts, assignment.cluster_ids, assignment.similarities, ~assignment.provisional, now
        )
        stats = self.stats(
            posts_in=n,
            labels=labels,
            reconstruction_error=error,
            drift_detected=drift,
            centroid_shift=assignment.centroid_shift,
            retrain=retrain,
        )
        return BatchResult(labels=labels, events=events, stats=stats)

    # -- assignment and births -------------------------------------------------------------------------------

    def estimate_join_similarity(self, latents: np.ndarray, features: FeatureBatch) -> float:
        """``join_fraction`` of the median blended similarity of each warm-up post to its ``AUTO_JOIN_NEIGHBOR``-th
        nearest neighbour among them: a post joins a cluster when it is at least that share as close to it
        as a typical post is to its near neighbours, whatever the scale of the stream's similarities."""
        sample = np.arange(min(len(latents), AUTO_JOIN_SAMPLE))
        weighted = LexicalProfiles(features.terms.n_columns, self.lexical_half_life()).weigh(
            features.terms.take(sample)
        )
        weight = self.cluster_settings.semantic_weight
        blend = (
            weight * (latents[sample] @ latents[sample].T)
            + (1.0 - weight) * (weighted @ weighted.T).toarray()
        )
        np.fill_diagonal(blend, -np.inf)
        k = min(AUTO_JOIN_NEIGHBOR, len(sample) - 1)
        if k < 1:
            return 0.0
        kth = -np.partition(-blend, k - 1, axis=1)[:, k - 1]
        return float(self.cluster_settings.join_fraction * np.median(kth))

    def lexical_half_life(self) -> int:
        return int(getattr(self.featurizer, "idf_half_life_posts", 50_000))

    def nearest_clusters(
        self, latents: np.ndarray, weighted: csr_matrix
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each post's most similar cluster (row -1 with none), its blended similarity and its latent cosine.

        FAISS proposes the ``CANDIDATES`` clusters nearest in latent space with their cosines; each post's
        lexical cosine to each of them is computed one post at a time. The best two of the blend are then
        scored again exactly, in float64 (``exact_similarities``), rounded to a 1e-6 grid, and the lowest row
        wins among equal bests: FAISS's float32 rounding, which differs between batch sizes, cannot flip a
        label (the tie rule of ``cluster/index.py``).
        """
        assert self.lexical is not None
        n = len(latents)
        if len(self.table) == 0:
            return np.full(n, -1, dtype=np.int64), np.zeros(n, np.float32), np.zeros(n, np.float32)
        candidates, latent_similarity = self.index.candidates(latents, min(CANDIDATES, len(self.table)))
        if self.index.approximate(len(self.table)):  # a stale graph's similarities: score them again
            latent_similarity = exact_similarities(latents, self.table.centroids, candidates)
        lexical_similarity = self.lexical.similarity_of_pairs(weighted, candidates)
        weight = self.cluster_settings.semantic_weight
        blend = weight * latent_similarity + (1.0 - weight) * lexical_similarity
        finalists = np.argsort(-blend, axis=1, kind="stable")[:, :TIE_FINALISTS]
        rows = np.take_along_axis(candidates, finalists, axis=1)
        latent_exact = exact_similarities(latents, self.table.centroids, rows)
        blend_exact = weight * latent_exact + (1.0 - weight) * np.take_along_axis(
            lexical_similarity, finalists, axis=1
        )
        best = first_best(np.round(blend_exact, 6), rows)
        picked = np.arange(n)
        return (
            rows[picked, best].astype(np.int64),
            blend_exact[picked, best].astype(np.float32),
            latent_exact[picked, best].astype(np.float32),
        )

    def learn(
        self, posts: Sequence[Post], features: FeatureBatch, latents: np.ndarray, now: float
    ) -> Assignment:
        """Assign a batch (positions from ``self.position``): a post joins its most similar cluster if that
        cluster takes it, else it opens a provisional cluster with the other posts of the batch like it."""
        assert self.lexical is not None
        n = len(posts)
        weighted = self.lexical.weigh(features.terms)
        rows, similarities, latent_similarity = self.nearest_clusters(latents, weighted)
        accepted = (rows >= 0) & (similarities >= self.join_similarity)
        groups = np.full(n, -1, dtype=np.int64)
        if not accepted.all():
            groups = self.group_newcomers(latents, weighted, accepted, similarities)
        accepted &= groups < 0
        joined = rows[accepted]
        shift = update_centroids(
            self.table, latents[accepted], joined, latent_similarity[accepted], self.rate_floor
        )
        self.lexical.add(joined, weighted[np.flatnonzero(accepted)])
        np.add.at(self.table.members, joined, 1)
        self.table.last_seen[joined] = self.position + n
        self.table.last_seen_at[joined] = now
        cluster_ids = np.full(n, NOT_CLUSTERED, dtype=np.int64)
        cluster_ids[accepted] = self.table.ids[joined]
        provisional_join = np.zeros(n, dtype=bool)
        provisional_join[accepted] = ~self.table.confirmed[joined]
        for i in np.flatnonzero(provisional_join).tolist():
            self.provisional_members.setdefault(int(cluster_ids[i]), []).append(posts[i].id)
        newcomers = np.flatnonzero(groups >= 0)
        if len(newcomers):
            cluster_ids[newcomers], similarities[newcomers] = self.open_clusters(
                [posts[i].id for i in newcomers.tolist()],
                latents[newcomers],
                weighted[newcomers],
                groups[newcomers],
                now,
            )
        self.count_keywords(features, cluster_ids)
        events = self.confirm_clusters(now)
        provisional = ~self.table.confirmed[self.table.rows_of(cluster_ids)]
        return Assignment(cluster_ids, similarities.astype(np.float32), provisional, events, shift)

    def group_newcomers(
        self, latents: np.ndarray, weighted: csr_matrix, accepted: np.ndarray, similarities: np.ndarray
    ) -> np.ndarray:
        """The new group of each post that opens or joins a new cluster in this batch (-1: an existing one).

        Posts no cluster took are grouped in one pass (``births.group_posts``). A post an existing cluster
        took moves to a new group it is more similar to: within a batch, the posts of a topic that arrives
        with it must not scatter into older clusters only because theirs did not exist yet.
        """
        weight = self.cluster_settings.semantic_weight
        misfits = np.flatnonzero(~accepted)
        groups = np.full(len(latents), -1, dtype=np.int64)
        groups[misfits] = group_posts(
            latents[misfits] @ latents[misfits].T,
            (weighted[misfits] @ weighted[misfits].T).toarray(),
            weight,
            self.join_similarity,
        )
        taken = np.flatnonzero(accepted)
        if len(taken) == 0:
            return groups
        sums, lexical_sums = group_sums(latents[misfits], weighted[misfits], groups[misfits])
        blend = weight * (latents[taken] @ normalize(sums).T) + (1.0 - weight) * cosine_to_sums(
            weighted[taken], lexical_sums
        )
        best = blend.argmax(axis=1)
        moves = blend[np.arange(len(taken)), best] > similarities[taken]
        groups[taken[moves]] = best[moves]
        return groups

    def open_clusters(
        self, post_ids: list[str], latents: np.ndarray, weighted: csr_matrix, groups: np.ndarray, now: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """New clusters, one per group of posts; the posts' new cluster ids and their similarities to them."""
        assert self.lexical is not None
        weight = self.cluster_settings.semantic_weight
        sums, lexical_sums = group_sums(latents, weighted, groups)
        sizes = np.bincount(groups).astype(np.float64)
        centroids = normalize(sums)
        latent_similarity = np.sum(latents * centroids[groups], axis=1)
        lexical_norms = np.sqrt(np.asarray(lexical_sums.multiply(lexical_sums).sum(axis=1)).ravel())
        lexical_dots = np.asarray(weighted.multiply(lexical_sums[groups]).sum(axis=1)).ravel()
        similarities = weight * latent_similarity + (1.0 - weight) * lexical_dots / np.maximum(
            lexical_norms[groups], 1e-12
        )
        means = np.bincount(groups, weights=latent_similarity) / sizes
        variances = np.full(len(sizes), self.cluster_settings.newborn_std**2)
        confirmed = sizes >= self.novelty_settings.min_cluster_size
        new_ids = self.table.add(
            centroids, sizes, means, variances, self.position + len(post_ids), now, sizes, confirmed
        )
        self.lexical.append(lexical_sums)
        for group, cluster_id in enumerate(new_ids.tolist()):
            members = [post_ids[i] for i in np.flatnonzero(groups == group).tolist()]
            if confirmed[group]:
                self.reported_size[cluster_id] = float(sizes[group])
                self.pending_created.append((cluster_id, members))
            else:
                self.provisional_members[cluster_id] = members
        self.index.refresh(self.table.centroids, structure_changed=True)
        return new_ids[groups], similarities.astype(np.float32)

    def confirm_clusters(self, now: float) -> list[ClusterEvent]:
        """``created`` events for clusters that just reached ``min_cluster_size`` members (born so, or grown)."""
        ready = np.flatnonzero(
            ~self.table.confirmed & (self.table.members >= self.novelty_settings.min_cluster_size)
        )
        for row in ready.tolist():
            self.table.confirmed[row] = True
            cluster_id = int(self.table.ids[row])
            self.pending_created.append((cluster_id, self.provisional_members.pop(cluster_id, [])))
            self.reported_size[cluster_id] = float(self.table.counts[row])
        created, self.pending_created = self.pending_created, []
        rows = self.table.rows_of(np.array([cluster_id for cluster_id, _ in created], dtype=np.int64))
        return [
            self.event(EventKind.CREATED, int(row), now, member_post_ids=members)
            for row, (_, members) in zip(rows.tolist(), created, strict=True)
        ]

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

    # -- lifecycle --------------------------------------------------------------------------------------------

    def run_lifecycle(self, now: float) -> list[ClusterEvent]:
        assert self.keywords is not None and self.lexical is not None
        settings = self.lifecycle_settings
        events: list[ClusterEvent] = []
        merges = find_merges(self.table, *self.merge_candidates())
        for absorbed, survivor in merges:
            absorbed_id, survivor_id = int(self.table.ids[absorbed]), int(self.table.ids[survivor])
            was_confirmed = bool(self.table.confirmed[survivor]), bool(self.table.confirmed[absorbed])
            merge_rows(self.table, absorbed, survivor)
            self.lexical.merge(absorbed, survivor)
            self.keywords.merge(absorbed_id, survivor_id)
            members = self.provisional_members.pop(absorbed_id, [])
            if not was_confirmed[0]:
                members = self.provisional_members.pop(survivor_id, []) + members
                if self.table.confirmed[survivor]:  # confirmed by the merge: announce it now
                    self.reported_size[survivor_id] = float(self.table.counts[survivor])
                    events.append(self.event(EventKind.CREATED, survivor, now, member_post_ids=members))
                else:
                    self.provisional_members[survivor_id] = members
            events.append(self.event(EventKind.MERGED, absorbed, now, merged_into=survivor_id))
        for _, survivor in merges:
            if self.table.confirmed[survivor]:
                events.append(self.event(EventKind.UPDATED, survivor, now))
                self.reported_size[int(self.table.ids[survivor])] = float(self.table.counts[survivor])
        self.end_clusters(
            np.array([absorbed for absorbed, _ in merges], dtype=np.int64), now, events, "merged"
        )
        stale = find_stale(
            self.table,
            self.position,
            settings.retire_after_posts,
            self.novelty_settings.provisional_ttl_posts,
        )
        events.extend(self.event(EventKind.RETIRED, row, now) for row in stale if self.table.confirmed[row])
        self.end_clusters(stale, now, events, "retired")
        excess = find_excess(self.table, settings.max_clusters)
        events.extend(self.event(EventKind.RETIRED, row, now) for row in excess if self.table.confirmed[row])
        self.end_clusters(excess, now, events, "retired")
        self.lexical.prune()
        for row in np.flatnonzero(self.table.confirmed).tolist():
            cluster_id = int(self.table.ids[row])
            if self.table.counts[row] >= UPDATE_EVENT_GROWTH * self.reported_size.get(cluster_id, 0.0):
                self.reported_size[cluster_id] = float(self.table.counts[row])
                events.append(self.event(EventKind.UPDATED, row, now))
        return events

    def merge_candidates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each cluster paired with its nearest clusters in latent space, the mean blended similarity of its
        members to each of them, and every cluster's tightness (that of its members to itself)."""
        assert self.lexical is not None
        table, weight = self.table, self.cluster_settings.semantic_weight
        neighbours, _ = self.index.candidates(table.centroids, min(MERGE_NEIGHBOURS, len(table)))
        first = np.repeat(np.arange(len(table)), neighbours.shape[1])
        second = neighbours.ravel()
        profiles, norms = self.lexical.profiles, np.maximum(self.lexical.norms, 1e-12)
        latent_tightness = np.maximum(table.similarity_mean, 0.0)
        lexical_tightness = norms / np.maximum(table.members, 1)
        tightness = weight * latent_tightness + (1.0 - weight) * lexical_tightness
        latent_part = (
            weight
            * latent_tightness[first]
            * np.einsum("nd,nd->n", table.centroids[first], table.centroids[second])
        )
        # the lexical cosine is at most 1: pairs that fail even so need no lexical work
        possible = latent_part + (1.0 - weight) * lexical_tightness[first] >= tightness[second]
        first, second, latent_part = first[possible], second[possible], latent_part[possible]
        lexical_dots = np.asarray(profiles[first].multiply(profiles[second]).sum(axis=1)).ravel()
        lexical_cosine = lexical_dots / norms[first] / norms[second]
        member_similarity = latent_part + (1.0 - weight) * lexical_tightness[first] * lexical_cosine
        return first, second, member_similarity, tightness

    def end_clusters(self, rows: np.ndarray, now: float, events: list[ClusterEvent], status: str) -> None:
        if len(rows) == 0:
            return
        assert self.keywords is not None
        merged_into = {
            event.cluster_id: event.merged_into for event in events if event.kind == EventKind.MERGED
        }
        for row in rows.tolist():
            cluster_id = int(self.table.ids[row])
            self.keywords.drop(cluster_id)
            self.reported_size.pop(cluster_id, None)
            if self.provisional_members.pop(cluster_id, None) is not None and cluster_id not in merged_into:
                continue  # never announced, so never listed
            entry = self.catalog_entry(row, status).model_copy(
                update={"merged_into": merged_into.get(cluster_id)}
            )
            self.ended[cluster_id] = entry
        while len(self.ended) > ENDED_CLUSTERS_KEPT:
            self.ended.pop(next(iter(self.ended)))
        self.table.remove(rows)
        assert self.lexical is not None
        self.lexical.remove(rows)
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
        """Carry every cluster into the new latent space; returns label agreement. Lexical profiles need no
        carrying: they do not depend on the model."""
        assert self.encoder is not None
        carried = carry_clusters(
            self.table.centroids,
            np.full(len(self.table), self.join_similarity),
            self.table.similarity_mean,
            self.table.similarity_var,
            self.encoder,
            new,
            self.reservoir.contents(),
        )
        self.table.centroids = carried.centroids
        self.table.similarity_mean = carried.similarity_mean
        self.table.similarity_var = carried.similarity_var
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
    machine they made the engine several times slower."""
    import faiss
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    threadpool_limits(limits=threads, user_api="blas")


def first_best(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per row of ``scores``, the column of the highest score; among equal scores, the one of the lowest row."""
    best = scores.max(axis=1, keepdims=True)
    return np.where(scores == best, rows, np.iinfo(np.int64).max).argmin(axis=1)


def group_sums(
    latents: np.ndarray, weighted: csr_matrix, groups: np.ndarray
) -> tuple[np.ndarray, csr_matrix]:
    """Per group (0 .. max): the sum of its posts' latents and of their weighted lexical rows."""
    n_groups = int(groups.max()) + 1
    one_hot = csr_matrix(
        (np.ones(len(groups), dtype=np.float32), (groups, np.arange(len(groups)))),
        shape=(n_groups, len(groups)),
    )
    return np.asarray(one_hot @ latents, dtype=np.float32), csr_matrix(one_hot @ weighted)


def cosine_to_sums(weighted: csr_matrix, sums: csr_matrix) -> np.ndarray:
    """Cosine of each weighted row to each summed row, dense [rows, sums]."""
    norms = np.sqrt(np.asarray(sums.multiply(sums).sum(axis=1)).ravel())
    return (weighted @ sums.T).toarray() / np.maximum(norms, 1e-12)[None, :]
