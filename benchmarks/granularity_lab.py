"""Lab experiments on the granularity of the clusters, behind docs/quality-lab.md (session 20): a size prior among
the clusters that take a post, and splitting big clusters whose members split well in two.

    .venv/bin/python benchmarks/granularity_lab.py size-prior --delta 0.25 stackoverflow:shuffled banking77:shuffled
    .venv/bin/python benchmarks/granularity_lab.py split --margin 0.25 --delta 0.25 banking77:shuffled
    .venv/bin/python benchmarks/granularity_lab.py offline-split --margin 0.2 banking77:shuffled

Each runs the engine with the built-in defaults (``STREAMCLUST_*`` variables override them), seed 0, batches of
256, and prints one JSON line per stream. The size prior and the online split are patches of the engine made
here, for measuring only: the split emits no events and leaves the split cluster's lexical profile whole. Not
part of the product.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
from engine_lab import load, run_engine
from scipy.sparse import csr_matrix, vstack
from sklearn.cluster import KMeans

from streamclust.cluster.index import exact_similarities
from streamclust.cluster.settle import Candidates
from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.evaluate.scores import score_labels
from streamclust.schema import NOT_CLUSTERED, Post
from streamclust.stages import clusters as clusters_stage

CONFIRMED_SIZE = 4.0  # the size prior counts doublings above the confirmation size
SPLIT_EVERY = 2_048  # posts between two split passes
SPLIT_MIN_MEMBERS = 100
SPLIT_RECENT = 4_000  # a cluster's posts among the last this many are what its split looks at
SPLIT_MIN_HALF = 20


def install_size_prior(delta: float) -> None:
    """Among a post's candidates that pass their join bar, score ``blend + J * delta * log2(members / 4)``; the
    acceptance and the similarity reported stay the plain blend."""
    if delta == 0:
        return

    def nearest(
        self: clusters_stage.Clusters, latents: np.ndarray, weighted: csr_matrix
    ) -> clusters_stage.Nearest:
        table, lexical = self.table, self.lexical
        assert lexical is not None
        if len(table) == 0:
            return original(self, latents, weighted)
        candidates, latent = self.index.candidates(latents, min(clusters_stage.CANDIDATES, len(table)))
        if self.index.approximate(len(table)):
            latent = exact_similarities(latents, table.centroids, candidates)
        lexical_similarity = lexical.similarity_of_pairs(weighted, candidates)
        weight = self.settings.semantic_weight
        blend = weight * latent + (1.0 - weight) * lexical_similarity
        bar = self.join_bar
        doublings = np.log2(np.maximum(table.members / CONFIRMED_SIZE, 1.0))
        bonus = self.join_similarity * delta * doublings
        ranked = blend + np.where(blend >= bar.of(table.counts)[candidates], bonus[candidates], 0.0)
        finalists = np.argsort(-ranked, axis=1, kind="stable")[:, : clusters_stage.TIE_FINALISTS]
        rows = np.take_along_axis(candidates, finalists, axis=1)
        latent_exact = exact_similarities(latents, table.centroids, rows)
        blend_exact = weight * latent_exact + (1.0 - weight) * np.take_along_axis(
            lexical_similarity, finalists, axis=1
        )
        score = blend_exact + np.where(blend_exact >= bar.of(table.counts)[rows], bonus[rows], 0.0)
        best = clusters_stage.first_best(np.round(score, 6), rows)
        picked = np.arange(len(latents))
        return clusters_stage.Nearest(
            rows[picked, best].astype(np.int64),
            blend_exact[picked, best].astype(np.float32),
            latent_exact[picked, best].astype(np.float32),
            Candidates(candidates, latent, lexical_similarity, table.counts, lexical.norms),
        )

    original = clusters_stage.Clusters.nearest
    clusters_stage.Clusters.nearest = nearest  # type: ignore[method-assign]


def split_margin(latents: np.ndarray) -> tuple[float, np.ndarray]:
    """2-means on unit ``latents``: the members' mean cosine to their own half minus to the other, and the halves."""
    halves = KMeans(2, n_init=3, random_state=0).fit(latents)
    centres = halves.cluster_centers_ / np.linalg.norm(halves.cluster_centers_, axis=1, keepdims=True)
    similarity = latents @ centres.T
    rows = np.arange(len(latents))
    own, other = similarity[rows, halves.labels_], similarity[rows, 1 - halves.labels_]
    return float(np.mean(own - other)), halves.labels_


def split_pass(
    engine: Engine,
    labels: np.ndarray,
    recent: np.ndarray,
    latents: np.ndarray,
    lexical: list[csr_matrix],
    margin: float,
    position: int,
) -> int:
    """Split every big cluster whose recent posts split well: the smaller half becomes a confirmed cluster."""
    table, splits = engine.clusters.table, 0
    for row in range(len(table)):
        if table.members[row] < SPLIT_MIN_MEMBERS:
            continue
        members = recent[labels[recent] == table.ids[row]]
        if len(members) < 2 * SPLIT_MIN_HALF:
            continue
        found, halves = split_margin(latents[members])
        small = int((halves == 1).sum() <= (halves == 0).sum())
        part, rest = members[halves == small], members[halves != small]
        if found < margin or len(part) < SPLIT_MIN_HALF:
            continue
        centre = latents[part].mean(axis=0)
        kept = latents[rest].mean(axis=0)
        table.centroids[row] = kept / np.linalg.norm(kept)
        centre /= np.linalg.norm(centre)
        sums = csr_matrix(vstack([lexical[post] for post in part]).sum(axis=0))
        engine.clusters.add(
            centre[None, :],
            np.array([float(len(part))]),
            np.array([float((latents[part] @ centre).mean())]),
            sums,
            np.array([True]),
            position,
            time.time(),
        )
        splits += 1
    engine.clusters.refresh_index()
    return splits


