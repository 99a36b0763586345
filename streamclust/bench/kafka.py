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
from collections.abc import Iterator
from contextlib import contextmanager
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
    parser.add_argument(
        "--workers",
        type=worker_counts,
        help="shared mode instead: throughput with each of these worker counts, e.g. 1,2 (interleaved runs, "
        "medians, ratios to the first count)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs per worker count with --workers")
    parser.add_argument("--out", type=Path, help="default out/bench-kafka.json (out/bench-scale-out.json)")


def worker_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give worker counts like 1,2") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give worker counts like 1,2")
    return counts


def setup_warmup(args: argparse.Namespace) -> int:
    from streamclust.config import load_settings

    settings = load_settings(args.config if args.config and args.config.exists() else None)
    return settings.encoder.warmup_posts + 2 * (args.batch_size or settings.kafka.batch_size)


def scale_out(
    args: argparse.Namespace, setup: Any, texts: list[str], records: list[tuple[str, bytes]]
) -> dict[str, Any]:
    """Shared-mode throughput per worker count, runs interleaved so load on the machine hits all counts alike."""
    import statistics

    from streamclust.bench import kafka_runs

    runs: dict[int, list[dict[str, Any]]] = {count: [] for count in args.workers}
    solo: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        solo.append(kafka_runs.throughput(setup, records))
        print(f"run {repeat + 1}/{args.repeats}, one solo worker: {solo[-1]}")
        for count in args.workers:
            outcome = kafka_runs.shared_throughput(setup, records, count)
            runs[count].append(outcome)
            print(f"run {repeat + 1}/{args.repeats}, {count} shared worker(s): {outcome}")

    def median(count: int, key: str) -> float | None:
        values = [run[key] for run in runs[count] if run[key] is not None]
        return round(statistics.median(values), 1) if values else None

    warmup = setup_warmup(args)
    paced = {}
    for count in args.workers:
        paced[str(count)] = kafka_runs.latency(
            setup, texts, args.rate, args.latency_seconds, warmup, shared_workers=count
        )
        print(f"{count} shared worker(s) at {args.rate:,.0f} posts/s offered: {paced[str(count)]}")
    baseline = median(args.workers[0], "sustained_posts_per_second")
    solo_rates = [run["sustained_posts_per_second"] for run in solo if run["sustained_posts_per_second"]]
    solo_median = round(statistics.median(solo_rates), 1) if solo_rates else None
    print(f"one solo worker: median {solo_median} posts/s")
    summary: dict[str, Any] = {"solo": {"median_posts_per_second": solo_median}}
    for count in args.workers:
        labels = median(count, "sustained_posts_per_second")
        summary[str(count)] = {
            "median_labels_per_second": labels,
            "median_trainer_posts_per_second": median(count, "trainer_posts_per_second"),
            "ratio_to_first_count": round(labels / baseline, 2) if labels and baseline else None,
        }
        print(
            f"{count} worker(s): median {labels} labels/s, ratio {summary[str(count)]['ratio_to_first_count']}"
        )
    return {
        "command": "streamclust bench kafka --workers " + ",".join(map(str, args.workers)),
        "arguments": {k: str(v) for k, v in vars(args).items() if not k.startswith("_")},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "summary": summary,
        "runs": {"solo": solo} | {str(count): outcomes for count, outcomes in runs.items()},
        "latency": paced,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def broker_for_bench(bootstrap: str | None, workdir: Path) -> Iterator[str]:
    """The broker given with ``--bootstrap``, or a local one started in ``workdir`` and stopped on the way out."""
    from streamclust.errors import KafkaSetupError

    if bootstrap is not None:
        yield bootstrap
        return
    port = free_port()
    broker = [str(BROKER_SCRIPT), "--port", str(port), "--run-dir", str(workdir / "broker")]
    started = subprocess.run([broker[0], "start", *broker[1:], "--controller-port", str(free_port())])
    if started.returncode != 0:
        raise KafkaSetupError("the local broker did not start (see above)")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([broker[0], "stop", *broker[1:]])


def run(args: argparse.Namespace) -> int:
    from streamclust.bench import kafka_runs
    from streamclust.bench.texts import load_texts
    from streamclust.config import load_settings

    settings = load_settings(args.config if args.config and args.config.exists() else None)
    workdir = Path(tempfile.mkdtemp(prefix="streamclust-bench-kafka-"))
    try:
        with broker_for_bench(args.bootstrap, workdir) as bootstrap:
            setup = kafka_runs.BenchSetup(
                bootstrap=bootstrap,
                engine=args.engine,
                config=args.config if args.config and args.config.exists() else None,
                workdir=workdir,
                partitions=args.partitions,
                batch_size=args.batch_size or settings.kafka.batch_size,
                max_wait_ms=args.max_wait_ms or settings.kafka.max_wait_ms,
            )
            texts = load_texts(args.data, synthetic=args.posts)
            records = kafka_runs.post_records(texts, args.posts, "tp-")
            print(f"broker {bootstrap}; engine {args.engine}; {args.posts} posts; batch {setup.batch_size}")
            if args.workers:
                scaled = scale_out(args, setup, texts, records)
                out = args.out or Path("out") / "bench-scale-out.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(json.dumps(scaled, indent=2) + "\n", encoding="utf-8")
                print(f"wrote {out}")
                return 0
            raw_plain = kafka_runs.raw_ceiling(setup, records, transactional=False)
            print(f"raw kafka-python consume+produce, no transactions: {raw_plain:,.0f} posts/s")
            raw_tx = kafka_runs.raw_ceiling(setup, records, transactional=True)
            print(f"raw kafka-python consume+produce, a transaction per batch: {raw_tx:,.0f} posts/s")
            through = kafka_runs.throughput(setup, records)
            sustained = through["sustained_posts_per_second"] or 0.0
            print(
                f"streamclust worker: {sustained:,.0f} posts/s sustained "
                f"({sustained / raw_tx:.0%} of the transactional ceiling); {through}"
            )
            warmup = settings.encoder.warmup_posts + 2 * setup.batch_size
            lat = kafka_runs.latency(setup, texts, args.rate, args.latency_seconds, warmup)
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
                    "p99_under_500_ms_at_2000_per_second": (lat["p99_ms"] or 1e9) < 500
                    and args.rate >= 2_000,
                },
            }
            out = args.out or Path("out") / "bench-kafka.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
            print(f"wrote {out}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0
