"""Tune DBSTREAM's clustering_threshold once, on a small grid, for each featurizer.

    .venv/bin/python benchmarks/quality_dbstream_grid.py [--data-dir ../shared/data] [--posts 2000]

For each dataset, a seeded random sample of ``--posts`` posts in shuffled order is featurized as the engine
would (``build_featurizer``), projected like the harness does, and clustered online by DBSTREAM at each
threshold. Prints NMI, ARI and the number of clusters; docs/quality.md records the choice.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from streamclust.config import load_settings
from streamclust.evaluate.baselines import DBSTREAM_DIMS, DBSTREAM_PARAMS, dbstream_labels, random_projection
from streamclust.evaluate.datasets import load_dataset, subsample
from streamclust.evaluate.harness import baseline_features
from streamclust.evaluate.orders import shuffled_order
from streamclust.evaluate.scores import score_labels

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--kinds", default="static,hashing")
    parser.add_argument("--thresholds", default=",".join(str(t) for t in THRESHOLDS))
    args = parser.parse_args()
    thresholds = [float(value) for value in args.thresholds.split(",")]
    print("dataset        features  threshold    NMI    ARI  clusters  seconds")
    for dataset in ("banking77", "stackoverflow"):
        posts = subsample(load_dataset(dataset, args.data_dir), args.posts, seed=0)
        stream = posts.take(shuffled_order(len(posts), seed=0))
        for kind in args.kinds.split(","):
            settings = load_settings(featurize={"kind": kind})
            vectors = random_projection(baseline_features(settings, stream.texts, 256), DBSTREAM_DIMS, seed=0)
            for threshold in thresholds:
                started = time.perf_counter()
                params = {**DBSTREAM_PARAMS, "clustering_threshold": threshold}
                scores = score_labels(stream.labels, dbstream_labels(vectors, 256, params))
                seconds = time.perf_counter() - started
                print(
                    f"{dataset:14} {kind:9} {threshold:9.2f} {scores.nmi:6.3f} {scores.ari:6.3f} "
                    f"{scores.n_clusters:9d} {seconds:8.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
