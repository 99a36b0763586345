"""Lab experiments on the engine itself, behind docs/quality-lab.md (session 18): what its new clusters turn out
to be, where the classes it never detects went, and what its final latents know.

    .venv/bin/python benchmarks/engine_lab.py confirmations banking77 emerging   # merge ratio at each confirmation
    .venv/bin/python benchmarks/engine_lab.py missed banking77 emerging          # classes never detected
    .venv/bin/python benchmarks/engine_lab.py kmeans stackoverflow shuffled --k 20,60,190
    .venv/bin/python benchmarks/engine_lab.py broad stackoverflow shuffled         # the clusters' split ratios

Each runs the engine with the built-in defaults (``STREAMCLUST_*`` variables override them, as for ``streamclust
eval``), seed 0, batches of 256, then prints one JSON line per result. Not part of the product.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from streamclust.cluster.table import ClusterTable
from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.evaluate.datasets import LabelledPosts, load_dataset
from streamclust.evaluate.emergence import CreatedCluster, matched_class
from streamclust.evaluate.harness import EngineRun, feed_engine
from streamclust.evaluate.orders import stream_order
from streamclust.schema import Post
from streamclust.stages.births import Created


@dataclass
class Confirmation:
    """A cluster at the moment it was confirmed: its best merge-test ratio against another confirmed cluster."""

    ratio: float
    nearest: int  # id of that cluster
    ratios: dict[int, float]  # against every confirmed cluster, by id


def print_json(**values: object) -> None:
    print(json.dumps(values), flush=True)


def load(name: str, order: str, data_dir: Path) -> LabelledPosts:
    posts = load_dataset(name, data_dir)
    return posts.take(stream_order(order, posts.labels, 0))


def run_engine(stream: LabelledPosts) -> tuple[Engine, EngineRun]:
    engine = Engine.from_settings(load_settings())
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]
    return engine, feed_engine(engine, posts, 256, lambda _: None)


def merge_ratios(engine: Engine, table: ClusterTable, row: int) -> np.ndarray:
    """The merge test's ratio of ``row`` against every row: its members' mean blended similarity to the other
    cluster over that cluster's tightness (``Clusters.merge_candidates``, for every pair)."""
    lexical = engine.clusters.lexical
    assert lexical is not None
    weight = engine.clusters.settings.semantic_weight
    norms = np.maximum(lexical.norms, 1e-12)
    latent_tightness = np.maximum(table.similarity_mean, 0.0)
    lexical_tightness = norms / np.maximum(table.members, 1)
    tightness = weight * latent_tightness + (1.0 - weight) * lexical_tightness
    latent_cosine = table.centroids @ table.centroids[row]
    lexical_dots = np.asarray(lexical.profiles.multiply(lexical.profiles[row]).sum(axis=1)).ravel()
    lexical_cosine = lexical_dots / norms / norms[row]
    member_similarity = (
        weight * latent_tightness[row] * latent_cosine
        + (1.0 - weight) * lexical_tightness[row] * lexical_cosine
    )
    return np.asarray(member_similarity / np.maximum(tightness, 1e-12))


def watch_confirmations(engine: Engine) -> dict[int, Confirmation]:
    """Wrap this engine's ``Births.confirm`` to record every confirmation's ratios."""
    seen: dict[int, Confirmation] = {}
    confirm: Callable[[ClusterTable, list[Created]], list[Created]] = engine.births.confirm

    def recording(table: ClusterTable, born: list[Created]) -> list[Created]:
        created = confirm(table, born)
        for cluster_id, _ in created:
            row = int(table.rows_of(np.array([cluster_id]))[0])
            others = np.flatnonzero(table.confirmed & (np.arange(len(table)) != row))
            if len(others) == 0:
                continue
            ratios = merge_ratios(engine, table, row)[others]
            best = int(np.argmax(ratios))
            seen[cluster_id] = Confirmation(
                float(ratios[best]),
                int(table.ids[others[best]]),
                dict(zip(table.ids[others].tolist(), ratios.tolist(), strict=True)),
            )
        return created

    engine.births.confirm = recording  # type: ignore[method-assign]
    return seen


def kinds(true: np.ndarray, run: EngineRun) -> dict[int, tuple[str, int | None]]:
    """Each created cluster's kind (new topic, duplicate, spurious) and class, as ``evaluate/emergence.py``."""
    found: set[int] = set()
    result: dict[int, tuple[str, int | None]] = {}
    for cluster in sorted(run.created, key=lambda cluster: cluster.posts_fed):
        label = matched_class(true, members_of(cluster, run.labels))
        kind = "spurious" if label is None else "duplicate" if label in found else "new"
        if label is not None:
            found.add(label)
        result[cluster.cluster_id] = (kind, label)
    return result


def members_of(cluster: CreatedCluster, labels: np.ndarray) -> np.ndarray:
    rows = cluster.member_rows
    return rows if len(rows) else np.flatnonzero(labels == cluster.cluster_id)


def percentiles(values: list[float]) -> list[float]:
    return [round(float(v), 3) for v in np.percentile(values, [10, 25, 50, 75, 90])] if values else []