def run_with_splits(name: str, order: str, data_dir: Path, margin: float) -> dict[str, object]:
    stream = load(name, order, data_dir)
    engine = Engine.from_settings(load_settings())
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]
    row_of = {post.id: row for row, post in enumerate(posts)}
    labels = np.full(len(posts), NOT_CLUSTERED, dtype=np.int64)
    seen = np.zeros(len(posts), dtype=bool)
    latents = np.zeros((len(posts), 0), dtype=np.float32)
    lexical: list[csr_matrix] = [csr_matrix((1, 1))] * len(posts)
    since, splits = 0, 0
    for start in range(0, len(posts) + 1, 256):
        result = engine.process(posts[start : start + 256]) if start < len(posts) else engine.flush()
        rows = np.array([row_of[post_id] for post_id in result.labels.post_ids], dtype=np.int64)
        labels[rows[~seen[rows]]] = result.labels.cluster_ids[~seen[rows]]
        seen[rows] = True
        if engine.encoder is None or len(rows) == 0 or start >= len(posts):
            continue
        features = engine.featurizer.transform([posts[row].text for row in rows], learn=False)
        encoded = engine.encoder.encode(features)
        if latents.shape[1] == 0:
            latents = np.zeros((len(posts), encoded.shape[1]), dtype=np.float32)
        latents[rows] = encoded / np.linalg.norm(encoded, axis=1, keepdims=True)
        weighted = engine.clusters.weigh(features.terms, learn=False)
        for k, row in enumerate(rows):
            lexical[row] = weighted[k]
        since += len(rows)
        if since >= SPLIT_EVERY:
            since = 0
            done = np.flatnonzero(seen)
            recent = done[done >= start + 256 - SPLIT_RECENT]
            splits += split_pass(engine, labels, recent, latents, lexical, margin, start + 256)
    scores = score_labels(stream.labels, labels)
    return {
        "nmi": round(scores.nmi, 3),
        "ari": round(scores.ari, 3),
        "clusters": scores.n_clusters,
        "splits": splits,
    }


def offline_split(name: str, order: str, data_dir: Path, margin: float) -> dict[str, object]:
    """Split the final clusters of 100 posts or more whose split margin is at least ``margin``, relabelling all
    their posts, on the final encoder's latents."""
    stream = load(name, order, data_dir)
    engine, run = run_engine(stream)
    assert engine.encoder is not None
    encoded = engine.encoder.encode(engine.featurizer.transform(list(stream.texts), learn=False))
    latents = encoded / np.linalg.norm(encoded, axis=1, keepdims=True)
    relabelled, next_id, splits = run.labels.copy(), int(run.labels.max()) + 1, 0
    for cluster, size in Counter(run.labels.tolist()).items():
        members = np.flatnonzero(run.labels == cluster)
        if size < SPLIT_MIN_MEMBERS:
            continue
        found, halves = split_margin(latents[members])
        if found >= margin:
            relabelled[members[halves == 1]] = next_id
            next_id, splits = next_id + 1, splits + 1
    before, after = score_labels(stream.labels, run.labels), score_labels(stream.labels, relabelled)
    return {
        "online": [round(before.nmi, 3), round(before.ari, 3), before.n_clusters],
        "split": [round(after.nmi, 3), round(after.ari, 3), after.n_clusters],
        "splits": splits,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiment", choices=("size-prior", "split", "offline-split"))
    parser.add_argument("streams", nargs="+", help="DATASET:ORDER, e.g. stackoverflow:shuffled")
    parser.add_argument("--delta", type=float, default=0.0, help="size prior (size-prior, split)")
    parser.add_argument("--margin", type=float, default=0.25, help="split margin (split, offline-split)")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    install_size_prior(args.delta)
    for spec in args.streams:
        name, order = spec.split(":")
        figures: dict[str, object]
        if args.experiment == "offline-split":
            figures = offline_split(name, order, args.data_dir, args.margin)
        elif args.experiment == "split":
            figures = run_with_splits(name, order, args.data_dir, args.margin)
        else:
            stream = load(name, order, args.data_dir)
            _, run = run_engine(stream)
            scores = score_labels(stream.labels, run.labels)
            figures = {
                "nmi": round(scores.nmi, 3),
                "ari": round(scores.ari, 3),
                "clusters": scores.n_clusters,
            }
        print(
            json.dumps({"experiment": args.experiment, "stream": spec, "delta": args.delta, **figures}),
            flush=True,
        )


if __name__ == "__main__":
    main()
