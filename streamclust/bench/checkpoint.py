"""``streamclust bench checkpoint``: what one checkpoint costs the Kafka worker (capture, encode, send in a
transaction to the state topic, and its size), next to the engine's own batch time in the same process."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from streamclust.bench.kafka import REPO, SHARED_BANKING, broker_for_bench


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap", help="an existing broker; by default a local one is started and stopped"
    )
    parser.add_argument(
        "--config", type=Path, default=REPO / "configs" / "default.yaml", help="engine preset"
    )
    parser.add_argument("--featurizer", choices=["hashing", "static", "hybrid"], help="default: the preset's")
    parser.add_argument("--posts", type=int, default=20_000, help="posts learned before the first checkpoint")
    parser.add_argument("--runs", type=int, default=5, help="checkpoints timed (a batch is learned between)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--data", type=Path, default=SHARED_BANKING, help="JSONL(.gz) texts")
    parser.add_argument("--out", type=Path, default=Path("out") / "bench-checkpoint.json")


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="streamclust-bench-checkpoint-"))
    try:
        with broker_for_bench(args.bootstrap, workdir) as bootstrap:
            result = measure(args, bootstrap)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def measure(args: argparse.Namespace, bootstrap: str) -> dict[str, Any]:
    from kafka import KafkaProducer

    from streamclust.bench.texts import load_texts
    from streamclust.config import load_settings
    from streamclust.engine import Engine
    from streamclust.io.kafka.clients import connect_admin, transactional_producer_config
    from streamclust.io.kafka.durability.checkpoints import take_checkpoint
    from streamclust.io.kafka.topics import ensure_topics
    from streamclust.schema import Post

    settings = load_settings(args.config if args.config.exists() else None)
    if args.featurizer:
        settings = settings.model_copy(
            update={"featurize": settings.featurize.model_copy(update={"kind": args.featurizer})}
        )
    name = uuid.uuid4().hex[:8]
    kafka = settings.kafka.model_copy(
        update={
            "bootstrap_servers": bootstrap,
            "create_topics": True,
            **{
                f"{topic}_topic": f"bench-{topic}-{name}"
                for topic in ("input", "labels", "events", "catalog")
            },
            "deadletter_topic": f"bench-deadletter-{name}",
            "state_topic": f"bench-state-{name}",
        }
    )
    admin = connect_admin(kafka, give_up_after=60)
    try:
        ensure_topics(admin, kafka, state_chunk_bytes=settings.state.chunk_bytes)
    finally:
        admin.close()
    texts = load_texts(args.data, synthetic=args.posts)
    engine = Engine.from_settings(settings)
    number = 0

    def next_batch() -> list[Post]:
        nonlocal number
        batch = [
            Post(id=f"b{number + i}", text=texts[(number + i) % len(texts)]) for i in range(args.batch_size)
        ]
        number += args.batch_size
        return batch

    print(f"learning {args.posts:,} posts ({settings.featurize.kind} featurizer) before the first checkpoint")
    batch_seconds: list[float] = []
    while number < args.posts:
        started = time.perf_counter()
        engine.process(next_batch())
        if engine.is_warm:
            batch_seconds.append(time.perf_counter() - started)
    engine.close()
    config = transactional_producer_config(kafka, f"bench-checkpoint-{name}")
    producer = KafkaProducer(**config, max_request_size=max(1_048_576, settings.state.chunk_bytes + 65_536))
    producer.init_transactions()
    runs = []
    for _ in range(args.runs):
        checkpoint = take_checkpoint(engine, {}, f"bench-{name}", settings.state.chunk_bytes)
        started = time.perf_counter()
        producer.begin_transaction()
        for key, value in checkpoint.records:
            producer.send(kafka.state_topic, key=key, value=value)
        producer.commit_transaction()
        send = time.perf_counter() - started
        runs.append(
            {
                "capture_seconds": checkpoint.capture_seconds,
                "encode_seconds": checkpoint.encode_seconds,
                "send_seconds": send,
                "total_seconds": checkpoint.capture_seconds + checkpoint.encode_seconds + send,
                "bytes": checkpoint.size_bytes,
                "records": len(checkpoint.records),
            }
        )
        print(
            {key: round(value, 4) if isinstance(value, float) else value for key, value in runs[-1].items()}
        )
        started = time.perf_counter()
        engine.process(next_batch())
        batch_seconds.append(time.perf_counter() - started)
    producer.close()
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    batch = statistics.median(batch_seconds)
    every = settings.state.checkpoint_every_posts
    per_post = medians["total_seconds"] / every
    summary = {
        "median": medians,
        "median_batch_seconds": batch,
        "checkpoint_in_batches": medians["total_seconds"] / batch,
        "share_of_time_at_checkpoint_every_posts": per_post / (per_post + batch / args.batch_size),
    }
    print(
        f"checkpoint: median {medians['total_seconds'] * 1000:.0f} ms (capture "
        f"{medians['capture_seconds'] * 1000:.0f} ms, encode {medians['encode_seconds'] * 1000:.0f} ms, send "
        f"{medians['send_seconds'] * 1000:.0f} ms), {medians['bytes'] / 1e6:.1f} MB in {medians['records']:.0f} "
        f"records; a batch of {args.batch_size} takes {batch * 1000:.0f} ms (same process), so a checkpoint costs "
        f"{summary['checkpoint_in_batches']:.1f} batches, {summary['share_of_time_at_checkpoint_every_posts']:.1%} "
        f"of the time with one every {every:,} posts"
    )
    return {
        "command": "streamclust bench checkpoint",
        "arguments": {k: str(v) for k, v in vars(args).items() if not k.startswith("_")},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "featurizer": settings.featurize.kind,
        "runs": runs,
        **summary,
    }