def run_confirmations(stream: LabelledPosts) -> None:
    engine = Engine.from_settings(load_settings())
    seen = watch_confirmations(engine)
    posts = [Post(id=post_id, text=text) for post_id, text in zip(stream.ids, stream.texts, strict=True)]
    run = feed_engine(engine, posts, 256, lambda _: None)
    engine.close()
    kind_of = kinds(stream.labels, run)
    by_kind: dict[str, list[float]] = {"new": [], "duplicate": [], "spurious": []}
    own_nearest, own_best = 0, []
    for cluster_id, confirmation in seen.items():
        kind, label = kind_of.get(cluster_id, ("unknown", None))
        if kind not in by_kind:
            continue
        by_kind[kind].append(confirmation.ratio)
        if kind == "duplicate":
            own = [
                r for other, r in confirmation.ratios.items() if kind_of.get(other, ("", None))[1] == label
            ]
            own_nearest += kind_of.get(confirmation.nearest, ("", None))[1] == label
            if own:
                own_best.append(max(own))
    for kind, ratios in by_kind.items():
        print_json(
            what=f"best merge ratio at confirmation, {kind}", n=len(ratios), percentiles=percentiles(ratios)
        )
    print_json(
        what="duplicates",
        n=len(by_kind["duplicate"]),
        nearest_is_own_class=own_nearest,
        own_class_alive=len(own_best),
        best_ratio_to_own_class=percentiles(own_best),
    )


def run_missed(stream: LabelledPosts) -> None:
    engine, run = run_engine(stream)
    engine.close()
    true, labels = stream.labels, run.labels
    kind_of = kinds(true, run)
    birth = {cluster.cluster_id: cluster for cluster in run.created}
    detected = {label for kind, label in kind_of.values() if kind == "new"}
    for label in sorted(set(np.unique(true).tolist()) - detected):
        rows = np.flatnonzero(true == label)
        went: list[dict[str, Any]] = []
        for cluster_id, count in Counter(labels[rows].tolist()).most_common(3):
            classes, counts = np.unique(true[labels == cluster_id], return_counts=True)
            went.append(
                {
                    "cluster": cluster_id,
                    "posts": count,
                    "cluster_size": int(counts.sum()),
                    "its_majority_class": int(classes[np.argmax(counts)]),
                    "purity": round(float(counts.max() / counts.sum()), 2),
                    "born_as": born_as(cluster_id, kind_of, birth, true),
                }
            )
        print_json(
            what="missed class",
            label=int(label),
            posts=len(rows),
            first_at=int(rows[0]),
            example=stream.texts[rows[0]][:100],
            went_to=went,
        )


def born_as(
    cluster_id: int,
    kind_of: dict[int, tuple[str, int | None]],
    birth: dict[int, CreatedCluster],
    true: np.ndarray,
) -> dict[str, Any] | None:
    """What a cluster was when it was created: its kind, class, when, and the classes of its first members."""
    if cluster_id not in birth:
        return None  # a warm-up cluster, or one never confirmed
    kind, label = kind_of[cluster_id]
    members = Counter(true[birth[cluster_id].member_rows].tolist()).most_common(4)
    return {"kind": kind, "class": label, "at": birth[cluster_id].posts_fed, "members": members}


def run_kmeans(stream: LabelledPosts, ks: list[int]) -> None:
    engine, run = run_engine(stream)
    print_json(
        what="engine online",
        nmi=round(float(normalized_mutual_info_score(stream.labels, run.labels)), 3),
        ari=round(float(adjusted_rand_score(stream.labels, run.labels)), 3),
        clusters=len(np.unique(run.labels)),
    )
    assert engine.encoder is not None
    latents = engine.encoder.encode(engine.featurizer.transform(list(stream.texts), learn=False))
    engine.close()
    for k in ks:
        labels = KMeans(k, n_init=2, random_state=0).fit_predict(latents)
        print_json(
            what="KMeans on the final latents",
            k=k,
            nmi=round(float(normalized_mutual_info_score(stream.labels, labels)), 3),
            ari=round(float(adjusted_rand_score(stream.labels, labels)), 3),
        )


def run_broad(stream: LabelledPosts) -> None:
    """Every cluster whose shape the engine measured: its split ratio, whether it counts as one broad topic, and
    what it turned out to be."""
    engine, run = run_engine(stream)
    broad = engine.clusters.broad
    print_json(what="stream", broad_share=round(broad.broad_share, 3), measured=len(broad.ratios))
    counted = broad.is_broad(np.array(sorted(broad.ratios), dtype=np.int64))
    for (cluster_id, ratio), is_broad in zip(sorted(broad.ratios.items()), counted.tolist(), strict=True):
        members = stream.labels[run.labels == cluster_id]
        purity = Counter(members.tolist()).most_common(1)[0][1] / len(members) if len(members) else 0.0
        print_json(
            cluster=cluster_id,
            split_ratio=round(ratio, 3),
            broad=is_broad,
            posts=len(members),
            purity=round(purity, 2),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("experiment", choices=["confirmations", "missed", "kmeans", "broad"])
    parser.add_argument("dataset")
    parser.add_argument("order", choices=["as-is", "shuffled", "emerging"])
    parser.add_argument("--k", default="20", help="kmeans: numbers of clusters, comma-separated")
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    stream = load(args.dataset, args.order, args.data_dir)
    if args.experiment == "confirmations":
        run_confirmations(stream)
    elif args.experiment == "missed":
        run_missed(stream)
    elif args.experiment == "broad":
        run_broad(stream)
    else:
        run_kmeans(stream, [int(k) for k in args.k.split(",")])


if __name__ == "__main__":
    main()
