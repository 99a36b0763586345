"""Flat against HNSW nearest-centroid search, per batch, as the engine uses them: where ``auto`` should switch.

    .venv/bin/python benchmarks/index_crossover.py [--dim 64] [--batch-size 1000] [--runs 5]

For each number of clusters, every batch moves the centroids a little (``refresh``, which rebuilds a flat index
every time and an HNSW graph every 50 updates) and searches a batch of unit latents (``nearest``; HNSW re-scores
its candidates exactly). Prints, and writes to ``out/index-crossover.json``, the median microseconds per post
of both and their ratio, on one thread like the engine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import faiss
import numpy as np

from streamclust.cluster.index import CentroidIndex


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def microseconds_per_post(kind: str, centroids: np.ndarray, batches: list[np.ndarray]) -> float:
    index = CentroidIndex(centroids.shape[1], kind=kind)
    index.build(centroids)
    start = time.perf_counter()
    for latents in batches:
        centroids = centroids + 0.001 * latents[: len(centroids)].mean(axis=0)
        index.refresh(centroids, structure_changed=False)
        index.nearest(latents, centroids)
    return 1e6 * (time.perf_counter() - start) / sum(len(batch) for batch in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dim", type=int, default=64, help="latent dimension (encoder.latent_dim)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=100, help="batches per run")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clusters", default="512,2000,8000,16000,32000")
    parser.add_argument("--out", type=Path, default=Path("out/index-crossover.json"))
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    rows = []
    for n in (int(value) for value in args.clusters.split(",")):
        centroids = unit_rows(rng, n, args.dim)
        batches = [unit_rows(rng, args.batch_size, args.dim) for _ in range(args.batches)]
        flat, hnsw = [], []
        for _ in range(args.runs):  # alternate, so both see the same machine
            flat.append(microseconds_per_post("flat", centroids, batches))
            hnsw.append(microseconds_per_post("hnsw", centroids, batches))
        row = {
            "clusters": n,
            "flat_us_per_post": round(float(np.median(flat)), 2),
            "hnsw_us_per_post": round(float(np.median(hnsw)), 2),
        }
        row["hnsw_over_flat"] = round(row["hnsw_us_per_post"] / row["flat_us_per_post"], 2)
        rows.append(row)
        print(
            f"{n:>6} clusters: flat {row['flat_us_per_post']:6.2f} µs/post, "
            f"hnsw {row['hnsw_us_per_post']:6.2f} µs/post (hnsw ÷ flat {row['hnsw_over_flat']:.2f})",
            flush=True,
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dim": args.dim, "batch_size": args.batch_size, "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
