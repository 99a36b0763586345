"""Wall and CPU time per post of ``Engine.process`` on a preset, for before/after comparisons across checkouts.

    .venv/bin/python benchmarks/engine_cpu.py [--config configs/default.yaml] [--posts 20000] [--retrain]

Builds the engine from the preset, warms it up (not timed), then times batches of ``--batch-size`` posts cycled
from ``--data`` and prints one JSON line: posts/s, and wall and process CPU (all threads, so BLAS or tokenizer
threads count) in microseconds per post. It uses only ``Engine.from_settings`` and ``Engine.process``, so the
same file runs against an older checkout (``PYTHONPATH=<checkout> python benchmarks/engine_cpu.py``); run the
two alternately, a few times each, and compare medians: on a shared machine only such interleaved ratios hold.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import streamclust
from streamclust.config import load_settings
from streamclust.engine import Engine
from streamclust.schema import Post


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument("--data", type=Path, default=Path("../shared/data/banking77.jsonl.gz"))
    parser.add_argument("--posts", type=int, default=20_000, help="timed posts")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--retrain", action="store_true", help="keep periodic and drift retraining on")
    args = parser.parse_args()

    with gzip.open(args.data, "rt", encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines]
    overrides = {} if args.retrain else {"encoder": {"retrain_every_posts": 0, "drift_detector": "off"}}
    engine = Engine.from_settings(load_settings(args.config, **overrides))
    position = 0

    def next_batch() -> list[Post]:
        nonlocal position
        batch = [
            Post(id=f"p{position + i}", text=texts[(position + i) % len(texts)])
            for i in range(args.batch_size)
        ]
        position += args.batch_size
        return batch

    while not engine.is_warm:
        engine.process(next_batch(), now=float(position))
    batches = [next_batch() for _ in range(args.posts // args.batch_size)]
    wall, cpu = time.perf_counter(), time.process_time()
    for batch in batches:
        engine.process(batch, now=float(position))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.close()
    posts = len(batches) * args.batch_size
    print(
        json.dumps(
            {
                "code": str(Path(streamclust.__file__).parent.parent.name),
                "config": str(args.config),
                "posts": posts,
                "posts_per_second": round(posts / wall, 1),
                "wall_us_per_post": round(1e6 * wall / posts, 1),
                "cpu_us_per_post": round(1e6 * cpu / posts, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
