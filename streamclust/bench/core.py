"""``streamclust bench core``: sustained in-process throughput of the engine and its memory over a long stream.

Each run builds a fresh engine, warms it up (not timed), then times ``Engine.process`` over ``--posts`` posts
cycled from a dataset (ids made unique). The median of ``--runs`` runs is printed, with river's DBSTREAM on the
same latents in the same process as the baseline, and resident memory sampled along the stream.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from streamclust.bench.stage_clock import StageClock, format_rows
from streamclust.bench.texts import load_texts

WORKER_LABELS = "worker: label records to JSON"
WORKER_CATALOG = "worker: catalog (every 10th batch)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=Path("../shared/data/stackoverflow.jsonl.gz"))
    parser.add_argument(
        "--config",
        type=Path,
        help="a YAML preset, e.g. configs/default.yaml (default: the built-in settings, which equal it)",
    )
    parser.add_argument(
        "--featurizer",
        choices=["hashing", "static", "hybrid"],
        help="override the featurizer (default: the preset's)",
    )
    parser.add_argument("--posts", type=int, default=200_000, help="timed posts per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000, help="posts per Engine.process call")
    parser.add_argument("--baseline-posts", type=int, default=5000, help="posts given to DBSTREAM")
    parser.add_argument(
        "--no-retrain",
        action="store_true",
        help="turn periodic and drift retraining off, to time the hot path alone",
    )
    parser.add_argument("--json", type=Path, default=Path("out/bench-core.json"))


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def one_run(
    settings: Any, texts: list[str], posts: int, batch_size: int, run: int, clock: StageClock
) -> dict[str, Any]:
    from streamclust.engine import Engine
    from streamclust.io.kafka.records import label_records
    from streamclust.schema import Post

    engine = Engine.from_settings(settings)
    position = 0

    def next_batch() -> list[Post]:
        nonlocal position
        batch = [
            Post.model_construct(id=f"{run}-{position + i}", text=texts[(position + i) % len(texts)])
            for i in range(batch_size)
        ]
        position += batch_size
        return batch

    while not engine.is_warm:
        engine.process(next_batch(), now=float(position))
    memory: list[tuple[int, int]] = [(0, resident_bytes())]
    sample_every = max(posts // 10, batch_size)
    timed = 0
    busy = 0.0
    cpu = 0.0
    process_cpu = 0.0  # every thread's: the embedder's pooling thread, the tokenizer's, a retrain's
    clock.attach()
    try:
        while timed < posts:
            batch = next_batch()
            started, started_cpu, started_process = (
                time.perf_counter(),
                time.thread_time(),
                time.process_time(),
            )
            result = engine.process(batch, now=float(position))
            busy += time.perf_counter() - started
            cpu += time.thread_time() - started_cpu
            process_cpu += time.process_time() - started_process
            timed += len(batch)
            # What the Kafka worker adds per batch, outside the engine (not in the engine's rate).
            with clock.stage(WORKER_LABELS):
                for _ in label_records(result.labels):
                    pass
            if timed % (10 * batch_size) < batch_size:
                with clock.stage(WORKER_CATALOG):
                    engine.catalog()
            if timed % sample_every < batch_size:
                memory.append((timed, resident_bytes()))
    finally:
        clock.detach()
    engine.close()
    return {
        "posts": timed,
        "seconds": busy,
        "cpu_seconds": cpu,
        "process_cpu_seconds": process_cpu,
        "posts_per_second": timed / busy,
        "rss_bytes": memory,
        "engine": engine,
    }


def dbstream_rate(engine: Any, texts: list[str], posts: int) -> float:
    """River's DBSTREAM, as the evaluation harness runs it (same parameters), on the engine's own latents."""
    from river import cluster

    from streamclust.evaluate.baselines import DBSTREAM_PARAMS

    features = engine.featurizer.transform(texts[:posts], learn=False)
    latents = engine.encoder.encode(features)
    rows = [dict(enumerate(row.tolist())) for row in latents]
    model = cluster.DBSTREAM(**DBSTREAM_PARAMS)
    started = time.perf_counter()
    for row in rows:
        model.learn_one(row)
        model.predict_one(row)
    return len(rows) / (time.perf_counter() - started)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from streamclust.config import load_settings

    console = Console(stderr=True)
    overrides: dict[str, Any] = {}
    if args.featurizer is not None:
        overrides["featurize"] = {"kind": args.featurizer}
    if args.no_retrain:
        overrides["encoder"] = {"retrain_every_posts": 0, "drift_detector": "off"}
    settings = load_settings(args.config, **overrides)
    featurizer = settings.featurize.kind
    texts = load_texts(args.data)
    results = []
    baselines = []
    clock = StageClock()
    for number in range(args.runs):
        console.print(f"run {number + 1}/{args.runs}: {args.posts} posts ({featurizer})")
        outcome = one_run(settings, texts, args.posts, args.batch_size, number, clock)
        baselines.append(dbstream_rate(outcome.pop("engine"), texts, args.baseline_posts))
        results.append(outcome)
        console.print(
            f"  {outcome['posts_per_second']:,.0f} posts/s"
            f" (engine thread CPU {outcome['cpu_seconds']:.1f} s, all threads"
            f" {outcome['process_cpu_seconds']:.1f} s, for {outcome['seconds']:.1f} s);"
            f" DBSTREAM {baselines[-1]:,.0f} posts/s;"
            f" RSS {outcome['rss_bytes'][0][1] / 2**20:.0f} -> {outcome['rss_bytes'][-1][1] / 2**20:.0f} MiB"
        )
    rates = [result["posts_per_second"] for result in results]
    ratios = [rate / baseline for rate, baseline in zip(rates, baselines, strict=True)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    stages = clock.rows(sum(result["posts"] for result in results))
    summary = {
        "config": None if args.config is None else str(args.config),
        "featurizer": featurizer,
        "retraining": not args.no_retrain,
        "posts_per_run": args.posts,
        "batch_size": args.batch_size,
        "runs": args.runs,
        "median_posts_per_second": statistics.median(rates),
        "posts_per_second": rates,
        "cpu_seconds": [result["cpu_seconds"] for result in results],
        "process_cpu_seconds": [result["process_cpu_seconds"] for result in results],
        "wall_seconds": [result["seconds"] for result in results],
        "median_dbstream_posts_per_second": statistics.median(baselines),
        "median_ratio_to_dbstream": statistics.median(ratios),
        "peak_rss_bytes": peak,
        "rss_along_stream": [result["rss_bytes"] for result in results],
        "stages": stages,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2))
    print(
        f"where the time goes (all runs; exclusive times; CPU of the engine's thread):\n{format_rows(stages)}"
    )
    print(
        f"core engine ({featurizer}, batch {args.batch_size}): median {summary['median_posts_per_second']:,.0f}"
        f" posts/s over {args.runs} runs of {args.posts} posts; DBSTREAM on the same latents median"
        f" {summary['median_dbstream_posts_per_second']:,.0f} posts/s"
        f" (ratio {summary['median_ratio_to_dbstream']:.1f}x);"
        f" peak RSS {peak / 2**20:.0f} MiB; written to {args.json}"
    )
    return 0
