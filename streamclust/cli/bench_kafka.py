"""``streamclust bench kafka``: throughput and latency end to end through a real broker, transactions on,
next to the raw kafka-python consume+produce ceiling measured in the same run."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SHARED_BANKING = REPO / ".." / "shared" / "data" / "banking77.jsonl.gz"
BROKER_SCRIPT = REPO / "deploy" / "kafka" / "local-broker"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap", help="an existing broker; by default a local one is started and stopped"
    )
    parser.add_argument(
        "--config", type=Path, default=REPO / "configs" / "default.yaml", help="engine preset"
    )
    parser.add_argument("--engine", choices=("default", "first-word"), default="default")
    parser.add_argument("--posts", type=int, default=30_000, help="backlog for the throughput runs")
    parser.add_argument("--rate", type=float, default=2_000.0, help="offered posts/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--batch-size", type=int, help="default: kafka.batch_size of the preset")
    parser.add_argument("--max-wait-ms", type=int, help="default: kafka.max_wait_ms of the preset")
    parser.add_argument(
        "--data", type=Path, default=SHARED_BANKING, help="JSONL(.gz) texts; synthetic if absent"
    )
    parser.add_argument("--out", type=Path, default=Path("out") / "bench-kafka.json")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: argparse.Namespace) -> int:
    from streamclust.config import load_settings
    from streamclust.errors import KafkaSetupError
    from streamclust.io.kafka import bench

    settings = load_settings(args.config if args.config and args.config.exists() else None)
    workdir = Path(tempfile.mkdtemp(prefix="streamclust-bench-kafka-"))
    broker: list[str] | None = None
    bootstrap = args.bootstrap
    if bootstrap is None:
        port = free_port()
        broker = [str(BROKER_SCRIPT), "--port", str(port), "--run-dir", str(workdir / "broker")]
        started = subprocess.run([broker[0], "start", *broker[1:], "--controller-port", str(free_port())])
        if started.returncode != 0:
            raise KafkaSetupError("the local broker did not start (see above)")
        bootstrap = f"127.0.0.1:{port}"
    try:
        setup = bench.BenchSetup(
            bootstrap=bootstrap,
            engine=args.engine,
            config=args.config if args.config and args.config.exists() else None,
            workdir=workdir,
            partitions=args.partitions,
            batch_size=args.batch_size or settings.kafka.batch_size,
            max_wait_ms=args.max_wait_ms or settings.kafka.max_wait_ms,
        )
        texts = bench.load_texts(args.data, args.posts)
        records = bench.post_records(texts, args.posts, "tp-")
        print(f"broker {bootstrap}; engine {args.engine}; {args.posts} posts; batch {setup.batch_size}")
        raw_plain = bench.raw_ceiling(setup, records, transactional=False)
        print(f"raw kafka-python consume+produce, no transactions: {raw_plain:,.0f} posts/s")
        raw_tx = bench.raw_ceiling(setup, records, transactional=True)
        print(f"raw kafka-python consume+produce, a transaction per batch: {raw_tx:,.0f} posts/s")
        through = bench.throughput(setup, records)
        sustained = through["sustained_posts_per_second"] or 0.0
        print(
            f"streamclust worker: {sustained:,.0f} posts/s sustained "
            f"({sustained / raw_tx:.0%} of the transactional ceiling); {through}"
        )
        warmup = settings.encoder.warmup_posts + 2 * setup.batch_size
        lat = bench.latency(setup, texts, args.rate, args.latency_seconds, warmup)
        print(f"latency at {args.rate:,.0f} posts/s offered: {lat}")
        result: dict[str, Any] = {
            "command": "streamclust bench kafka",
            "arguments": {k: str(v) for k, v in vars(args).items() if not k.startswith("_")},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "raw_posts_per_second": {"plain": round(raw_plain, 1), "transactional": round(raw_tx, 1)},
            "throughput": through,
            "ratio_to_transactional_ceiling": round(sustained / raw_tx, 3) if raw_tx else None,
            "latency": lat,
            "targets": {
                "throughput_10000_per_second": sustained >= 10_000,
                "p99_under_500_ms_at_2000_per_second": (lat["p99_ms"] or 1e9) < 500 and args.rate >= 2_000,
            },
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    finally:
        if broker is not None:
            subprocess.run([broker[0], "stop", *broker[1:]])
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
