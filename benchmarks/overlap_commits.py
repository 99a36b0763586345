"""The worker's sustained rate with and without overlapping commits, and per batch size, in one script.

    .venv/bin/python benchmarks/overlap_commits.py [--rounds 3] [--posts 30000] [--batch-sizes 500,1000]

Starts one local broker, then runs the backlog throughput phase of ``streamclust bench kafka`` (a fresh worker
subprocess with configs/default.yaml on a backlog of Banking77 posts; rate between 10% and 100% of the labels,
read with ``read_committed``) for each variant in turn, round after round, so that load on the machine hits all
variants alike. Variants: ``kafka.overlap_commits`` false and true (set through the environment the worker
inherits) for each batch size. Prints each run and the medians, and writes them to
``out/overlap-commits.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from streamclust.bench import kafka_runs
from streamclust.bench.kafka import broker_for_bench
from streamclust.bench.texts import load_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--batch-sizes", default="500")
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/banking77.jsonl.gz"))
    parser.add_argument("--out", type=Path, default=Path("out/overlap-commits.json"))
    args = parser.parse_args()

    variants = [
        (f"batch {size}, overlap {overlap}", size, overlap)
        for size in (int(text) for text in args.batch_sizes.split(","))
        for overlap in ("false", "true")
    ]
    runs: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    workdir = Path(tempfile.mkdtemp(prefix="streamclust-overlap-"))
    with broker_for_bench(None, workdir) as bootstrap:
        texts = load_texts(args.data, synthetic=args.posts)
        records = kafka_runs.post_records(texts, args.posts, "tp-")
        for round_number in range(1, args.rounds + 1):
            for name, size, overlap in variants:
                os.environ["STREAMCLUST_KAFKA__OVERLAP_COMMITS"] = overlap
                setup = kafka_runs.BenchSetup(
                    bootstrap=bootstrap,
                    engine="default",
                    config=args.config,
                    workdir=workdir,
                    partitions=3,
                    batch_size=size,
                    max_wait_ms=500,
                )
                outcome = kafka_runs.throughput(setup, records)
                if not outcome["complete"] or outcome["duplicates"]:
                    raise SystemExit(f"{name}: not every post labelled exactly once: {outcome}")
                runs[name].append(outcome["sustained_posts_per_second"])
                print(f"round {round_number}, {name}: {outcome['sustained_posts_per_second']:,.0f} posts/s")
    os.environ.pop("STREAMCLUST_KAFKA__OVERLAP_COMMITS", None)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    for name, _, _ in variants:
        print(f"{name}: median {medians[name]:,.0f} posts/s ({', '.join(f'{v:,.0f}' for v in runs[name])})")
    for size in sorted({size for _, size, _ in variants}):
        off, on = medians[f"batch {size}, overlap false"], medians[f"batch {size}, overlap true"]
        print(f"batch {size}: overlap on / off = {on / off:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"runs": runs, "medians": medians}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
